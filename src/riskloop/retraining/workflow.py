"""The retraining workflow: train a challenger on recent outcomes, judge it against the
champion on the same recent holdout, promote it or refuse it with the failing gate's numbers.

Steps of :func:`retrain_challenger` (each one an audit event and part of an MLflow run):

1. build the training set and the holdout (:mod:`riskloop.retraining.policy`);
2. write them as a scenario (a copy of the scenario whose data file is the new training set)
   and run the project's Kedro pipeline on it — the same model selection as ``riskloop run``
   — with registration parameter ``promote: false``, so the champion does not move;
3. set the alias ``challenger`` on the new version;
4. compare the two models (:mod:`riskloop.retraining.comparison`) through the gates of
   :func:`riskloop.evaluation.gates.promotion_gate`: profit (the scenario's costs), AUC
   tolerance, calibration (Brier), fairness bounds;
5. promote (:func:`promote_version`) or refuse.

Consistency when the process is killed: the champion alias is moved by ONE registry write,
after everything else (the version, its ``previous_champion`` tag, the gate's verdict) is
recorded. Killed before that write, the old champion serves and the new version is only a
``challenger``; killed after it, the new champion serves and a ``promotion_started`` event
without its ``promoted`` event says the journal was cut short, not the registry.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from riskloop import registry
from riskloop.data.scenario import Scenario
from riskloop.evaluation.gates import ModelEvidence
from riskloop.retraining.comparison import ScoresApplications, compare
from riskloop.retraining.config import RetrainingConfig
from riskloop.retraining.feedback import check_pending_outcomes
from riskloop.retraining.policy import NotEnoughOutcomesError, TrainingData, build_training_data
from riskloop.retraining.recovery import (
    RETRAIN_FINISHED,
    RETRAIN_STARTED,
    recover_interrupted,
)
from riskloop.store import MonitoringStore, PredictionStore

log = logging.getLogger(__name__)

CHALLENGER = "challenger"
# under the project's data folder: one folder per retrain for its training set, then removed
RETRAIN_FOLDER = "09_retraining"
PREVIOUS_CHAMPION_TAG = "previous_champion"


class RollbackError(RuntimeError):
    """There is no former champion to go back to."""


@dataclass
class RetrainResult:
    """What one retrain did; ``promoted`` False with ``failures`` naming each failed gate."""

    model_name: str
    challenger_version: str | None
    champion_version_before: str | None
    champion_version_after: str | None
    promoted: bool
    reason: str
    failures: list[str] = field(default_factory=list)
    challenger: dict[str, Any] | None = None
    champion: dict[str, Any] | None = None
    n_reference: int = 0
    n_production: int = 0
    n_holdout: int = 0
    # where the two models were compared: "shadow" (the challenger's live shadow scores and the
    # champion's logged ones) or "offline_holdout" (both models score the recent holdout)
    comparison: str = "offline_holdout"
    n_compared: int = 0
    # the judge's paired bootstrap intervals (challenger − champion): name -> estimate, low,
    # high, level, n_resamples (riskloop.evaluation.judge)
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)


# --------------------------------------------------------------------------- training
def train_challenger(
    project_dir: Path,
    scenario_file: Path,
    scenario: Scenario,
    data: TrainingData,
    work_dir: Path,
    params: dict[str, Any],
) -> str:
    """Run the pipeline on ``data.train`` (a scenario copy pointing at it), registering without
    promoting; returns the new version."""
    from riskloop.pipelines.runner import run_pipeline

    work_dir.mkdir(parents=True, exist_ok=True)
    training_csv = work_dir / "training.csv"
    data.train.to_csv(training_csv, index=False)
    raw = yaml.safe_load(scenario_file.read_text())
    raw["data"]["path"] = str(training_csv.resolve())
    training_scenario = work_dir / "scenario.yml"
    training_scenario.write_text(yaml.safe_dump(raw, sort_keys=False))
    merged = {**params, "registration": {**params.get("registration", {}), "promote": False}}
    outputs = run_pipeline(
        project_dir,
        scenario_file=training_scenario,
        data_dir=work_dir / "data",
        params=merged,
        read_back=["registration_report"],
    )
    return str(outputs["registration_report"]["version"])


def _evidence_dict(evidence: ModelEvidence | None) -> dict[str, Any] | None:
    return None if evidence is None else asdict(evidence)


def _log_to_mlflow(result: RetrainResult, experiment: str, artifact_dir: Path) -> None:
    """One MLflow run per decision: both models' holdout figures, the verdict, the sizes."""
    figures: dict[str, float] = {
        "n_reference": result.n_reference,
        "n_production": result.n_production,
        "n_holdout": result.n_holdout,
    }
    for side in ("challenger", "champion"):
        for key, value in (getattr(result, side) or {}).items():
            if value is not None:
                figures[f"holdout_{side}_{key}"] = float(value)
    for name, interval in result.intervals.items():
        for bound in ("estimate", "low", "high"):
            if interval[bound] is not None:
                figures[f"{name}_{bound}"] = float(interval[bound])
    tags = {
        "kind": "retrain_decision",
        "challenger_version": str(result.challenger_version),
        "champion_version_before": str(result.champion_version_before),
        "promoted": str(result.promoted),
        "reason": result.reason[:5000],
    }
    registry.log_decision_run(experiment, artifact_dir, "retrain-decision", tags, figures)
    if result.challenger_version is not None:
        verdict = {
            "holdout_auc": (result.challenger or {}).get("auc"),
            "holdout_profit_per_1000": (result.challenger or {}).get("profit_per_1000"),
            "gate_decision": "promoted" if result.promoted else "refused",
            "gate_reason": result.reason[:5000],
            "gate_intervals": json.dumps(result.intervals)[:5000],
        }
        registry.set_version_tags(
            result.model_name,
            result.challenger_version,
            {key: str(value) for key, value in verdict.items()},
        )


