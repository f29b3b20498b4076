"""Signing in through OpenID Connect: Streamlit's own ``st.login`` (Authlib underneath), set up
from riskloop's settings, and the signed-in person's ID token, which the UI sends to the API as
the bearer of every call so the API knows, and logs, who acted.

Streamlit reads its sign-in configuration from the ``[auth]`` section of a secrets file.
:func:`write_auth_secrets` writes one (owner-only: it holds the client secret) for
``riskloop ui`` to hand to Streamlit (``--secrets.files``); nobody writes it by hand. It asks
Streamlit to keep the ID token (``expose_tokens = ["id"]``), which :func:`signed_in_token`
reads back as ``st.user.tokens["id"]``.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from riskloop.ui.client import APIClient, APIUnavailable, SignInExpired

CALLBACK_PATH = "/oauth2callback"  # Streamlit's own route for the provider's redirect
SECRETS_FILE = "secrets.toml"


@dataclass(frozen=True)
class SignInConfig:
    """What Streamlit needs to sign people in with one OpenID Connect provider.

    Parameters
    ----------
    issuer : str
        The provider's issuer URL; its discovery document is
        ``<issuer>/.well-known/openid-configuration``.
    client_id, client_secret : str
        The UI's registration at the provider.
    ui_url : str
        The UI's address as browsers reach it; the provider sends people back to
        ``<ui_url>/oauth2callback``, which must be registered with the provider.
    cookie_secret : str, optional
        Signs the sign-in cookie; None: a new random one (people sign in again after a
        restart, and several UI replicas would not accept each other's cookies).
    """

    issuer: str
    client_id: str
    client_secret: str
    ui_url: str
    cookie_secret: str | None = None

    def auth_section(self) -> dict[str, str | list[str]]:
        """The ``[auth]`` section of Streamlit's secrets."""
        return {
            "redirect_uri": f"{self.ui_url.rstrip('/')}{CALLBACK_PATH}",
            "cookie_secret": self.cookie_secret or secrets.token_urlsafe(32),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "server_metadata_url": (f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"),
            # keep the ID token, so the pages can send it to the API
            "expose_tokens": ["id"],
        }


def write_auth_secrets(config: SignInConfig, folder: Path) -> Path:
    """Write Streamlit's secrets file with the ``[auth]`` section into ``folder`` (created
    owner-only, mode 0700; the file 0600) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / SECRETS_FILE
    # JSON strings are valid TOML basic strings (same escapes), so values need no TOML writer
    lines = ["[auth]"] + [
        f"{name} = {json.dumps(value)}" for name, value in config.auth_section().items()
    ]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")
    path.chmod(0o600)  # an older file keeps its mode on O_CREAT: set it again
    return path


def signed_in_token() -> str:
    """The signed-in person's ID token; shows the sign-in page and stops this run while
    nobody is signed in."""
    if not st.user.is_logged_in:
        st.title("riskloop", anchor=False)
        st.write("Sign in with your organisation's account to score applicants and read the model.")
        st.button("Sign in", type="primary", on_click=st.login)
        st.stop()
    token = st.user.tokens.get("id")
    if not token:
        st.error(
            "Signed in, but the sign-in kept no ID token to send to the API: start the UI with"
            ' `riskloop ui`, which sets `expose_tokens = ["id"]` in Streamlit\'s [auth] secrets.'
        )
        st.button("Sign out", on_click=st.logout)
        st.stop()
    return str(token)


def show_caller(client: APIClient, signed_in: bool) -> dict[str, Any] | None:
    """Ask the API who the caller is (``GET /v1/me``) and say so in the sidebar, with a sign-out
    button for a signed-in person; returns ``{"name", "roles", "kind"}`` for the pages' role
    checks, or None when the API did not say (the pages then report what the API answers).

    A signed-in person whose token the API refuses (the sign-in expired) is asked to sign in
    again, and the run stops.
    """
    try:
        caller = client.whoami()
    except SignInExpired as refused:
        if not signed_in:
            return None
        st.warning(f"Your sign-in is no longer accepted ({refused}).")
        st.button("Sign in again", type="primary", on_click=st.login)
        st.stop()
    except APIUnavailable:
        return None
    if caller is not None:
        roles = ", ".join(caller["roles"]) or "no role"
        st.sidebar.markdown(f"Signed in as **{caller['name']}**  \nRoles: {roles}")
    if signed_in:
        st.sidebar.button("Sign out", on_click=st.logout)
    return caller
