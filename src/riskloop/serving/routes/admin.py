"""Administration: reload the champion now. Every route needs the admin role (an API key
holding it, or ``RISKLOOP_ADMIN_TOKEN``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from riskloop.serving.auth import Requires
from riskloop.serving.dependencies import get_reloader
from riskloop.serving.errors import APIError, documented_errors
from riskloop.serving.identity import Role
from riskloop.serving.reloader import ModelReloader, ReloadError
from riskloop.serving.schemas import ReloadResponse

router = APIRouter(
    tags=["admin"],
    dependencies=[Depends(Requires(Role.ADMIN))],
    responses=documented_errors(401, 403, 429),
)


@router.post("/v1/admin/reload", response_model=ReloadResponse, responses=documented_errors(503))
async def admin_reload(reloader: ModelReloader = Depends(get_reloader)) -> ReloadResponse:
    """Load the model the champion alias points at now and swap it in atomically (and
    the shadow model, when shadow scoring is on)."""
    try:
        return await reloader.reload_all()
    except ReloadError as error:
        raise APIError(503, error.code, error.message) from None
