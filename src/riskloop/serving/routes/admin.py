"""Administration: reload the champion now. The router is included only when an admin token is
configured; every route of it needs ``Authorization: Bearer <RISKLOOP_ADMIN_TOKEN>``."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from riskloop.serving.config import ServiceConfig
from riskloop.serving.dependencies import get_config, get_reloader
from riskloop.serving.errors import APIError, documented_errors
from riskloop.serving.reloader import ModelReloader, ReloadError
from riskloop.serving.schemas import ReloadResponse

_bearer = HTTPBearer(auto_error=False, description="RISKLOOP_ADMIN_TOKEN")


async def require_admin(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    config: ServiceConfig = Depends(get_config),
) -> None:
    """401 without a bearer token, 403 with one that is not the admin token."""
    if credentials is None:
        raise APIError(
            401,
            "unauthorized",
            "admin routes need the header Authorization: Bearer <RISKLOOP_ADMIN_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = config.admin_token or ""
    if not token or not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
        raise APIError(403, "forbidden", "the bearer token is not the admin token")


router = APIRouter(
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=documented_errors(401, 403),
)


@router.post("/v1/admin/reload", response_model=ReloadResponse, responses=documented_errors(503))
async def admin_reload(reloader: ModelReloader = Depends(get_reloader)) -> ReloadResponse:
    """Load the model the champion alias points at now and swap it in atomically (and
    the shadow model, when shadow scoring is on)."""
    try:
        return await reloader.reload_all()
    except ReloadError as error:
        raise APIError(503, error.code, error.message) from None
