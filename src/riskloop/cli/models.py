"""The model lifecycle commands: ``run`` (train and register), ``retrain``, ``promote`` and
``rollback``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from riskloop.cli import render
from riskloop.cli.common import (
    REPORT_OUTPUTS,
    DataDirOption,
    ScenarioOption,
    build_settings,
    clear_pipeline_errors,
    cli_actor,
    fail,
    load_retraining_config_or_fail,
    load_scenario_or_fail,
    loop_store,
    run_training,
)
from riskloop.cli.render import console


def run(
    scenario: ScenarioOption = None,
    data_dir: DataDirOption = None,
    pipeline: Annotated[
        str | None, typer.Option(help="one pipeline: data_processing, training, ...")
    ] = None,
) -> None:
    """Validate the data, train, evaluate and register a model (the Kedro pipeline)."""
    settings = build_settings(scenario)
    load_scenario_or_fail(settings)
    started = time.perf_counter()
    console.print(f"Running the pipeline on scenario {settings.scenario_path} …")
    outputs = run_training(settings, data_dir, pipeline)
    render.print_report(outputs)
    console.print(f"Done in {time.perf_counter() - started:.1f} s.")


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

    settings = build_settings(scenario)
    spec = load_scenario_or_fail(settings)
    config = load_retraining_config_or_fail(settings)
    with loop_store(settings) as store:
        if feedback is not None:
            try:
                rows = read_feedback_file(feedback)
            except FeedbackFileError as error:
                fail(str(error), code=1)
            result = ingest_feedback(store, rows, str(feedback), checks=config.label_checks)
            if not result.accepted:
                fail(result.describe() + "; the champion is unchanged", code=1)
            console.print(result.describe())
        # the last `riskloop run`'s split: its training rows are the reference history, its
        # untouched test rows the trusted evaluation set (labels verified once)
        model_input = (data_dir.resolve() if data_dir else settings.project_dir / "data") / (
            "05_model_input"
        )
        trusted = None
        if (model_input / "train.parquet").is_file() and (model_input / "test.parquet").is_file():
            reference = pd.read_parquet(model_input / "train.parquet")
            trusted = pd.read_parquet(model_input / "test.parquet")
        else:
            reference = pd.read_csv(spec.resolve_path(settings.project_dir))
            console.print(
                f"[yellow]No split in {model_input} (run `riskloop run` first): the challenger is"
                " judged without trusted evaluation rows.[/]"
            )
        console.print("Retraining on recent outcomes …")
        with clear_pipeline_errors():
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
                trusted=trusted,
            )
    if isinstance(outcome, RetrainResult):
        render.print_retrain(outcome)
    else:
        render.print_report(outcome.outputs)


def promote(
    version: Annotated[str, typer.Option(help="the version to make champion")],
    scenario: ScenarioOption = None,
    reason: Annotated[str, typer.Option(help="why (recorded in the audit table)")] = "manual",
) -> None:
    """Make a registered version the champion (the service hot-swaps to it)."""
    from riskloop.registry import RegistryError
    from riskloop.retraining.workflow import promote_version

    settings = build_settings(scenario)
    name = load_scenario_or_fail(settings).model_name
    with loop_store(settings) as store:
        try:
            previous = promote_version(
                name, version, store, reason=f"by hand: {reason}", actor=cli_actor()
            )
        except RegistryError as error:
            fail(f"cannot promote {name} version {version}: {error}")
    console.print(f"{name}: champion is version {version} (was {previous}).")


def rollback(
    scenario: ScenarioOption = None,
    reason: Annotated[str, typer.Option(help="why (recorded in the audit table)")] = "manual",
) -> None:
    """Move the champion back to the version it replaced."""
    from riskloop.retraining.workflow import RollbackError
    from riskloop.retraining.workflow import rollback as roll_back

    settings = build_settings(scenario)
    name = load_scenario_or_fail(settings).model_name
    with loop_store(settings) as store:
        try:
            version = roll_back(name, store, reason=reason, actor=cli_actor())
        except RollbackError as error:
            fail(str(error))
    console.print(f"{name}: rolled back; champion is version {version}.")
