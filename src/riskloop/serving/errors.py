"""Errors for people, in one JSON shape::

    {"error": {"code": "...", "message": "...", "fields": [{"field", "message", "received"}],
               "fields_omitted": 0}}

A route raises :class:`APIError`; the handlers installed by :func:`install_error_handlers` turn it,
FastAPI's own validation errors, Starlette's HTTP errors and anything unexpected into that shape.
A field error names the field (``applications[3].Age`` in a batch), the rule broken with the
allowed range or set of the feature, and the value received. At most :data:`MAX_FIELD_ERRORS`
are listed, the rest counted in ``fields_omitted``: a 4 kB batch of empty objects must not
earn a 560 kB answer.

A client that hangs up before its request is read is not an error of ours: it is logged in one
line and counted with the status :data:`CLIENT_CLOSED_REQUEST` (499, nginx's name for it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from riskloop.data.schema import InputSchema
from riskloop.serving.schemas import ErrorResponse

log = logging.getLogger(__name__)

FieldErrors = list[dict[str, Any]]
ModelT = TypeVar("ModelT", bound=BaseModel)

# The most field errors one answer lists; the rest are counted, not listed.
MAX_FIELD_ERRORS = 20
# The status a request is counted under when its client went away before it was read.
CLIENT_CLOSED_REQUEST = 499


class APIError(Exception):
    """An answer other than 200, raised anywhere in a request (route or dependency).

    Parameters
    ----------
    status : int
        The HTTP status code.
    code : str
        A stable machine-readable name of the error (``no_model``, ``batch_too_large``, …).
    message : str
        What went wrong and what to do, in words.
    fields : list of dict, optional
        One ``{"field", "message", "received"}`` entry per invalid field.
    headers : dict, optional
        Extra response headers (``WWW-Authenticate`` on a 401).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: FieldErrors | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    fields: FieldErrors | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one error shape as a response: the first :data:`MAX_FIELD_ERRORS` field errors, and
    how many more there were."""
    fields = fields or []
    body = {
        "code": code,
        "message": message,
        "fields": fields[:MAX_FIELD_ERRORS],
        "fields_omitted": max(len(fields) - MAX_FIELD_ERRORS, 0),
    }
    return JSONResponse(status_code=status, content={"error": body}, headers=headers)


def received_value(value: Any) -> Any:
    """The received value as JSON can carry it: scalars as they are (an infinite or NaN
    number as its text), anything bigger left out."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, str | int | float | bool) else None


def field_errors(
    error: ValidationError, schema: InputSchema | None, prefix: str = ""
) -> FieldErrors:
    """One entry per problem: the field (``applications[3].Age`` in a batch), the rule broken
    with the allowed range or set of the feature, and the value received."""
    names = set(schema.names) if schema is not None else set()
    fields = []
    for item in error.errors():
        loc = list(item["loc"])
        if prefix == "applications" and loc and isinstance(loc[0], int):
            head, loc = f"applications[{loc[0]}]", loc[1:]
        else:
            head = prefix
        location = ".".join(str(p) for p in loc)
        received = None if item["type"] == "missing" else item.get("input")
        message = item["msg"]
        feature = loc[0] if loc and loc[0] in names else None
        if schema is not None and feature is not None and item["type"] != "missing":
            message = f"{message}; allowed: {schema[str(feature)].describe_allowed()}"
        if item["type"] == "extra_forbidden":
            message = f"{message}; unknown field (the fields are listed by GET /v1/schema)"
        name = ".".join(p for p in (head, location) if p) or "(body)"
        fields.append({"field": name, "message": message, "received": received_value(received)})
    return fields


def describe(fields: FieldErrors, listed: int = 10) -> str:
    """The field errors in one sentence (the first ``listed``, then how many more)."""
    parts = []
    for f in fields[:listed]:
        got = f" (received {f['received']!r})" if f.get("received") is not None else ""
        parts.append(f"{f['field']}: {f['message']}{got}")
    more = f"; and {len(fields) - listed} more" if len(fields) > listed else ""
    return "; ".join(parts) + more


