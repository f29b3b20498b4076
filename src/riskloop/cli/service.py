"""``riskloop serve`` (the scoring API, optionally with the UI) and ``riskloop ui``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from riskloop.cli.common import ScenarioOption, build_settings, fail, load_scenario_or_fail
from riskloop.cli.render import console

if TYPE_CHECKING:
    pass


def serve(
    host: Annotated[str | None, typer.Option(help="interface to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="API port (default 8000)")] = None,
    ui: Annotated[bool, typer.Option("--ui", help="also start the Streamlit UI")] = False,
    ui_port: Annotated[int | None, typer.Option(help="UI port (default 8501)")] = None,
    scenario: ScenarioOption = None,
) -> None:
    """Serve the champion model over HTTP (FastAPI)."""
    import uvicorn

    from riskloop import registry
    from riskloop.cli.privacy import ensure_applicant_ref_key
    from riskloop.serving.app import ServiceConfig, create_app
    from riskloop.serving.loading import (
        champion_identity,
        champion_version,
        load_model_version,
        load_registered_model,
    )
    from riskloop.serving.model_holder import ModelHolder
    from riskloop.serving.server import server_config
    from riskloop.store import ApiKeyStore, PredictionStore

    settings = build_settings(scenario)
    settings.api_host = host or settings.api_host
    settings.api_port = port or settings.api_port
    model_name = load_scenario_or_fail(settings).model_name
    alias = settings.model_alias
    registry.configure(settings.resolved_tracking_uri)
    registry.configure_trust(settings.model_trust())  # keys and artifact roots models need
    settings.path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    store = PredictionStore(
        settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    config = ServiceConfig.from_settings(
        settings, _monitor_rules(settings), ensure_applicant_ref_key(settings)
    )
    ui_key = _credentials(settings, ApiKeyStore(store.engine))
    application = create_app(
        ModelHolder(),
        store,
        load_model=lambda: load_registered_model(model_name, alias),
        champion_version=lambda: champion_identity(model_name, alias),
        load_version=lambda version: load_model_version(model_name, version),
        load_shadow=lambda shadow_alias: load_registered_model(model_name, shadow_alias),
        shadow_version=lambda shadow_alias: champion_version(model_name, shadow_alias),
        config=config,
        verifiers=_user_verifiers(settings),
    )
    ui_process = None
    api_url = f"http://{settings.api_host}:{settings.api_port}"
    if ui:
        ui_process = _start_ui(
            ui_port or settings.ui_port,
            settings.api_url or api_url,
            None if settings.oidc_issuer else ui_key,  # signed-in people act as themselves
            _sign_in_options(settings, ui_port or settings.ui_port),
        )
    console.print(f"API:  {api_url}  (docs: {api_url}/docs)")
    if ui_process:
        console.print(f"UI:   http://127.0.0.1:{ui_port or settings.ui_port}")
    console.print(f"Prediction log: {settings.resolved_database_url}")
    try:
        # uvicorn with deadlines on request headers and bodies (slow clients cannot hold it)
        server_settings = server_config(
            application,
            settings.api_host,
            settings.api_port,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            admission=application.state.admission,  # the excess is refused before the app
            on_shed=application.state.metrics.shed.inc,
        )
        uvicorn.Server(server_settings).run()
    finally:
        if ui_process:
            ui_process.terminate()


def _monitor_rules(settings) -> tuple[dict, ...]:
    """The monitor's alert rules, for GET /v1/monitoring (none when the file is missing)."""
    import dataclasses

    from riskloop.config import ConfigError
    from riskloop.monitoring.config import load_monitor_config

    path = settings.monitoring_config_path
    try:
        rules = load_monitor_config(path).rules if path.is_file() else []
    except ConfigError as error:
        fail(str(error))
    return tuple(dataclasses.asdict(rule) for rule in rules)


def _credentials(settings, keys) -> str | None:
    """On loopback: the key the local UI sends (``RISKLOOP_API_KEY``, else the local admin key,
    created on first start). Beyond loopback: refuse to start when no caller could ever
    authenticate; the UI then needs ``RISKLOOP_API_KEY`` (or its own sign-in)."""
    from riskloop.cli.keys import ensure_local_admin_key, refuse_without_credentials

    # a configured credential is what the UI sends; the local key is for no configuration
    configured = settings.api_key or settings.admin_token
    given = configured.get_secret_value() if configured else None
    if not settings.listens_on_loopback:
        refuse_without_credentials(keys, bool(settings.admin_token), bool(settings.oidc_issuer))
        return given
    if given:
        return given
    path = settings.resolved_local_key_file
    key, created = ensure_local_admin_key(path, keys)
    console.print(
        f"Local admin key {'created in' if created else 'read from'} {path} (owner-only);"
        f' curl -H "Authorization: Bearer $(cat {path})" ...'
    )
    return key


