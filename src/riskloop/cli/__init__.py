"""``riskloop`` command line: a thin Typer layer over the package.

riskloop run       train, evaluate and register (the Kedro pipeline)
riskloop serve     the scoring API (``--ui`` starts the UI too)
riskloop ui        the Streamlit UI
riskloop monitor   drift, performance, fairness per window; alert rules (--every 5m: loop)
riskloop retrain   train a challenger on recent outcomes; gates decide whether it is champion
riskloop promote   make a version the champion;  riskloop rollback: back to the one before
riskloop simulate  replay held-out applicants with injected drift through the whole loop
riskloop feedback  quarantined outcome batches: list, check, release (a person decides)
riskloop db        schema migrations of the prediction store (Alembic)
riskloop keys      API keys: create (printed once), list, revoke
riskloop privacy   applicants' personal data: retention purge, access export, erasure
riskloop signing   model-signing keys: keygen; verify a registered version
riskloop deploy    copy the compose stack to a machine over SSH and start it
"""

from __future__ import annotations

import os
import warnings

import click
import typer

from riskloop.cli import (
    feedback,
    keys,
    models,
    monitor_loop,
    operations,
    privacy,
    service,
    signing,
    simulation,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

# Kedro's own CLI (`kedro run --pipeline eda`) imports `<package>.cli` and requires a click group
# named `cli` there for project commands; riskloop adds none, so Kedro's `run` stays Kedro's.
cli = click.Group(help="riskloop adds no Kedro commands; see the `riskloop` command.")


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


for command in (
    models.run,
    models.retrain,
    models.promote,
    models.rollback,
    simulation.simulate,
    service.serve,
    service.ui,
    monitor_loop.monitor,
):
    app.command()(command)
app.add_typer(operations.db_app, name="db")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(signing.signing_app, name="signing")
app.add_typer(feedback.feedback_app, name="feedback")
app.add_typer(privacy.privacy_app, name="privacy")
app.command()(operations.deploy)