def retrain_challenger(
    project_dir: Path,
    scenario_file: Path,
    scenario: Scenario,
    store: PredictionStore,
    reference: pd.DataFrame,
    config: RetrainingConfig,
    *,
    artifact_dir: Path,
    work_dir: Path | None = None,
    data_dir: Path | None = None,
    trigger: str = "manual",
    train: Callable[[TrainingData, Path], str] | None = None,
    load_challenger: Callable[[str], ScoresApplications] | None = None,
    on_promoted: Callable[[str], None] | None = None,
    trusted: pd.DataFrame | None = None,
) -> RetrainResult:
    """The whole workflow (module docstring). Returns what it decided.

    Parameters
    ----------
    project_dir, scenario_file, scenario : the project and the scenario being served.
    store : PredictionStore
        Labelled production rows come from it; audit events go to it.
    reference : DataFrame
        The scenario's data file (the reference rows of the policy).
    config : RetrainingConfig
        Policy, gates and the challenger's training parameters.
    artifact_dir : Path
        Artifact folder of the MLflow experiment, if it has to be created.
    work_dir : Path, optional
        Where the training set and the pipeline's outputs go, kept afterwards. None: a folder
        of its own under ``data_dir/09_retraining``, removed when the retrain ends (and by the
        next retrain if this one is killed: :mod:`riskloop.retraining.recovery`).
    data_dir : Path, optional
        The project's data folder (default ``project_dir / "data"``).
    trigger : str
        Why this retrain runs (a trigger name, or "manual"); recorded.
    train, load_challenger : callables, optional
        Replace the pipeline run / the registry load (tests inject a deliberately unfair model).
    on_promoted : callable, optional
        Called with the new champion version (the simulator reloads its service).
    trusted : DataFrame, optional
        Trusted evaluation rows (data-file rows whose labels were verified once, never in the
        challenger's training set): the challenger may not be confidently worse than the
        champion there (:mod:`riskloop.evaluation.judge`).

    Raises
    ------
    NotEnoughOutcomesError
        When there are too few labelled rows for a holdout (nothing is trained).
    """
    audit = MonitoringStore(store.engine)
    name = scenario.model_name
    for repair in recover_interrupted(audit, name, scenario.name):
        log.warning(repair)
    check_pending_outcomes(store, config.label_checks)  # only checked outcomes train or judge
    data = build_training_data(store, reference, scenario, config.policy)
    current = registry.version_for_alias(name, registry.CHAMPION)
    retrain_id = uuid.uuid4().hex
    # applicants' data: in the project's own data folder (not the system's temp directory),
    # removed when the retrain ends, and by the next retrain's recovery if this one is killed
    folder = work_dir or (data_dir or project_dir / "data") / RETRAIN_FOLDER / retrain_id
    audit.record_audit_event(
        RETRAIN_STARTED,
        {
            "model_name": name,
            "retrain_id": retrain_id,
            "work_dir": str(folder),
            "owns_work_dir": work_dir is None,
            "trigger": trigger,
            "champion_version": None if current is None else current.version,
            "n_reference": data.n_reference,
            "n_production": data.n_production,
            "n_holdout": len(data.holdout),
        },
    )
    try:
        if train is None:
            version = train_challenger(
                project_dir, scenario_file, scenario, data, folder, config.training
            )
        else:
            version = train(data, folder)
    finally:
        if work_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    registry.set_alias(name, version, CHALLENGER)
    audit.record_audit_event(
        "challenger_registered", {"model_name": name, "version": version, "trigger": trigger}
    )
    challenger = (load_challenger or (lambda v: registry.load_scorer(name, v)))(version)
    champion = None if current is None else registry.load_scorer(name, current.version)
    decision, challenger_evidence, champion_evidence, comparison, n_compared = compare(
        challenger,
        champion,
        version,
        data.holdout,
        store,
        reference,
        scenario,
        config,
        champion_version=None if current is None else current.version,
        trusted=trusted,
    )
    result = RetrainResult(
        model_name=name,
        challenger_version=version,
        champion_version_before=None if current is None else current.version,
        champion_version_after=None if current is None else current.version,
        promoted=False,
        reason=decision.reason,
        failures=decision.failures,
        challenger=_evidence_dict(challenger_evidence),
        champion=_evidence_dict(champion_evidence),
        n_reference=data.n_reference,
        n_production=data.n_production,
        n_holdout=len(data.holdout),
        comparison=comparison,
        intervals=decision.intervals,
        n_compared=n_compared,
    )
    audit.record_audit_event(
        "gate",
        {
            "model_name": name,
            "challenger_version": version,
            "champion_version": result.champion_version_before,
            "promote": decision.promote,
            "reason": decision.reason,
            "failures": decision.failures,
            "challenger": result.challenger,
            "champion": result.champion,
            "n_holdout": result.n_holdout,
            "comparison": comparison,
            "n_compared": n_compared,
            "intervals": decision.intervals,
        },
    )
    result.promoted = decision.promote
    _log_to_mlflow(result, scenario.name, artifact_dir)
    if decision.promote:
        promote_version(name, version, store, reason=decision.reason)
        result.champion_version_after = version
        if on_promoted is not None:
            on_promoted(version)
    audit.record_audit_event(
        RETRAIN_FINISHED,
        {"model_name": name, "retrain_id": retrain_id, "challenger_version": version,
         "promoted": result.promoted},
    )  # fmt: skip
    return result


