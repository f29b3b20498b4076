"""Who is calling, and what they may do: roles, the caller (a :class:`Principal`) and the
verifiers that turn a bearer credential into one.

The pieces every other part of the service agrees on live here:

- :class:`Role`: what a caller may do (``scorer``, ``analyst``, ``outcomes``, ``admin``);
- :class:`Principal`: the caller, by name, with its roles; its ``name`` is what the prediction
  log and the audit events record as *who*;
- :class:`TokenVerifier`: anything that can check one kind of bearer credential (API keys, the
  configured admin token, an OpenID Connect token). ``verify`` answers ``None`` when the token
  is not of its kind (the next verifier is asked) and raises :class:`InvalidCredential` when it
  is of its kind but wrong (expired, revoked, bad signature).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    """What a caller may do. A caller may hold several."""

    SCORER = "scorer"  # score, preview, batch
    ANALYST = "analyst"  # explanations, applicant records, reports, model, monitoring reads
    OUTCOMES = "outcomes"  # feedback
    ADMIN = "admin"  # reload, promote/rollback, key management, anything destructive


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    Parameters
    ----------
    name : str
        Who, as recorded in the prediction log and audit events: ``key:<name>`` for an API
        key, ``user:<email or subject>`` for a person signed in through OpenID Connect,
        ``admin-token`` for the configured admin token.
    roles : frozenset of Role
        What the caller may do.
    kind : str
        ``key``, ``user`` or ``admin-token``.
    """

    name: str
    roles: frozenset[Role]
    kind: str

    def has_any(self, roles: frozenset[Role]) -> bool:
        """Whether the caller holds at least one of ``roles``."""
        return bool(self.roles & roles)


class InvalidCredential(Exception):
    """A credential of a verifier's kind that does not hold (wrong, expired, revoked).

    ``reason`` is a short, bounded word for the failure metric (``invalid``, ``expired``,
    ``revoked``); the message is safe to show the caller (it never echoes the secret).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class TokenVerifier(Protocol):
    """Checks one kind of bearer credential."""

    def verify(self, token: str) -> Principal | None:
        """The caller behind ``token``; None when the token is not of this verifier's kind.

        Raises
        ------
        InvalidCredential
            The token is of this kind but does not hold.
        """
        ...
