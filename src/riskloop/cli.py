"""``riskloop`` command line: a thin Typer layer over the package.

riskloop run       train, evaluate and register (the Kedro pipeline)
riskloop serve     the scoring API (``--ui`` starts the UI too)
riskloop ui        the Streamlit UI
riskloop monitor   drift of logged applications against the training data
riskloop retrain   train again; the champion changes only if the new model is better
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
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
            read_back=["metrics", "registration_report"] if pipeline is None else [],
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
    from riskloop.serving.app import create_app
    from riskloop.serving.loading import load_registered_model
    from riskloop.serving.model_holder import ModelHolder
    from riskloop.store import PredictionStore

    settings = _settings(scenario)
    settings.api_host = host or settings.api_host
    settings.api_port = port or settings.api_port
    model_name = _scenario(settings).model_name
    registry.configure(settings.resolved_tracking_uri)
    settings.path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    store = PredictionStore(settings.resolved_database_url)
    application = create_app(
        ModelHolder(), store, load_model=lambda: load_registered_model(model_name)
    )
    ui_process = None
    api_url = f"http://{settings.api_host}:{settings.api_port}"
    if ui:
        ui_process = _start_ui(ui_port or settings.ui_port, settings.api_url or api_url)
    console.print(f"API:  {api_url}  (docs: {api_url}/docs)")
    if ui_process:
        console.print(f"UI:   http://127.0.0.1:{ui_port or settings.ui_port}")
    console.print(f"Prediction log: {settings.resolved_database_url}")
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
    out.add_column("feature")
    out.add_column("PSI", justify="right")
    out.add_column("status")
    colour = {"stable": "green", "watch": "yellow", "act": "red"}
    for row in table.itertuples():
        out.add_row(row.feature, f"{row.psi:.4f}", f"[{colour[row.status]}]{row.status}[/]")
    console.print(out)
    console.print("PSI < 0.10 stable, 0.10–0.25 watch, > 0.25 act.")
    if len(table) and table["n"][0] < MIN_ROWS_FOR_PSI:
        console.print(
            f"[yellow]Only {table['n'][0]} logged applications: PSI is noisy below"
            f" {MIN_ROWS_FOR_PSI}; read these figures as a smoke test, not a verdict.[/]"
        )
