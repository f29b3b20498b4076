"""Tiny HTTP client of the scoring API, used by the UI pages."""

from __future__ import annotations

import os
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"


class APIUnavailable(RuntimeError):
    """The API cannot be reached or has no model; the message says what to do."""


def api_url() -> str:
    return os.environ.get("RISKLOOP_API_URL", DEFAULT_API_URL).rstrip("/")


def _request(method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return httpx.request(method, f"{api_url()}{path}", timeout=10.0, **kwargs)
    except httpx.HTTPError as error:
        raise APIUnavailable(
            f"the scoring API at {api_url()} is not reachable ({error.__class__.__name__})."
            " Start it with `riskloop serve`."
        ) from None


def _error_message(response: httpx.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]


def get_schema() -> dict[str, Any]:
    response = _request("GET", "/v1/schema")
    if response.status_code == 503:
        raise APIUnavailable(
            "the API has no model loaded yet: train one with `riskloop run`, then restart"
            " `riskloop serve`."
        )
    if response.status_code != 200:
        raise APIUnavailable(f"the API answered {response.status_code}: {_error_message(response)}")
    return response.json()


def get_model() -> dict[str, Any]:
    response = _request("GET", "/v1/model")
    return response.json() if response.status_code == 200 else {}


def score(application: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(result, None) on success, (None, message) when the API refused the application."""
    response = _request("POST", "/v1/score", json=application)
    if response.status_code == 200:
        return response.json(), None
    return None, _error_message(response)
