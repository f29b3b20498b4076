"""``riskloop simulate``: the drift simulator through the whole loop, and its timeline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from riskloop.cli import render
from riskloop.cli.common import (
    ScenarioOption,
    build_settings,
    fail,
    load_retraining_config_or_fail,
    load_scenario_or_fail,
)
from riskloop.cli.render import console


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
    attack: Annotated[
        str | None,
        typer.Option(
            help="flip, all-good or segment: the outcomes sent from the drift onset on are lies,"
            " and the adversary asks for a retrain at the end"
        ),
    ] = None,
) -> None:
    """Replay held-out applicants through a live service with injected drift: monitor,
    retrain, gate, promote — and print the timeline (docs/retraining.md)."""
    import json

    from riskloop.config import ConfigError
    from riskloop.data.synthetic_drift import DriftConfigError
    from riskloop.monitoring.config import load_monitor_config
    from riskloop.retraining.simulator import ATTACKS
    from riskloop.retraining.simulator import simulate as run_simulation

    if attack is not None and attack not in ATTACKS:
        fail(f"--attack must be one of {', '.join(ATTACKS)}; received {attack!r}")

    settings = build_settings(scenario)
    spec = load_scenario_or_fail(settings)
    config = load_retraining_config_or_fail(settings)
    try:
        monitor_config = load_monitor_config(settings.monitoring_config_path)
    except ConfigError as error:
        fail(str(error))
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
            attack=attack,
        )
    except DriftConfigError as error:
        fail(str(error))
    render.print_timeline(timeline)
    if json_file is not None:
        json_file.write_text(json.dumps(timeline.to_dict(), indent=2))
        console.print(f"Timeline written to {json_file}.")
    console.print(f"Done in {time.perf_counter() - started:.1f} s.")
