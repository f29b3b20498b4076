"""``riskloop`` command line: a thin Typer layer over the package.

riskloop run       train, evaluate and register (the Kedro pipeline)
riskloop serve     the scoring API (``--ui`` starts the UI too)
riskloop ui        the Streamlit UI
riskloop monitor   drift, performance, fairness per window; alert rules (--every 5m: loop)
riskloop retrain   train a challenger on recent outcomes; gates decide whether it is champion
riskloop promote   make a version the champion;  riskloop rollback: back to the one before
riskloop simulate  replay held-out applicants with injected drift through the whole loop
riskloop db        schema migrations of the prediction store (Alembic)
riskloop deploy    copy the compose stack to a machine over SSH and start it
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import click
import typer

from riskloop import cli_render as render
from riskloop.cli_render import console, err

if TYPE_CHECKING:  # the commands import the package lazily: `riskloop --help` stays fast
    from riskloop.data.scenario import Scenario
    from riskloop.monitoring.config import MonitorConfig
    from riskloop.settings import Settings
    from riskloop.store import PredictionStore

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
# Kedro's own CLI (`kedro run --pipeline eda`) imports `<package>.cli` and requires a click group
# named `cli` there for project commands; riskloop adds none, so Kedro's `run` stays Kedro's.
cli = click.Group(help="riskloop adds no Kedro commands; see the `riskloop` command.")

ScenarioOption = Annotated[
    Path | None,
    typer.Option("--scenario", help="scenario YAML (default conf/base/scenarios/credit.yml)"),
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="folder for produced data (default data/)")
]


def _settings(scenario: Path | None = None):
    from riskloop.settings import Settings

    settings = Settings()
    if scenario is not None:
        settings.scenario_file = scenario.resolve()
    return settings


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _scenario(settings):
    from riskloop.config import ConfigError
    from riskloop.data.scenario import load_scenario

    try:
        return load_scenario(settings.scenario_path)
    except ConfigError as error:
        _fail(str(error))


@app.callback()
def _configure_environment() -> None:
    """Runs before every command: quiet, offline defaults for the libraries riskloop drives."""
    from riskloop.settings import find_project_dir

    # Kedro reads its logging configuration when kedro.framework.project is first imported.
    logging_file = find_project_dir() / "conf" / "logging.yml"
    if logging_file.is_file():
        os.environ.setdefault("KEDRO_LOGGING_CONFIG", str(logging_file))
    # riskloop never phones home (and the machines it runs on may have no internet).
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    # MLflow's download progress bars would flood the terminal of a command-line tool.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.filterwarnings("ignore", message=".*register_new_resolver.*")


# what `riskloop run` (and a retrain on the scenario's data) reads back to print its report
REPORT_OUTPUTS = ("metrics", "registration_report", "model_comparison", "business_impact")


@contextmanager
def _clear_pipeline_errors() -> Iterator[None]:
    """Data and configuration problems of a pipeline run as one clear message, no traceback."""
    from riskloop.config import ConfigError
    from riskloop.data.schema import DataValidationError

    try:
        yield
    except (DataValidationError, ConfigError) as error:
        _fail(str(error))
    except Exception as error:  # Kedro wraps dataset errors; find ours inside
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, DataValidationError | ConfigError):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        _fail(str(cause))


def _run_training(
    settings: Settings, data_dir: Path | None, pipeline: str | None = None
) -> dict[str, Any]:
    """Run the pipeline, turning data and scenario problems into one clear message."""
    from riskloop.pipelines.runner import run_pipeline

    with _clear_pipeline_errors():
        return run_pipeline(
            settings.project_dir,
            pipeline,
            scenario_file=settings.scenario_path,
            data_dir=data_dir.resolve() if data_dir else None,
            read_back=REPORT_OUTPUTS if pipeline is None else (),
        )


@contextmanager
def _loop_store(settings: Settings, **options: Any) -> Iterator[PredictionStore]:
    """The registry pointed at the settings' tracking URI and the prediction store open for the
    block; the store is closed when the block ends, also when it fails."""
    from riskloop import registry
    from riskloop.store import PredictionStore

    registry.configure(settings.resolved_tracking_uri)
    store = PredictionStore(settings.resolved_database_url, **options)
    try:
        yield store
    finally:
        store.dispose()


@app.command()
def run(
    scenario: ScenarioOption = None,
    data_dir: DataDirOption = None,
    pipeline: Annotated[
        str | None, typer.Option(help="one pipeline: data_processing, training, ...")
    ] = None,
) -> None:
    """Validate the data, train, evaluate and register a model (the Kedro pipeline)."""
    settings = _settings(scenario)
    _scenario(settings)
    started = time.perf_counter()
    console.print(f"Running the pipeline on scenario {settings.scenario_path} …")
    outputs = _run_training(settings, data_dir, pipeline)
    render.print_report(outputs)
    console.print(f"Done in {time.perf_counter() - started:.1f} s.")


@app.command()
def retrain(
    scenario: ScenarioOption = None,
    data_dir: DataDirOption = None,
    feedback: Annotated[
        Path | None,
        typer.Option(help="outcomes to add first: CSV/JSON of application_id, outcome"),
    ] = None,
    trigger: Annotated[str, typer.Option(help="why this retrain runs (recorded)")] = "manual",
) -> None:
    """Train a challenger on recent outcomes; it becomes champion only if it passes the gates
    (profit, AUC, calibration, fairness) on the newest labelled applications. With too few
    outcomes, retrains on the scenario's data and lets the registration gate decide."""
    import pandas as pd

    from riskloop.retraining.feedback import (
        FeedbackFileError,
        ingest_feedback,
        read_feedback_file,
    )
    from riskloop.retraining.workflow import RetrainResult
    from riskloop.retraining.workflow import retrain as retrain_or_fall_back

    def falling_back(reason: str) -> None:
        console.print(f"[yellow]{reason}[/]")
        console.print("Retraining on the scenario's data instead (registration gate) …")

    settings = _settings(scenario)
    spec = _scenario(settings)
    config = _retraining_config(settings)
    with _loop_store(settings) as store:
        if feedback is not None:
            try:
                rows = read_feedback_file(feedback)
            except FeedbackFileError as error:
                _fail(str(error), code=1)
            result = ingest_feedback(store, rows, str(feedback))
            if not result.accepted:
                _fail(result.describe() + "; the champion is unchanged", code=1)
            console.print(result.describe())
        reference = pd.read_csv(spec.resolve_path(settings.project_dir))
        console.print("Retraining on recent outcomes …")
        with _clear_pipeline_errors():
            outcome = retrain_or_fall_back(
                settings.project_dir,
                settings.scenario_path,
                spec,
                store,
                reference,
                config,
                artifact_dir=settings.resolved_artifact_dir,
                data_dir=data_dir.resolve() if data_dir else None,
                trigger=trigger,
                read_back=REPORT_OUTPUTS,
                on_fallback=falling_back,
            )
    if isinstance(outcome, RetrainResult):
        render.print_retrain(outcome)
    else:
        render.print_report(outcome.outputs)


