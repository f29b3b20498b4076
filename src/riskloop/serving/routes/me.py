"""Who the caller is, as the API sees it: the name the prediction log records and the roles it
holds. The UI asks once per page to show the signed-in person and which pages they may use, so
the API's verdict on a token (not the UI's own reading of it) decides what is shown."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from riskloop.serving.auth import Requires, caller
from riskloop.serving.errors import documented_errors
from riskloop.serving.identity import Principal

router = APIRouter(
    tags=["identity"],
    dependencies=[Depends(Requires())],  # any valid credential
    responses=documented_errors(401, 429),
)


class Caller(BaseModel):
    """The authenticated caller."""

    name: str
    roles: list[str]
    kind: str


@router.get("/v1/me", response_model=Caller)
def who_am_i(who: Principal = Depends(caller)) -> Caller:
    """The caller's name (``key:<name>``, ``user:<email>``, ``admin-token``), roles and kind."""
    return Caller(name=who.name, roles=sorted(who.roles), kind=who.kind)
