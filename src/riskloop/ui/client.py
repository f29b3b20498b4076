"""Tiny HTTP client of the scoring API, used by the UI pages (the Streamlit app builds one from
:class:`riskloop.ui.settings.UISettings` and hands it to the pages).

The UI imports no model code: everything it shows comes from these calls. Three exceptions
carry a message meant for the person at the screen: :class:`APIUnavailable` (the API cannot be
reached or answered something unexpected) and its subclasses :class:`NoModel` (the API runs but
has no model loaded yet) and :class:`SignInExpired` (the API refused the credential).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


class APIUnavailable(RuntimeError):
    """The API cannot be reached or has no model; the message says what to do."""


class NoModel(APIUnavailable):
    """The API answers but has no model loaded (HTTP 503)."""


class SignInExpired(APIUnavailable):
    """The API refused the credential (HTTP 401): an expired sign-in, a revoked key."""


class APIClient:
    """The scoring API at ``base_url``, one method per route the UI uses.

    Parameters
    ----------
    base_url : str
        The API's address (``UISettings.api_url``); a final ``/`` is ignored.
    api_key : str, optional
        The credential sent as ``Authorization: Bearer`` on every call: the signed-in person's
        ID token when the UI signs people in (:mod:`riskloop.ui.login`), else
        ``UISettings.api_key`` (the local admin key of ``riskloop serve``, or
        ``RISKLOOP_API_KEY``).
    """

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return httpx.request(
                method, f"{self.base_url}{path}", timeout=10.0, headers=self._headers, **kwargs
            )
        except httpx.HTTPError as error:
            raise APIUnavailable(
                f"the scoring API at {self.base_url} is not reachable"
                f" ({error.__class__.__name__}). Start it with `riskloop serve`."
            ) from None

    def get_schema(self) -> dict[str, Any]:
        """The fields an application needs: ``{"features": [{name, kind, min, max, ...}]}``."""
        return _json_or_raise(self._request("GET", "/v1/schema"))

    def get_model(self) -> dict[str, Any]:
        """The model in service: name, version, alias, threshold, metrics, data hash."""
        return _json_or_raise(self._request("GET", "/v1/model"))

    def get_reports(self) -> dict[str, Any]:
        """The model's report documents (model card, comparison, calibration, profit curve,
        business, fairness); ``{}`` when the model has none or the API predates the route."""
        response = self._request("GET", "/v1/model/reports")
        if response.status_code == 404:
            return {}
        reports = _json_or_raise(response)
        return reports if isinstance(reports, dict) else {}

    def _post_application(
        self, path: str, application: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, str | None]:
        response = self._request("POST", path, json=application)
        if response.status_code == 200:
            return response.json(), None
        if response.status_code == 503:
            raise NoModel("the API has no model loaded any more: reload the page once it has one.")
        return None, _error_message(response)

    def score(self, application: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """Score and log one application: (result, None) on success, (None, message) when the
        API refused it."""
        return self._post_application("/v1/score", application)

    def preview(self, application: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """Score one application without logging it (what-if exploration); same answer shape
        as :meth:`score`."""
        return self._post_application("/v1/score/preview", application)

    def get_monitoring(self) -> dict[str, Any]:
        """The monitor's newest windows, fired triggers and alert rules for the model in
        service; empty windows when the monitor has not run or the API predates the route."""
        response = self._request("GET", "/v1/monitoring")
        if response.status_code == 404:
            return {"windows": [], "triggers": [], "rules": []}
        return _json_or_raise(response)

    def whoami(self) -> dict[str, Any] | None:
        """Who the API takes the caller for: ``{"name", "roles", "kind"}``; None when the API
        predates ``GET /v1/me``. A refused credential raises :class:`SignInExpired` (401)."""
        response = self._request("GET", "/v1/me")
        if response.status_code == 404:
            return None
        if response.status_code == 401:
            raise SignInExpired(f"the API refused the credential: {_error_message(response)}")
        caller: dict[str, Any] = _json_or_raise(response)
        return caller

    def explain(self, application_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """A logged application's decision, reasons and full explanation: (record, None), or
        (None, message) when the API has none for it or refuses the caller."""
        response = self._request("GET", f"/v1/explain/{quote(application_id, safe='')}")
        if response.status_code == 200:
            return response.json(), None
        return None, _error_message(response)


def _error_message(response: httpx.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]


def _json_or_raise(response: httpx.Response) -> Any:
    """The JSON body of a 200 answer; a 503 becomes :class:`NoModel`, anything else
    :class:`APIUnavailable` with the API's own message."""
    if response.status_code == 503:
        raise NoModel(
            "the API has no model loaded yet: train one with `riskloop run`, then restart"
            " `riskloop serve`."
        )
    if response.status_code != 200:
        raise APIUnavailable(
            f"the API answered {response.status_code} to {response.request.url.path}:"
            f" {_error_message(response)}"
        )
    return response.json()