def _retraining_config(settings):
    from riskloop.config import ConfigError
    from riskloop.retraining.config import load_retraining_config

    try:
        return load_retraining_config(
            settings.retraining_config_path, settings.gate_thresholds_path
        )
    except ConfigError as error:
        _fail(str(error))


@app.command()
def promote(
    version: Annotated[str, typer.Option(help="the version to make champion")],
    scenario: ScenarioOption = None,
    reason: Annotated[str, typer.Option(help="why (recorded in the audit table)")] = "manual",
) -> None:
    """Make a registered version the champion (the service hot-swaps to it)."""
    from mlflow.exceptions import MlflowException

    from riskloop.retraining.workflow import promote_version

    settings = _settings(scenario)
    name = _scenario(settings).model_name
    with _loop_store(settings) as store:
        try:
            previous = promote_version(name, version, store, reason=f"by hand: {reason}")
        except MlflowException as error:
            _fail(f"cannot promote {name} version {version}: {error.message}")
    console.print(f"{name}: champion is version {version} (was {previous}).")


@app.command()
def rollback(
    scenario: ScenarioOption = None,
    reason: Annotated[str, typer.Option(help="why (recorded in the audit table)")] = "manual",
) -> None:
    """Move the champion back to the version it replaced."""
    from riskloop.retraining.workflow import RollbackError
    from riskloop.retraining.workflow import rollback as roll_back

    settings = _settings(scenario)
    name = _scenario(settings).model_name
    with _loop_store(settings) as store:
        try:
            version = roll_back(name, store, reason=reason)
        except RollbackError as error:
            _fail(str(error))
    console.print(f"{name}: rolled back; champion is version {version}.")


