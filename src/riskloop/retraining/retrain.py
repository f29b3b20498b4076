"""Re-run the training loop on the scenario's current data; the champion moves only if the new
model passes the promotion gate on validation (see
:func:`riskloop.evaluation.gates.promotion_gate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskloop.pipelines.runner import run_pipeline


def retrain(
    project_dir: Path,
    scenario_file: Path | None = None,
    data_dir: Path | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train, evaluate and register a new model; returns the registration report."""
    outputs = run_pipeline(
        project_dir,
        scenario_file=scenario_file,
        data_dir=data_dir,
        read_back=["registration_report"],
        params=params,
    )
    return outputs["registration_report"]
