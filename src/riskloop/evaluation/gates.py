"""The promotion gate: may a challenger replace the champion? A pure function over numbers.

A challenger becomes champion only when, on the same validation rows,

1. its expected profit beats the champion's by more than ``min_profit_improvement``
   (per 1,000 applications; equal is not better, so a retrain on the same data keeps the
   champion),
2. its AUC is not lower than the champion's by more than ``auc_tolerance``, and
3. its fairness metrics stay within bounds: demographic-parity ratio ≥ ``dp_ratio_min`` and
   equalised-odds difference ≤ ``eo_difference_max`` (the worst attribute; groups smaller than
   ``scenario.fairness.min_group_size`` are reported but not gated, see
   :func:`worst_group_fairness`), and
4. (when ``brier_tolerance`` is set and both Brier scores are known) its calibration is not
   worse: Brier score at most the champion's + ``brier_tolerance`` (the retraining workflow).

With no comparable champion, only the fairness gate applies. When the scenario has no cost
model (profit is None), gate 1 becomes "validation AUC beats the champion's by more than
``min_auc_improvement``". A refusal lists every failed gate
with its numbers.

The thresholds (:class:`GateThresholds`) are set once, in ``conf/base/parameters_promotion.yml``:
the registration pipeline (``params:promotion_gate``) and the retraining workflow read the same
section. The fairness bounds come from the scenario (``fairness``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from riskloop.config import load_config


class GateThresholds(BaseModel):
    """How much better a challenger must be, and how much worse it may be, to be promoted.

    Every field is required: the values live in ``conf/base/parameters_promotion.yml`` alone.

    Parameters
    ----------
    min_profit_improvement : float
        Profit per 1,000 applications the challenger must beat the champion's by (strictly).
    auc_tolerance : float
        How far the challenger's AUC may fall below the champion's.
    min_auc_improvement : float
        Without a cost model: AUC the challenger must beat the champion's by (strictly).
    brier_tolerance : float or None
        How far the challenger's Brier score may rise above the champion's; None: not gated.
        Applies only where both Brier scores are measured (the retraining workflow).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_profit_improvement: float
    auc_tolerance: float = Field(ge=0.0)
    min_auc_improvement: float
    brier_tolerance: float | None = Field(ge=0.0)


class JudgeThresholds(BaseModel):
    """What the retraining judge asks beyond the promotion gate (:mod:`riskloop.evaluation.judge`).

    Every field is required: the values live in ``conf/base/parameters_promotion.yml`` alone.

    Parameters
    ----------
    auc_floor : float
        The challenger's AUC on the judged rows must reach this, whatever the champion's.
    approval_rate_min, approval_rate_max : float
        The challenger's approval rate on the judged rows must lie in this band.
    degenerate_share : float
        A model taking one decision for at least this share of applicants is degenerate.
    min_profit_over_baseline : float
        Profit per 1,000 the challenger must beat the best non-ML policy (approve everyone,
        decline everyone) by.
    dp_ratio_tolerance, eo_difference_tolerance : float
        How much worse than the champion's the challenger's demographic-parity ratio and
        equalised-odds difference may be.
    trusted_profit_tolerance : float
        On the trusted evaluation rows, how far (per 1,000) the challenger's profit may
        confidently fall below the champion's.
    n_resamples : int
        Paired bootstrap resamples of every interval.
    level : float
        Two-sided level of the intervals; their lower bound is a one-sided ``(1 + level) / 2``
        confidence bound (0.90: 95 %).
    seed : int
        Seed of the resamples (the decision is reproducible).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    auc_floor: float = Field(ge=0.5, le=1.0)
    approval_rate_min: float = Field(ge=0.0, le=1.0)
    approval_rate_max: float = Field(ge=0.0, le=1.0)
    degenerate_share: float = Field(gt=0.5, le=1.0)
    min_profit_over_baseline: float
    dp_ratio_tolerance: float = Field(ge=0.0)
    eo_difference_tolerance: float = Field(ge=0.0)
    trusted_profit_tolerance: float = Field(ge=0.0)
    n_resamples: int = Field(ge=20)
    level: float = Field(gt=0.0, lt=1.0)
    seed: int


class PromotionGateFile(BaseModel):
    """``conf/base/parameters_promotion.yml``: a Kedro parameters file with the promotion gate
    and the retraining judge's thresholds."""

    model_config = ConfigDict(extra="forbid")

    promotion_gate: GateThresholds
    retraining_judge: JudgeThresholds


def load_gate_thresholds(path: Path) -> GateThresholds:
    """The promotion gate's thresholds from ``path`` (``conf/base/parameters_promotion.yml``).

    Raises
    ------
    riskloop.config.ConfigError
        The file is missing or a threshold breaks its rule.
    """
    return load_config(path, PromotionGateFile).promotion_gate