def _local_key(settings) -> str | None:
    """The key ``riskloop ui`` sends: ``RISKLOOP_API_KEY``, else the local admin key file."""
    if settings.api_key:
        return str(settings.api_key.get_secret_value())
    path = settings.resolved_local_key_file
    return path.read_text().strip() if path.is_file() else None


def _user_verifiers(settings) -> list:
    """The OpenID Connect verifier of the configured issuer (people signed in through the UI);
    none without an issuer. Nothing is fetched from the issuer until a token arrives."""
    if not settings.oidc_issuer:
        return []
    from riskloop.serving.oidc import OIDCTokenVerifier

    try:
        return [
            OIDCTokenVerifier(
                settings.oidc_issuer, settings.oidc_client_id or "", settings.oidc_roles_claim
            )
        ]
    except ValueError as error:
        fail(str(error))


def _sign_in_options(settings, port: int, host: str | None = None) -> list[str]:
    """Streamlit options for the UI: with an OpenID Connect issuer, its sign-in configuration
    (a secrets file written owner-only under the data folder: it holds the client secret) and
    the interface to listen on; without one, nothing (the UI stays on loopback)."""
    from riskloop.settings import LOOPBACK_HOSTS

    if not settings.oidc_issuer:
        if host and host not in LOOPBACK_HOSTS:
            fail(
                f"the UI would listen on {host} without sign-in: set RISKLOOP_OIDC_ISSUER,"
                " RISKLOOP_OIDC_CLIENT_ID and RISKLOOP_OIDC_CLIENT_SECRET so people sign in,"
                " or keep it on loopback"
            )
        return []
    from riskloop.ui.login import SignInConfig, write_auth_secrets

    missing = [
        f"RISKLOOP_{name.upper()}"
        for name in ("oidc_client_id", "oidc_client_secret")
        if not getattr(settings, name)
    ]
    if missing:
        fail(
            f"RISKLOOP_OIDC_ISSUER is set, so the UI signs people in: set {' and '.join(missing)}"
            " (the UI's registration at the identity provider)"
        )
    sign_in = SignInConfig(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        ui_url=settings.ui_url or f"http://localhost:{port}",
        cookie_secret=(
            settings.ui_cookie_secret.get_secret_value() if settings.ui_cookie_secret else None
        ),
    )
    secrets_file = write_auth_secrets(sign_in, settings.path(settings.data_dir) / "ui-sign-in")
    # a later --server.address wins over _start_ui's loopback default
    return ["--secrets.files", str(secrets_file), *(["--server.address", host] if host else [])]


def _start_ui(
    port: int, api_url: str, api_key: str | None, options: Sequence[str] = ()
) -> subprocess.Popen:
    script = Path(__file__).parents[1] / "ui" / "app.py"
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.port",
            str(port),
            # loopback only: the UI has no authentication of its own (deployments put it
            # behind the proxy, see deploy/compose.yaml)
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--client.toolbarMode",
            "minimal",
            *options,
        ],
        env={
            **os.environ,
            "RISKLOOP_API_URL": api_url,
            **({"RISKLOOP_API_KEY": api_key} if api_key else {}),
        },
    )


def ui(
    port: Annotated[int | None, typer.Option(help="UI port (default 8501)")] = None,
    api_url: Annotated[str | None, typer.Option(help="the API's address")] = None,
    host: Annotated[
        str | None,
        typer.Option(help="interface to listen on (default 127.0.0.1; others need sign-in)"),
    ] = None,
) -> None:
    """Start the Streamlit UI (it talks to the API over HTTP). With RISKLOOP_OIDC_ISSUER set,
    people sign in and the UI acts with their own token."""
    settings = build_settings()
    ui_port = port or settings.ui_port
    process = _start_ui(
        ui_port,
        api_url or settings.resolved_api_url,
        # with sign-in, people act as themselves: the UI holds no key of its own
        None if settings.oidc_issuer else _local_key(settings),
        _sign_in_options(settings, ui_port, host),
    )
    console.print(f"UI: {settings.ui_url or f'http://127.0.0.1:{ui_port}'}")
    raise typer.Exit(process.wait())