@app.command()
def simulate(
    drift: Annotated[
        str, typer.Option(help="stable, inflation, new-segment or recession")
    ] = "stable",
    scenario: ScenarioOption = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="also write the timeline as JSON here")
    ] = None,
    windows: Annotated[int | None, typer.Option(help="windows to simulate")] = None,
    rows: Annotated[int | None, typer.Option(help="applications per window")] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="keep the simulation's registry and log here")
    ] = None,
) -> None:
    """Replay held-out applicants through a live service with injected drift: monitor,
    retrain, gate, promote — and print the timeline (docs/retraining.md)."""
    import json

    from riskloop.config import ConfigError
    from riskloop.data.drift import DriftConfigError
    from riskloop.monitoring.config import load_monitor_config
    from riskloop.retraining.simulator import simulate as run_simulation

    settings = _settings(scenario)
    spec = _scenario(settings)
    config = _retraining_config(settings)
    try:
        monitor_config = load_monitor_config(settings.monitoring_config_path)
    except ConfigError as error:
        _fail(str(error))
    started = time.perf_counter()
    try:
        timeline = run_simulation(
            settings.project_dir,
            settings.scenario_path,
            spec,
            drift,
            config,
            monitor_config,
            work_dir=work_dir.resolve() if work_dir else None,
            windows=windows,
            rows_per_window=rows,
            progress=lambda line: console.print(line, highlight=False),
        )
    except DriftConfigError as error:
        _fail(str(error))
    render.print_timeline(timeline)
    if json_file is not None:
        json_file.write_text(json.dumps(timeline.to_dict(), indent=2))
        console.print(f"Timeline written to {json_file}.")
    console.print(f"Done in {time.perf_counter() - started:.1f} s.")


