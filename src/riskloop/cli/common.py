"""What every ``riskloop`` command shares: the settings, the scenario, errors for people, the
registry and prediction store opened for one command, and pipeline runs without tracebacks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from riskloop.cli.render import err

if TYPE_CHECKING:  # the commands import the package lazily: `riskloop --help` stays fast
    from riskloop.data.scenario import Scenario
    from riskloop.retraining.config import RetrainingConfig
    from riskloop.settings import Settings
    from riskloop.store import PredictionStore

ScenarioOption = Annotated[
    Path | None,
    typer.Option("--scenario", help="scenario YAML (default conf/base/scenarios/credit.yml)"),
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="folder for produced data (default data/)")
]


def build_settings(scenario: Path | None = None) -> Settings:
    """The settings (environment over ``conf/``), with ``--scenario`` when it was given."""
    from pydantic import ValidationError

    from riskloop.settings import Settings

    try:
        settings = Settings()
    except ValidationError as error:  # say which setting and why, never echo a secret's value
        problems = [(e["loc"], e["msg"].removeprefix("Value error, ")) for e in error.errors()]
        fail("; ".join(f"{loc[0] if loc else 'settings'}: {msg}" for loc, msg in problems))
    if scenario is not None:
        settings.scenario_file = scenario.resolve()
    return settings


def cli_actor() -> str:
    """Who runs the command, as audit events record it: ``cli:<os user>``."""
    import getpass

    return f"cli:{getpass.getuser()}"


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` as an error (no traceback) and end the command with exit ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def load_scenario_or_fail(settings: Settings) -> Scenario:
    """The settings' scenario; a broken scenario file ends the command with its message."""
    from riskloop.config import ConfigError
    from riskloop.data.scenario import load_scenario

    try:
        return load_scenario(settings.scenario_path)
    except ConfigError as error:
        fail(str(error))


def load_retraining_config_or_fail(settings: Settings) -> RetrainingConfig:
    """``retraining.yml`` and the promotion gate; a broken file ends the command."""
    from riskloop.config import ConfigError
    from riskloop.retraining.config import load_retraining_config

    try:
        return load_retraining_config(
            settings.retraining_config_path, settings.gate_thresholds_path
        )
    except ConfigError as error:
        fail(str(error))


# what `riskloop run` (and a retrain on the scenario's data) reads back to print its report
REPORT_OUTPUTS = ("metrics", "registration_report", "model_comparison", "business_impact")


@contextmanager
def clear_pipeline_errors() -> Iterator[None]:
    """Data and configuration problems of a pipeline run (a signing key that cannot be used
    included) as one clear message, no traceback."""
    from riskloop.config import ConfigError
    from riskloop.data.schema import DataValidationError
    from riskloop.provenance import KeyFileError

    clear = (DataValidationError, ConfigError, KeyFileError)
    try:
        yield
    except clear as error:
        fail(str(error))
    except Exception as error:  # Kedro wraps dataset errors; find ours inside
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, clear):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        fail(str(cause))


def run_training(
    settings: Settings, data_dir: Path | None, pipeline: str | None = None
) -> dict[str, Any]:
    """Run the pipeline, turning data and scenario problems into one clear message."""
    from riskloop.pipelines.runner import run_pipeline

    with clear_pipeline_errors():
        return run_pipeline(
            settings.project_dir,
            pipeline,
            scenario_file=settings.scenario_path,
            data_dir=data_dir.resolve() if data_dir else None,
            read_back=REPORT_OUTPUTS if pipeline is None else (),
        )


@contextmanager
def loop_store(settings: Settings, **options: Any) -> Iterator[PredictionStore]:
    """The registry pointed at the settings' tracking URI and the prediction store open for the
    block; the store is closed when the block ends, also when it fails."""
    from riskloop import registry
    from riskloop.store import PredictionStore

    registry.configure(settings.resolved_tracking_uri)
    registry.configure_trust(settings.model_trust())
    store = PredictionStore(settings.resolved_database_url, **options)
    try:
        yield store
    finally:
        store.dispose()
