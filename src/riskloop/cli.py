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
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
# Kedro's own CLI (`kedro run --pipeline eda`) imports `<package>.cli` and requires a click group
# named `cli` there for project commands; riskloop adds none, so Kedro's `run` stays Kedro's.
cli = click.Group(help="riskloop adds no Kedro commands; see the `riskloop` command.")
console = Console()
err = Console(stderr=True)

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


def _fail(message: str, code: int = 2) -> None:
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


def _run_training(settings, data_dir: Path | None, pipeline: str | None = None) -> dict:
    """Run the pipeline, turning data and scenario problems into one clear message."""
    from riskloop.config import ConfigError
    from riskloop.data.schema import DataValidationError
    from riskloop.pipelines.runner import run_pipeline

    try:
        return run_pipeline(
            settings.project_dir,
            pipeline,
            scenario_file=settings.scenario_path,
            data_dir=data_dir.resolve() if data_dir else None,
            read_back=(
                ["metrics", "registration_report", "model_comparison", "business_impact"]
                if pipeline is None
                else []
            ),
        )
    except (DataValidationError, ConfigError) as error:
        _fail(str(error))
    except Exception as error:  # Kedro wraps dataset errors; find ours inside
        cause = error
        while cause is not None and not isinstance(cause, DataValidationError | ConfigError):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        _fail(str(cause))
    return {}


def _print_report(outputs: dict) -> None:
    metrics, report = outputs.get("metrics"), outputs.get("registration_report")
    if metrics:
        table = Table(title="Metrics")
        table.add_column("split")
        for name in ("auc", "gini", "ks", "brier", "n"):
            table.add_column(name, justify="right")
        for split, values in metrics.items():
            table.add_row(
                split,
                *(
                    f"{values[k]:.4f}" if k != "n" else str(values[k])
                    for k in ("auc", "gini", "ks", "brier", "n")
                ),
            )
        console.print(table)
    comparison = outputs.get("model_comparison")
    if comparison is not None and len(comparison):
        table = Table(title="Candidates (validation; profit per 1,000 applications)")
        for column in ("candidate", "CV AUC", "AUC", "profit", "95 % CI"):
            table.add_column(
                column,
                justify="left" if column == "candidate" else "right",
                no_wrap=column == "candidate",
            )
        for row in comparison.to_dict("records"):
            cv = row.get("cv_auc_mean")
            auc = row.get("validation_auc")
            table.add_row(
                f"{row['name']}{' *' if row.get('selected') else ''}",
                "—" if cv != cv or cv is None else f"{cv:.4f} ± {row['cv_auc_sd']:.4f}",
                "—" if auc != auc or auc is None else f"{auc:.4f}",
                f"{row['validation_profit']:,.0f}",
                f"{row['validation_profit_low']:,.0f} to {row['validation_profit_high']:,.0f}",
            )
        console.print(table)
    impact = outputs.get("business_impact")
    if impact:
        console.print(f"Is ML worth it here? {impact['answer']}")
    if report:
        verdict = "[green]champion[/]" if report["promoted"] else "[yellow]not promoted[/]"
        console.print(
            f"Registered {report['model_name']} version {report['version']}: {verdict}"
            f" — {report['reason']}. Champion is version {report['champion_version']}."
        )


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
    _print_report(outputs)
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
    from riskloop import registry
    from riskloop.retraining.feedback import (
        FeedbackFileError,
        ingest_feedback,
        read_feedback_file,
    )
    from riskloop.retraining.policy import NotEnoughOutcomesError
    from riskloop.retraining.workflow import retrain_challenger
    from riskloop.store import PredictionStore

    settings = _settings(scenario)
    spec = _scenario(settings)
    config = _retraining_config(settings)
    registry.configure(settings.resolved_tracking_uri)
    store = PredictionStore(settings.resolved_database_url)
    try:
        if feedback is not None:
            try:
                rows = read_feedback_file(feedback)
            except FeedbackFileError as error:
                _fail(str(error), code=1)
            result = ingest_feedback(store, rows, str(feedback))
            if not result.accepted:
                _fail(result.describe() + "; the champion is unchanged", code=1)
            console.print(result.describe())
        import pandas as pd

        reference = pd.read_csv(spec.resolve_path(settings.project_dir))
        console.print("Retraining on recent outcomes …")
        try:
            outcome = retrain_challenger(
                settings.project_dir,
                settings.scenario_path,
                spec,
                store,
                reference,
                config,
                artifact_dir=settings.resolved_artifact_dir,
                trigger=trigger,
            )
        except NotEnoughOutcomesError as error:
            console.print(f"[yellow]{error}[/]")
            console.print("Retraining on the scenario's data instead (registration gate) …")
            outputs = _run_training(settings, data_dir)
            _print_report(outputs)
            return
    finally:
        store.dispose()
    _print_retrain(outcome)


