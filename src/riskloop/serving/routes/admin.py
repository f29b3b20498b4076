"""Administration: reload the champion now. Every route needs the admin role (an API key
holding it, or ``RISKLOOP_ADMIN_TOKEN``), and each call is an audit event naming the caller."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from riskloop.serving.auth import Requires, caller
from riskloop.serving.dependencies import get_reloader, get_store
from riskloop.serving.errors import APIError, documented_errors
from riskloop.serving.identity import Principal, Role
from riskloop.serving.reloader import ModelReloader, ReloadError
from riskloop.serving.schemas import ReloadResponse
from riskloop.store import PredictionStore

RELOAD_EVENT = "reload_requested"

router = APIRouter(
    tags=["admin"],
    dependencies=[Depends(Requires(Role.ADMIN))],
    responses=documented_errors(401, 403, 429),
)


@router.post("/v1/admin/reload", response_model=ReloadResponse, responses=documented_errors(503))
async def admin_reload(
    reloader: ModelReloader = Depends(get_reloader),
    store: PredictionStore = Depends(get_store),
    who: Principal = Depends(caller),
) -> ReloadResponse:
    """Load the model the champion alias points at now and swap it in atomically (and
    the shadow model, when shadow scoring is on)."""
    try:
        answer = await reloader.reload_all()
    except ReloadError as error:
        outcome = {"result": error.code, "message": error.message}
        await run_in_threadpool(_audit, store, outcome, who)
        raise APIError(503, error.code, error.message) from None
    await run_in_threadpool(_audit, store, {"result": "ok", **answer.model_dump()}, who)
    return answer


def _audit(store: PredictionStore, payload: dict, who: Principal) -> None:
    store.monitoring.record_audit_event(RELOAD_EVENT, payload, actor=who.name)