@dataclass
class ScenarioRetrain:
    """A retrain on the scenario's own data, run when there are too few outcomes to judge a
    challenger: the training pipeline's registration gate decided whether it is champion.

    Attributes
    ----------
    reason : str
        Why recent outcomes could not be used (how many there are, how many the policy needs).
    outputs : dict
        The pipeline's datasets named in ``read_back`` (e.g. ``registration_report``).
    """

    reason: str
    outputs: dict[str, Any]


def retrain(
    project_dir: Path,
    scenario_file: Path,
    scenario: Scenario,
    store: PredictionStore,
    reference: pd.DataFrame,
    config: RetrainingConfig,
    *,
    artifact_dir: Path,
    data_dir: Path | None = None,
    trigger: str = "manual",
    read_back: Sequence[str] = (),
    on_fallback: Callable[[str], None] | None = None,
    trusted: pd.DataFrame | None = None,
) -> RetrainResult | ScenarioRetrain:
    """Retrain on recent outcomes (:func:`retrain_challenger`); with too few of them for a
    holdout, train on the scenario's data instead, as ``riskloop run`` does, and let the
    registration gate decide — a retrain that is asked for is never a no-op.

    Parameters
    ----------
    data_dir : Path, optional
        Folder for the fallback pipeline's produced data (default: the catalog's ``data/``).
    read_back : sequence of str
        Catalog datasets the fallback returns in :attr:`ScenarioRetrain.outputs`.
    on_fallback : callable, optional
        Called with the reason before the fallback pipeline starts (it takes minutes).

    Other parameters are those of :func:`retrain_challenger`.
    """
    from riskloop.pipelines.runner import run_pipeline

    try:
        return retrain_challenger(
            project_dir, scenario_file, scenario, store, reference, config,
            artifact_dir=artifact_dir, trigger=trigger, trusted=trusted,
        )  # fmt: skip
    except NotEnoughOutcomesError as error:
        reason = str(error)
    if on_fallback is not None:
        on_fallback(reason)
    outputs = run_pipeline(
        project_dir, scenario_file=scenario_file, data_dir=data_dir, read_back=read_back
    )
    return ScenarioRetrain(reason, outputs)


