"""``riskloop`` command line: a thin Typer layer over the package.

riskloop run       train, evaluate and register (the Kedro pipeline)
riskloop serve     the scoring API (``--ui`` starts the UI too)
riskloop ui        the Streamlit UI
riskloop monitor   drift of logged applications against the training data
riskloop retrain   train again; the champion changes only if the new model is better
riskloop db        schema migrations of the prediction store (Alembic)
riskloop deploy    copy the compose stack to a machine over SSH and start it
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
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
    from riskloop.data.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(settings.scenario_path)
    except ScenarioError as error:
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
    from riskloop.data.scenario import ScenarioError
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
    except (DataValidationError, ScenarioError) as error:
        _fail(str(error))
    except Exception as error:  # Kedro wraps dataset errors; find ours inside
        cause = error
        while cause is not None and not isinstance(cause, DataValidationError | ScenarioError):
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
def retrain(scenario: ScenarioOption = None, data_dir: DataDirOption = None) -> None:
    """Train a new model; it becomes champion only if it beats the current one on validation."""
    settings = _settings(scenario)
    _scenario(settings)
    console.print("Retraining …")
    outputs = _run_training(settings, data_dir)
    _print_report(outputs)
    report = outputs["registration_report"]
    if not report["promoted"]:
        console.print(f"Champion unchanged: still version {report['champion_version']}.")


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
        config=ServiceConfig(
            admin_token=token or None,
            max_body_bytes=settings.max_body_bytes,
            max_batch_rows=settings.max_batch_rows,
            reload_interval_s=settings.reload_interval_s,
            log_max_batch_rows=settings.log_max_batch_rows,
            log_linger_ms=settings.log_linger_ms,
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
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
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
    window: Annotated[
        int | None, typer.Option(help="compare only the newest N logged applications")
    ] = None,
    scenario: ScenarioOption = None,
) -> None:
    """Population stability index per feature: logged applications vs training data."""
    from riskloop import registry
    from riskloop.evaluation.drift import MIN_ROWS_FOR_PSI
    from riskloop.monitoring.drift import EmptyPredictionLogError, feature_drift
    from riskloop.store import PredictionStore

    settings = _settings(scenario)
    model_name = _scenario(settings).model_name
    registry.configure(settings.resolved_tracking_uri)
    champion = registry.load_champion(model_name)
    if champion is None:
        _fail(f"no champion registered for {model_name!r}: run `riskloop run` first")
    scorer, info = champion
    store = PredictionStore(settings.resolved_database_url)
    try:
        table = feature_drift(scorer, store, window)
    except EmptyPredictionLogError as error:
        _fail(str(error), code=1)
    finally:
        store.dispose()
    out = Table(title=f"Drift vs training data — {model_name} v{info.version}, n={table['n'][0]}")
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
    if len(table) and table["n"][0] < MIN_ROWS_FOR_PSI:
        console.print(
            f"[yellow]Only {table['n'][0]} logged applications: PSI is noisy below"
            f" {MIN_ROWS_FOR_PSI}; read these figures as a smoke test, not a verdict.[/]"
        )


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