def load_judge_thresholds(path: Path) -> JudgeThresholds:
    """The retraining judge's thresholds from ``path`` (``conf/base/parameters_promotion.yml``).

    Raises
    ------
    riskloop.config.ConfigError
        The file is missing or a threshold breaks its rule.
    """
    return load_config(path, PromotionGateFile).retraining_judge


@dataclass(frozen=True)
class ModelEvidence:
    """What the gate knows of one model, measured on the validation rows.

    ``dp_ratio`` / ``eo_difference`` are None when the scenario has no sensitive attributes;
    ``brier`` (mean squared error of the probability) is None when not measured.
    """

    profit_per_1000: float | None
    auc: float
    dp_ratio: float | None = None
    eo_difference: float | None = None
    brier: float | None = None


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    failures: list[str] = field(default_factory=list)


def not_measured(challenger: ModelEvidence, champion: ModelEvidence | None) -> list[str]:
    """One line per NaN metric of either model: a NaN compares False with everything, so a gate
    reading it would pass it silently (``nan < x`` is False); such a decision is refused."""
    problems = []
    for side, evidence in (("challenger", challenger), ("champion", champion)):
        if evidence is None:
            continue
        for name in ("auc", "profit_per_1000", "brier", "dp_ratio", "eo_difference"):
            value = getattr(evidence, name)
            if value is not None and not np.isfinite(value):
                problems.append(
                    f"NaN metric: the {side}'s {name} is {value} (e.g. a holdout with one"
                    " outcome class); nothing can be decided on it"
                )
    return problems


def promotion_gate(
    challenger: ModelEvidence,
    champion: ModelEvidence | None,
    thresholds: GateThresholds,
    *,
    dp_ratio_min: float,
    eo_difference_max: float,
) -> GateDecision:
    """Apply the gates; see the module docstring.

    Parameters
    ----------
    challenger, champion : ModelEvidence
        Both measured on the same rows; ``champion`` None when there is no comparable one.
    thresholds : GateThresholds
        The profit, AUC and calibration thresholds.
    dp_ratio_min, eo_difference_max : float
        The scenario's fairness bounds on the challenger's worst group.
    """
    unmeasured = not_measured(challenger, champion)
    if unmeasured:
        return GateDecision(False, "refused — " + "; ".join(unmeasured), unmeasured)
    min_profit_improvement = thresholds.min_profit_improvement
    auc_tolerance = thresholds.auc_tolerance
    min_auc_improvement = thresholds.min_auc_improvement
    brier_tolerance = thresholds.brier_tolerance
    failures: list[str] = []
    passed: list[str] = []
    if challenger.dp_ratio is not None and challenger.dp_ratio < dp_ratio_min:
        failures.append(
            f"fairness: demographic-parity ratio {challenger.dp_ratio:.3f}"
            f" is below {dp_ratio_min:g}"
        )
    if challenger.eo_difference is not None and challenger.eo_difference > eo_difference_max:
        failures.append(
            f"fairness: equalised-odds difference {challenger.eo_difference:.3f} is above"
            f" {eo_difference_max:g}"
        )
    if champion is None:
        if failures:
            return GateDecision(
                False, "no comparable champion, but " + "; ".join(failures), failures
            )
        return GateDecision(True, "no comparable champion", [])
    by_profit = challenger.profit_per_1000 is not None and champion.profit_per_1000 is not None
    if not by_profit:
        if challenger.auc > champion.auc + min_auc_improvement:
            passed.append(
                f"validation AUC {challenger.auc:.4f} beats champion's {champion.auc:.4f}"
                f" by more than {min_auc_improvement:g}"
            )
        else:
            failures.append(
                f"AUC: validation AUC {challenger.auc:.4f} does not beat champion's"
                f" {champion.auc:.4f} by more than {min_auc_improvement:g}"
            )
    elif challenger.profit_per_1000 - champion.profit_per_1000 > min_profit_improvement:  # type: ignore[operator]
        passed.append(
            f"profit {challenger.profit_per_1000:,.1f} per 1,000 beats champion's"
            f" {champion.profit_per_1000:,.1f}"
        )
    else:
        failures.append(
            f"profit: {challenger.profit_per_1000:,.1f} per 1,000 does not beat champion's"
            f" {champion.profit_per_1000:,.1f} by more than {min_profit_improvement:g}"
        )
    if not by_profit:
        pass  # the AUC gate above already compared AUCs
    elif challenger.auc < champion.auc - auc_tolerance:
        failures.append(
            f"AUC: {challenger.auc:.4f} is lower than champion's {champion.auc:.4f} by more than"
            f" {auc_tolerance:g}"
        )
    else:
        passed.append(f"validation AUC {challenger.auc:.4f} vs champion's {champion.auc:.4f}")
    if brier_tolerance is not None and None not in (challenger.brier, champion.brier):
        if challenger.brier > champion.brier + brier_tolerance:  # type: ignore[operator]
            failures.append(
                f"calibration: Brier score {challenger.brier:.4f} is worse than champion's"
                f" {champion.brier:.4f} by more than {brier_tolerance:g}"
            )
        else:
            passed.append(f"Brier score {challenger.brier:.4f} vs champion's {champion.brier:.4f}")
    if failures:
        return GateDecision(False, "refused — " + "; ".join(failures), failures)
    return GateDecision(True, "; ".join(passed) + "; fairness within bounds", [])