@app.command()
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

    settings = _settings(scenario)
    settings.api_host = host or settings.api_host
    settings.api_port = port or settings.api_port
    model_name = _scenario(settings).model_name
    alias = settings.model_alias
    registry.configure(settings.resolved_tracking_uri)
    settings.path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    store = PredictionStore(
        settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    application = create_app(
        ModelHolder(),
        store,
        load_model=lambda: load_registered_model(model_name, alias),
        champion_version=lambda: champion_version(model_name, alias),
        load_version=lambda version: load_model_version(model_name, version),
        load_shadow=lambda shadow_alias: load_registered_model(model_name, shadow_alias),
        shadow_version=lambda shadow_alias: champion_version(model_name, shadow_alias),
        config=ServiceConfig(
            admin_token=token or None,
            max_body_bytes=settings.max_body_bytes,
            max_batch_rows=settings.max_batch_rows,
            reload_interval_s=settings.reload_interval_s,
            log_max_batch_rows=settings.log_max_batch_rows,
            log_linger_ms=settings.log_linger_ms,
            monitor_rules=_monitor_rules(settings),
            shadow_alias=settings.shadow_alias or None,
        ),
    )
    ui_process = None
    api_url = f"http://{settings.api_host}:{settings.api_port}"
    if ui:
        ui_process = _start_ui(ui_port or settings.ui_port, settings.api_url or api_url)
    console.print(f"API:  {api_url}  (docs: {api_url}/docs)")
    if ui_process:
        console.print(f"UI:   http://127.0.0.1:{ui_port or settings.ui_port}")
    console.print(f"Prediction log: {settings.resolved_database_url}")
    if not token:
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
        _fail(str(error))
    return tuple(dataclasses.asdict(rule) for rule in rules)


def _start_ui(port: int, api_url: str) -> subprocess.Popen:
    script = Path(__file__).with_name("ui") / "app.py"
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


@app.command()
def ui(
    port: Annotated[int | None, typer.Option(help="UI port (default 8501)")] = None,
    api_url: Annotated[str | None, typer.Option(help="the API's address")] = None,
) -> None:
    """Start the Streamlit UI (it talks to the API over HTTP)."""
    settings = _settings()
    process = _start_ui(port or settings.ui_port, api_url or settings.resolved_api_url)
    console.print(f"UI: http://127.0.0.1:{port or settings.ui_port}")
    raise typer.Exit(process.wait())


@app.command()
def monitor(
    every: Annotated[
        str | None,
        typer.Option(help="run again every interval (30s, 5m, 1h) until Ctrl-C or SIGTERM"),
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option(help="with --every: stop after this many runs")
    ] = None,
    window: Annotated[
        int | None, typer.Option(help="windows of N logged applications (overrides the config)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="monitor configuration (default conf/base/monitoring.yml)")
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(help="the API to read error rate and log failures from (its /metrics)"),
    ] = None,
    scenario: ScenarioOption = None,
) -> None:
    """Drift, delayed-label performance, label-free estimates, fairness and service health per
    window of the prediction log; alert rules with hysteresis (docs/monitoring.md)."""
    import signal
    import threading

    from riskloop.monitoring.config import load_monitor_config
    from riskloop.monitoring.monitor import parse_interval

    settings = _settings(scenario)
    scenario_ = _scenario(settings)
    try:
        interval = parse_interval(every) if every is not None else None
        monitor_config = load_monitor_config(config or settings.monitoring_config_path)
        if window is not None:
            monitor_config = monitor_config.with_windows(by="count", size=window)
    except ValueError as error:
        _fail(str(error))
    if interval is None:
        if not _monitor_once(settings, scenario_, monitor_config, api_url, quiet_empty=False):
            raise typer.Exit(1)
        return
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runs = 0
    try:
        while not stop.is_set():
            console.print(f"[dim]{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC — monitor run[/]")
            _monitor_once(settings, scenario_, monitor_config, api_url, quiet_empty=True)
            runs += 1
            if max_runs is not None and runs >= max_runs:
                break
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    console.print(f"Monitor stopped after {runs} run{'s' if runs != 1 else ''}.")


def _monitor_once(
    settings: Settings,
    scenario: Scenario,
    monitor_config: MonitorConfig,
    api_url: str | None,
    quiet_empty: bool,
) -> bool:
    """One monitor run with its printout; False when there was nothing to measure."""
    from riskloop import registry
    from riskloop.monitoring.drift import EmptyPredictionLogError
    from riskloop.monitoring.monitor import MonitorRun, run_monitor_or_early_drift

    model_name = scenario.model_name
    registry.configure(settings.resolved_tracking_uri)
    champion = registry.load_champion(model_name)
    if champion is None:
        _fail(f"no champion registered for {model_name!r}: run `riskloop run` first")
    scorer, info = champion
    health = _service_health(api_url) if api_url else None
    with _loop_store(settings) as store:
        try:
            measured = run_monitor_or_early_drift(
                store, scorer, model_name, info.version, monitor_config,
                scenario=scenario, service_health=health,
            )  # fmt: skip
        except EmptyPredictionLogError as error:
            (console.print if quiet_empty else err.print)(f"[yellow]{error}[/]", highlight=False)
            return False
    if isinstance(measured, MonitorRun):
        render.print_monitor_run(measured)
    else:
        render.print_early_drift(measured)
    return True


def _service_health(api_url: str) -> dict[str, float | None] | None:
    """Error rate and log failures from the API's /metrics; None (with a warning) when the API
    cannot be read: the monitor still measures the log."""
    import httpx

    from riskloop.monitoring.service_health import scrape_service_health

    try:
        return scrape_service_health(httpx.get(f"{api_url}/metrics", timeout=10).text)
    except httpx.HTTPError as error:
        err.print(f"[yellow]could not read {api_url}/metrics ({error}); no service health[/]")
        return None


db_app = typer.Typer(no_args_is_help=True, help="Schema migrations of the prediction store.")
app.add_typer(db_app, name="db")

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option("--url", help="database URL (default RISKLOOP_DATABASE_URL or the SQLite file)"),
]


@db_app.command("upgrade")
def db_upgrade(
    url: DatabaseUrlOption = None,
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Migrate the prediction store to the newest schema (deployments run this before serving)."""
    from sqlalchemy.exc import OperationalError

    from riskloop.store.migrations import SchemaMismatchError, upgrade

    settings = _settings()
    target = url or settings.resolved_database_url
    if target.startswith("sqlite:///"):
        Path(target.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        reached = upgrade(target, revision)
    except SchemaMismatchError as error:
        _fail(str(error))
    except OperationalError as error:
        _fail(f"cannot reach the database: {error.orig}")
    console.print(f"Prediction store at revision {reached}.")


@db_app.command("current")
def db_current(url: DatabaseUrlOption = None) -> None:
    """Print the schema revision of the prediction store (none: never migrated)."""
    from riskloop.store.migrations import current_revision

    console.print(current_revision(url or _settings().resolved_database_url) or "none")


@app.command()
def deploy(
    host: Annotated[str, typer.Option(help="the machine, as user@address")],
    domain: Annotated[
        str | None, typer.Option(help="DNS name pointing at the machine: enables HTTPS")
    ] = None,
    email: Annotated[str | None, typer.Option(help="e-mail for the certificate")] = None,
    image: Annotated[
        str | None, typer.Option(help="a published image to pull instead of building")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the commands; connect nowhere")
    ] = False,
) -> None:
    """Deploy the compose stack to a machine over SSH (deploy/deploy.sh; see docs/deploy.md)."""
    from riskloop.settings import find_project_dir

    script = find_project_dir() / "deploy" / "deploy.sh"
    if not script.is_file():
        _fail(f"{script} not found: run riskloop deploy from a checkout of the repository")
    arguments = [str(script), "--host", host]
    for flag, value in (("--domain", domain), ("--email", email), ("--image", image)):
        if value:
            arguments += [flag, value]
    if dry_run:
        arguments.append("--dry-run")
    raise typer.Exit(subprocess.run(arguments).returncode)