# --------------------------------------------------------------------------- aliases
def promote_version(
    model_name: str,
    version: str,
    store: PredictionStore,
    reason: str,
    event: str = "promoted",
    record_previous: bool = True,
    actor: str | None = None,
) -> str | None:
    """Make ``version`` the champion; returns the version it replaced.

    Everything is recorded before the one write that moves the alias (see the module
    docstring); ``record_previous`` False (a rollback) keeps the version's own history.
    ``actor`` is who asked (``cli:<os user>``, an API caller's name); None: the loop itself.
    """
    audit = MonitoringStore(store.engine)
    registry.get_version(model_name, version)  # fails clearly when the version does not exist
    current = registry.version_for_alias(model_name, registry.CHAMPION)
    previous = None if current is None else current.version
    if previous == version:
        return previous
    tags = registry.get_version(model_name, version).tags
    if record_previous and previous is not None and PREVIOUS_CHAMPION_TAG not in tags:
        registry.set_version_tags(model_name, version, {PREVIOUS_CHAMPION_TAG: previous})
    payload = {"model_name": model_name, "version": version, "previous": previous, "reason": reason}
    audit.record_audit_event(f"{event}_started", payload, actor=actor)
    registry.set_alias(model_name, version, registry.CHAMPION)  # the commit point
    audit.record_audit_event(event, payload, actor=actor)
    challenger = registry.version_for_alias(model_name, CHALLENGER)
    if challenger is not None and challenger.version == version:
        registry.delete_alias(model_name, CHALLENGER)
    return previous


def rollback(
    model_name: str,
    store: PredictionStore,
    reason: str = "manual rollback",
    actor: str | None = None,
) -> str:
    """Move the champion back to the version it replaced (its ``previous_champion`` tag, set
    when it was first promoted), recorded as done by ``actor``; returns the version that is
    champion now."""
    current = registry.version_for_alias(model_name, registry.CHAMPION)
    if current is None:
        raise RollbackError(f"{model_name} has no champion, so there is nothing to roll back")
    previous = current.tags.get(PREVIOUS_CHAMPION_TAG)
    if not previous:
        raise RollbackError(
            f"{model_name} version {current.version} has no former champion recorded (tag"
            f" {PREVIOUS_CHAMPION_TAG!r}); promote a version by number instead:"
            " riskloop promote --version V"
        )
    promote_version(
        model_name,
        previous,
        store,
        reason=f"{reason} (from version {current.version})",
        event="rolled_back",
        actor=actor,
        record_previous=False,
    )
    return previous