def invalid(fields: FieldErrors, code: str = "invalid_application") -> APIError:
    """422 naming every invalid field."""
    return APIError(422, code, describe(fields), fields)


def body_error(message: str, field: str = "(body)") -> APIError:
    """422 for a body that is not the expected JSON at all."""
    return invalid([{"field": field, "message": message, "received": None}], "invalid_request")


def validate_json(
    request_type: type[ModelT],
    body: bytes,
    what: str,
    schema: InputSchema | None = None,
    code: str = "invalid_request",
) -> ModelT:
    """``body`` validated by ``request_type`` straight from the JSON bytes (pydantic's parser:
    no recursion to exhaust, however deep the nesting).

    Raises
    ------
    APIError
        422: ``(body)`` when the body is not JSON or not an object (``what`` says what it should
        be), else every invalid field, named with its rule and the value received.
    """
    try:
        return request_type.model_validate_json(body)
    except ValidationError as error:
        kinds = {e["type"] for e in error.errors()}
        if "json_invalid" in kinds:
            raise body_error("the body is not valid JSON") from None
        if "model_type" in kinds or "model_attributes_type" in kinds:
            raise body_error(f"the body must be a JSON object ({what})") from None
        raise invalid(field_errors(error, schema), code) from None


# ---- OpenAPI: what each error status means, for the routes' ``responses``
_ERROR_DOCS: dict[int, str] = {
    401: "no credential, or one that is not valid (unknown, expired, revoked)",
    403: "a valid credential without the role this route needs",
    404: "no such application, or nothing to show for it",
    409: "this application_id was already used",
    413: "the body or the batch is larger than the configured limit",
    415: "the body is not declared as JSON (Content-Type: application/json)",
    422: "a field is missing, unknown or out of range; each is named with what was received",
    429: "too many failed credentials from this client: wait Retry-After seconds",
    503: "no model is loaded yet, or the prediction log cannot be written (nothing was kept)",
}


def documented_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry of a route that can answer these error statuses."""
    return {code: {"model": ErrorResponse, "description": _ERROR_DOCS[code]} for code in codes}


# ---- handlers
async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, APIError)
    return error_response(error.status, error.code, error.message, error.fields, error.headers)


async def _request_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = [
        {
            "field": ".".join(str(p) for p in e["loc"] if p != "body") or "(body)",
            "message": e["msg"],
            "received": None if e["type"] == "missing" else received_value(e.get("input")),
        }
        for e in error.errors()
    ]
    return error_response(422, "invalid_request", describe(fields), fields)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:  # FastAPI could not decode the body: same 422 as ours
        fields = [{"field": "(body)", "message": str(error.detail), "received": None}]
        return error_response(422, "invalid_request", describe(fields), fields)
    headers = error.headers
    if error.status_code == 405:  # Starlette names the methods of one route; a path may have more
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    return error_response(error.status_code, "http_error", str(error.detail), headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on the request's path (``GET`` and
    ``DELETE`` of ``/v1/applicants/{ref}`` are two routes)."""
    methods: set[str] = set()
    # iter_route_contexts: each route as included (the app's routes are its routers)
    for route in iter_route_contexts(request.app.routes):
        path_regex = getattr(route, "path_regex", None)
        if path_regex is not None and path_regex.match(request.url.path):
            methods |= set(route.methods or ())
    return sorted(methods)


async def _client_gone(request: Request, error: Exception) -> Response:
    # nobody is listening: one line in the log, and a status the metrics can count
    log.info("client went away before its request to %s was read", request.url.path)
    return Response(status_code=CLIENT_CLOSED_REQUEST)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return error_response(500, "internal_error", "unexpected error; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` in the one shape."""
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