def _retraining_config(settings):
    from riskloop.config import ConfigError
    from riskloop.retraining.config import load_retraining_config

    try:
        return load_retraining_config(
            settings.retraining_config_path, settings.gate_thresholds_path
        )
    except ConfigError as error:
        _fail(str(error))


def _print_retrain(outcome) -> None:
    table = Table(title=f"Holdout of {outcome.n_holdout} recent labelled applications")
    for column in ("model", "profit / 1,000", "AUC", "Brier", "DP ratio", "EO diff"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for label, figures in (
        (f"champion v{outcome.champion_version_before}", outcome.champion),
        (f"challenger v{outcome.challenger_version}", outcome.challenger),
    ):
        if figures:
            table.add_row(
                label,
                *(
                    "—" if figures.get(key) is None else f"{figures[key]:,.{digits}f}"
                    for key, digits in (
                        ("profit_per_1000", 0),
                        ("auc", 4),
                        ("brier", 4),
                        ("dp_ratio", 3),
                        ("eo_difference", 3),
                    )
                ),
            )
    console.print(table)
    console.print(
        f"Trained on {outcome.n_production} production + {outcome.n_reference} reference rows."
    )
    verdict = "[green]promoted[/]" if outcome.promoted else "[yellow]refused[/]"
    console.print(f"Challenger v{outcome.challenger_version} {verdict}: {outcome.reason}")
    console.print(f"Champion is version {outcome.champion_version_after}.")


@app.command()
def promote(
    version: Annotated[str, typer.Option(help="the version to make champion")],
    scenario: ScenarioOption = None,
    reason: Annotated[str, typer.Option(help="why (recorded in the audit table)")] = "manual",
) -> None:
    """Make a registered version the champion (the service hot-swaps to it)."""
    from mlflow.exceptions import MlflowException

    from riskloop import registry
    from riskloop.retraining.workflow import promote_version
    from riskloop.store import PredictionStore

    settings = _settings(scenario)
    name = _scenario(settings).model_name
    registry.configure(settings.resolved_tracking_uri)
    store = PredictionStore(settings.resolved_database_url)
    try:
        previous = promote_version(name, version, store, reason=f"by hand: {reason}")
    except MlflowException as error:
        _fail(f"cannot promote {name} version {version}: {error.message}")
    finally:
        store.dispose()
    console.print(f"{name}: champion is version {version} (was {previous}).")


@app.command()
def rollback(
    scenario: ScenarioOption = None,
    reason: Annotated[str, typer.Option(help="why (recorded in the audit table)")] = "manual",
) -> None:
    """Move the champion back to the version it replaced."""
    from riskloop import registry
    from riskloop.retraining.workflow import RollbackError
    from riskloop.retraining.workflow import rollback as roll_back
    from riskloop.store import PredictionStore

    settings = _settings(scenario)
    name = _scenario(settings).model_name
    registry.configure(settings.resolved_tracking_uri)
    store = PredictionStore(settings.resolved_database_url)
    try:
        version = roll_back(name, store, reason=reason)
    except RollbackError as error:
        _fail(str(error))
    finally:
        store.dispose()
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
    _print_timeline(timeline)
    if json_file is not None:
        json_file.write_text(json.dumps(timeline.to_dict(), indent=2))
        console.print(f"Timeline written to {json_file}.")
    console.print(f"Done in {time.perf_counter() - started:.1f} s.")


def _print_timeline(timeline) -> None:
    def number(value, digits=3):
        return "—" if value is None else f"{value:.{digits}f}"

    table = Table(title=f"Simulation: {timeline.drift} drift on {timeline.scenario}")
    for column in ("window", "drift", "model", "max PSI", "score PSI", "AUC", "alerts", "action"):
        numeric = column in ("max PSI", "score PSI", "AUC")
        table.add_column(column, justify="right" if numeric else "left")
    for w in timeline.windows:
        action = ""
        if w["retrained"]:
            failed = ", ".join(w["failed_gates"])
            action = "[green]promoted[/]" if w["promoted"] else f"[yellow]refused[/]: {failed}"
        elif w["gate"]:
            action = "no retrain: too few outcomes"
        table.add_row(
            str(w["window"]),
            str(w["drift_strength"]),
            f"v{w['model_version']}",
            number(w["max_feature_psi"]),
            number(w["prediction_psi"]),
            number(w.get("realised_auc")),
            ", ".join(w["alerts"]) or "",
            action,
        )
    console.print(table)
    for retrain in timeline.retrains:
        verdict = "promoted" if retrain["promoted"] else "refused"
        console.print(
            f"Window {retrain['window']}: challenger v{retrain['challenger_version']} {verdict}"
            f" — {retrain['reason']}",
            highlight=False,
        )
    console.print(
        f"Drift onset: window {timeline.onset_window}; first alert: {timeline.first_alert_window};"
        f" retrains: {timeline.retrain_windows or 'none'}; promotions:"
        f" {timeline.promoted_windows or 'none'}."
    )
    console.print(
        f"Realised AUC on post-shift rows: old champion {number(timeline.auc_before)},"
        f" promoted model {number(timeline.auc_after)} (n = {timeline.n_after_rows})."
    )


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


def _monitor_once(settings, scenario, monitor_config, api_url: str | None, quiet_empty: bool):
    """One monitor run with its printout; False when there was nothing to measure."""
    from riskloop import registry
    from riskloop.monitoring.drift import EmptyPredictionLogError, feature_drift
    from riskloop.monitoring.monitor import run_monitor, scrape_service_health
    from riskloop.store import PredictionStore

    model_name = scenario.model_name
    registry.configure(settings.resolved_tracking_uri)
    champion = registry.load_champion(model_name)
    if champion is None:
        _fail(f"no champion registered for {model_name!r}: run `riskloop run` first")
    scorer, info = champion
    health = None
    if api_url:
        import httpx

        try:
            health = scrape_service_health(httpx.get(f"{api_url}/metrics", timeout=10).text)
        except httpx.HTTPError as error:
            err.print(f"[yellow]could not read {api_url}/metrics ({error}); no service health[/]")
    store = PredictionStore(settings.resolved_database_url)
    try:
        result = run_monitor(
            store, scorer, model_name, info.version, monitor_config,
            scenario=scenario, service_health=health,
        )  # fmt: skip
    except EmptyPredictionLogError as error:
        logged = store.count()
        if logged == 0:
            store.dispose()
            (console.print if quiet_empty else err.print)(f"[yellow]{error}[/]", highlight=False)
            return False
        # Too few rows for a first window: still show drift over everything logged so far.
        drift = feature_drift(scorer, store)
        store.dispose()
        _print_drift_table(
            drift,
            f"Drift vs training data — {model_name} v{info.version},"
            f" all {logged} logged applications",
            logged,
        )
        console.print(
            f"[yellow]{error}: windowed metrics and alert rules start then.[/]", highlight=False
        )
        return True
    store.dispose()
    latest = result.windows[-1]
    _print_drift_table(
        result.drift,
        f"Drift vs training data — {model_name} v{info.version},"
        f" window {latest['window_id']}, n={latest['n']}",
        latest["n"],
    )
    _print_windows(result.windows)
    for outcome in result.outcomes:
        style = "bold red" if outcome.fired else "green"
        console.print(f"[{style}]{outcome.describe()}[/]", highlight=False)
    return True


def _print_drift_table(table, title: str, n: int) -> None:
    from riskloop.evaluation.drift import MIN_ROWS_FOR_PSI

    out = Table(title=title)
    for name, justify in (
        ("feature", "left"),
        ("PSI", "right"),
        ("status", "left"),
        ("test", "left"),
        ("statistic", "right"),
        ("p-value", "right"),
        ("n ref", "right"),
    ):
        out.add_column(name, justify=justify)
    colour = {"stable": "green", "watch": "yellow", "act": "red"}
    for row in table.itertuples():
        out.add_row(
            row.feature,
            f"{row.psi:.4f}",
            f"[{colour[row.status]}]{row.status}[/]",
            row.test,
            f"{row.statistic:.4f}",
            f"{row.p_value:.3g}",
            str(row.n_reference),
        )
    console.print(out)
    console.print("PSI < 0.10 stable, 0.10–0.25 watch, > 0.25 act.")
    if n < MIN_ROWS_FOR_PSI:
        console.print(
            f"[yellow]Only {n} logged applications: PSI is noisy below"
            f" {MIN_ROWS_FOR_PSI}; read these figures as a smoke test, not a verdict.[/]"
        )


# the window metrics the monitor prints, with their column titles
_WINDOW_COLUMNS = (
    ("n", "n"),
    ("max_feature_psi", "max PSI"),
    ("prediction_psi", "score PSI"),
    ("approval_rate", "approved"),
    ("expected_auc", "exp. AUC"),
    ("n_labelled", "labelled"),
    ("realised_auc", "AUC"),
    ("realised_ks", "KS"),
    ("realised_brier", "Brier"),
    ("expected_bad_rate", "exp. bad|appr."),
    ("bad_rate_approved", "bad|appr."),
    ("latency_p95_ms", "p95 ms"),
)


def _print_windows(windows: list[dict]) -> None:
    out = Table(title="Windows (realised figures by decision window; — = not enough outcomes)")
    out.add_column("window", no_wrap=True)
    for _, title in _WINDOW_COLUMNS:
        out.add_column(title, justify="right")

    def cell(value) -> str:
        if value is None:
            return "—"
        return str(int(value)) if float(value).is_integer() and abs(value) >= 1 else f"{value:.3f}"

    for window in windows:
        out.add_row(
            window["window_id"].rsplit(":", 1)[-1],
            *(cell(window.get(key)) for key, _ in _WINDOW_COLUMNS),
        )
    console.print(out)


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