# --------------------------------------------------------------------------- fairness evidence
def _spread(
    selection: list[float], tpr: list[float | None], fpr: list[float | None]
) -> tuple[float, float]:
    """Demographic-parity ratio and equalised-odds difference over groups (fairlearn's
    definitions, with approval as the selection and repayment as the true label). Nobody
    approved in any group is not parity: the ratio is 0 (a decline-everyone model is not fair,
    it is degenerate)."""
    ratio = min(selection) / max(selection) if max(selection) > 0 else 0.0
    tprs = [v for v in tpr if v is not None and np.isfinite(v)]
    fprs = [v for v in fpr if v is not None and np.isfinite(v)]
    odds = max(
        (max(tprs) - min(tprs)) if len(tprs) > 1 else 0.0,
        (max(fprs) - min(fprs)) if len(fprs) > 1 else 0.0,
    )
    return float(ratio), float(odds)


def group_masks(groups: pd.DataFrame, min_group_size: int) -> list[list[np.ndarray]]:
    """Per sensitive attribute (column of ``groups``), a row mask of each group with at least
    ``min_group_size`` rows — computed once, reused for every threshold tried."""
    masks = []
    for attribute in groups.columns:
        labels = groups[attribute].astype(str).to_numpy()
        names, counts = np.unique(labels, return_counts=True)
        masks.append([labels == name for name in names[counts >= min_group_size]])
    return masks


def worst_group_fairness(
    approved: np.ndarray, y_bad: np.ndarray, masks: list[list[np.ndarray]]
) -> tuple[float | None, float | None]:
    """Lowest demographic-parity ratio and highest equalised-odds difference over the sensitive
    attributes, counting only the groups in ``masks`` (:func:`group_masks`: groups too small to
    gate on are left out — their rates are noise). (None, None) when no attribute has two."""
    approved = np.asarray(approved).astype(bool)
    bad = np.asarray(y_bad).astype(bool)
    ratios, odds = [], []
    for attribute_masks in masks:
        if len(attribute_masks) < 2:
            continue
        selection, tpr, fpr = [], [], []
        for rows in attribute_masks:
            selection.append(approved[rows].mean())
            tpr.append(approved[rows & ~bad].mean() if (rows & ~bad).any() else None)
            fpr.append(approved[rows & bad].mean() if (rows & bad).any() else None)
        ratio, difference = _spread(selection, tpr, fpr)
        ratios.append(ratio)
        odds.append(difference)
    return (min(ratios) if ratios else None, max(odds) if odds else None)


def worst_group_fairness_from_report(
    report: dict[str, Any] | None, min_group_size: int
) -> tuple[float | None, float | None]:
    """The same numbers from a fairness report's per-group rates
    (:func:`riskloop.evaluation.fairness.fairness_report`: attribute → ``by_group``)."""
    ratios, odds = [], []
    for summary in (report or {}).values():
        groups = [g for g in summary.get("by_group", {}).values() if g["count"] >= min_group_size]
        if len(groups) < 2:
            continue
        ratio, difference = _spread(
            [g["selection_rate"] for g in groups],
            [g.get("tpr") for g in groups],
            [g.get("fpr") for g in groups],
        )
        ratios.append(ratio)
        odds.append(difference)
    return (min(ratios) if ratios else None, max(odds) if odds else None)


def validation_fairness(
    fairness_report: dict[str, Any] | None, min_group_size: int
) -> dict[str, float | None]:
    """Worst demographic-parity ratio (``dp_ratio``) and equalised-odds difference
    (``eo_difference``) on validation, the numbers the promotion gate reads, from the
    evaluation's fairness report (its ``validation`` section), over groups of at least
    ``min_group_size`` rows; None where the report has no such groups."""
    section = (fairness_report or {}).get("validation") or {}
    ratio, odds = worst_group_fairness_from_report(section.get("attributes"), min_group_size)
    return {"dp_ratio": ratio, "eo_difference": odds}
