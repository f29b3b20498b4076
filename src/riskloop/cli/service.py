"""``riskloop serve`` (the scoring API, optionally with the UI) and ``riskloop ui``."""

from __future__ import annotations

import os
import subprocess
import sys
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
    from riskloop.serving.app import ServiceConfig, create_app
    from riskloop.serving.loading import (
        champion_version,
        load_model_version,
        load_registered_model,
    )
    from riskloop.serving.model_holder import ModelHolder
    from riskloop.store import PredictionStore

    settings = build_settings(scenario)
    settings.api_host = host or settings.api_host
    settings.api_port = port or settings.api_port
    model_name = load_scenario_or_fail(settings).model_name
    alias = settings.model_alias
    registry.configure(settings.resolved_tracking_uri)
    settings.path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    store = PredictionStore(
        settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    config = ServiceConfig.from_settings(settings, _monitor_rules(settings))
    application = create_app(
        ModelHolder(),
        store,
        load_model=lambda: load_registered_model(model_name, alias),
        champion_version=lambda: champion_version(model_name, alias),
        load_version=lambda version: load_model_version(model_name, version),
        load_shadow=lambda shadow_alias: load_registered_model(model_name, shadow_alias),
        shadow_version=lambda shadow_alias: champion_version(model_name, shadow_alias),
        config=config,
    )
    ui_process = None
    api_url = f"http://{settings.api_host}:{settings.api_port}"
    if ui:
        ui_process = _start_ui(ui_port or settings.ui_port, settings.api_url or api_url)
    console.print(f"API:  {api_url}  (docs: {api_url}/docs)")
    if ui_process:
        console.print(f"UI:   http://127.0.0.1:{ui_port or settings.ui_port}")
    console.print(f"Prediction log: {settings.resolved_database_url}")
    if not config.admin_token:
        console.print("Admin routes disabled (set RISKLOOP_ADMIN_TOKEN to enable them).")
    try:
        uvicorn.run(
            application, host=settings.api_host, port=settings.api_port, log_level="warning"
        )
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


def _start_ui(port: int, api_url: str) -> subprocess.Popen:
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
        ],
        env={**os.environ, "RISKLOOP_API_URL": api_url},
    )


def ui(
    port: Annotated[int | None, typer.Option(help="UI port (default 8501)")] = None,
    api_url: Annotated[str | None, typer.Option(help="the API's address")] = None,
) -> None:
    """Start the Streamlit UI (it talks to the API over HTTP)."""
    settings = build_settings()
    process = _start_ui(port or settings.ui_port, api_url or settings.resolved_api_url)
    console.print(f"UI: http://127.0.0.1:{port or settings.ui_port}")
    raise typer.Exit(process.wait())
