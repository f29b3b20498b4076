"""``riskloop feedback``: outcomes held back as implausible, and a person's release of them.

riskloop feedback list                          quarantined batches with their evidence
riskloop feedback check                         check the outcomes that came through the API
riskloop feedback release --batch B [--reason]  a person vouches for a batch: it counts
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from riskloop.cli.common import (
    ScenarioOption,
    build_settings,
    fail,
    load_retraining_config_or_fail,
    loop_store,
)
from riskloop.cli.render import console

feedback_app = typer.Typer(
    no_args_is_help=True,
    help="Feedback batches held back by the label checks, and their release by a person.",
)


def _test_lines(evidence: dict[str, Any] | None) -> list[str]:
    lines = []
    for test in (evidence or {}).get("tests", []):
        verdict = "ok" if test["passed"] else "FAILED"
        lines.append(
            f"    {verdict:6} {test['segment']}: n={test['n']} observed bad rate"
            f" {test['observed_bad_rate']:.3f} vs expected {test['expected_bad_rate']:.3f},"
            f" z={test['z']:.1f}, p={test['p_value']:.2g} (alpha {test['alpha']:.2g})"
        )
    return lines


@feedback_app.command("list")
def list_batches(
    scenario: ScenarioOption = None,
    all_batches: Annotated[bool, typer.Option("--all", help="released batches too")] = False,
) -> None:
    """Quarantined feedback batches with their reasons and the numbers of each label check."""
    from riskloop.store import RetrainingStore

    settings = build_settings(scenario)
    with loop_store(settings) as store:
        batches = RetrainingStore(store.engine).quarantined()
    shown = [b for b in batches if all_batches or b["released_at"] is None]
    if not shown:
        console.print("No quarantined feedback batches.")
        return
    for batch in shown:
        state = (
            f"released {batch['released_at']:%Y-%m-%d %H:%M} by {batch['released_by']}:"
            f" {batch['release_reason']}"
            if batch["released_at"] is not None
            else "awaiting a person"
        )
        console.print(
            f"[bold]batch {batch['id']}[/] {batch['source']} — {batch['n_rows']} rows,"
            f" received {batch['received_at']:%Y-%m-%d %H:%M}; {state}",
            highlight=False,
        )
        for reason in batch["reason"]:
            console.print(f"  {reason}", highlight=False, soft_wrap=True)
        for line in _test_lines(batch.get("evidence")):
            console.print(line, highlight=False)


@feedback_app.command("check")
def check(scenario: ScenarioOption = None) -> None:
    """Check the outcomes that came through POST /v1/feedback and are not yet checked (a
    retrain does this first, too)."""
    from riskloop.retraining.feedback import check_pending_outcomes

    settings = build_settings(scenario)
    config = load_retraining_config_or_fail(settings)
    with loop_store(settings) as store:
        results = check_pending_outcomes(store, config.label_checks)
    if not results:
        console.print(
            f"Nothing to check (sources with fewer than {config.label_checks.min_rows}"
            " unchecked outcomes wait for more)."
        )
    for result in results:
        console.print(result.describe(), highlight=False, soft_wrap=True)
    if any(not r.accepted for r in results):
        raise typer.Exit(1)


@feedback_app.command("release")
def release(
    batch: Annotated[int, typer.Option("--batch", help="the quarantined batch's number")],
    reason: Annotated[
        str, typer.Option(help="why these outcomes can be trusted (recorded)")
    ] = "released by hand",
    scenario: ScenarioOption = None,
) -> None:
    """Release a quarantined batch: a person vouches for its outcomes, which then train and
    judge models like any checked outcome. Recorded with who and why."""
    from riskloop.retraining.feedback import ReleaseError, release_batch

    settings = build_settings(scenario)
    with loop_store(settings) as store:
        try:
            n_released = release_batch(store, batch, f"cli:{getpass.getuser()}", reason)
        except ReleaseError as error:
            fail(str(error), code=1)
    console.print(f"Released batch {batch}: {n_released} outcomes count from now on.")
