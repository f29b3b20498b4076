"""The API's own description: the OpenAPI document and its Swagger UI page. Anyone may read
them while the service listens on loopback only; beyond it they need the analyst (or admin)
role, like the model's schema."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from riskloop.serving.auth import Requires
from riskloop.serving.identity import Role

router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(Requires(Role.ANALYST, public_on_loopback=True))],
)


@router.get("/openapi.json")
def openapi_document(request: Request) -> JSONResponse:
    """The OpenAPI document, with the fields of the model in service."""
    document: dict[str, Any] = request.app.openapi()
    return JSONResponse(document)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} - docs")
