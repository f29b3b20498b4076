"""The retraining judge: may a challenger trained on recent outcomes replace the champion?

A pure function of both models' answers on the same labelled rows (docs/retraining.md, "The
judge"). In order:

1. **Refusals** — nothing is compared when the holdout has one outcome class (AUC and the
   risk side of profit are undefined), when the challenger is degenerate (one decision for at
   least ``degenerate_share`` of the applicants) or when a metric is NaN; the message says
   which.
2. **Floors** — the challenger's AUC reaches ``auc_floor``, its approval rate lies in
   ``[approval_rate_min, approval_rate_max]`` and its profit beats the best non-ML policy
   (approve everyone, decline everyone) by ``min_profit_over_baseline``.
3. **Against the champion, with intervals** — paired bootstrap
   (:mod:`riskloop.evaluation.paired_bootstrap`: the same resamples for both models) of the
   profit and AUC differences; promoted only when the *lower* bound of the profit difference
   clears ``min_profit_improvement`` (no cost model: the AUC difference clears
   ``min_auc_improvement``) and that of the AUC difference clears ``−auc_tolerance``;
   calibration (Brier) as in the promotion gate.
4. **Fairness** — :func:`fairness_verdict`, relative to the champion and absolute.
5. **The trusted evaluation rows** (labels verified once) — the challenger may not be
   confidently worse than the champion there: refused when the upper bound of the AUC
   difference is below ``−auc_tolerance`` or that of the profit difference below
   ``−trusted_profit_tolerance``. New labels can teach a model; they cannot alone vouch for it.

Every interval is returned (:attr:`Judgement.intervals`), so the decision records them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskloop.evaluation.gates import GateThresholds, JudgeThresholds, ModelEvidence
from riskloop.evaluation.paired_bootstrap import (
    Interval,
    percentile_interval,
    resample_counts,
    weighted_auc,
    weighted_mean,
)

PER = 1000.0


@dataclass(frozen=True)
class ScoredRows:
    """One model's answers on the judged rows: probability of the risky outcome and approval."""

    probability: np.ndarray
    approved: np.ndarray


@dataclass(frozen=True)
class JudgedRows:
    """The labelled rows both models are judged on.

    Parameters
    ----------
    y_bad : array
        1 where the risky outcome was observed.
    approval_gain : array or None
        Money made by approving each row (:func:`riskloop.evaluation.business.approval_gain`);
        None without a cost model.
    review_cost : float
        Paid for every application, whatever the decision.
    groups : DataFrame or None
        One column of group labels per sensitive attribute
        (:func:`riskloop.evaluation.fairness.sensitive_groups`); None: not gated.
    min_group_size : int
        Groups smaller than this are not gated (their rates are noise).
    """

    y_bad: np.ndarray
    approval_gain: np.ndarray | None = None
    review_cost: float = 0.0
    groups: pd.DataFrame | None = None
    min_group_size: int = 30

    def named_masks(self) -> list[list[tuple[str, np.ndarray]]]:
        """Per attribute, ``(attribute=value, row mask)`` of each group large enough to gate."""
        if self.groups is None:
            return []
        masks = []
        for attribute in self.groups.columns:
            labels = self.groups[attribute].astype(str).to_numpy()
            names, counts = np.unique(labels, return_counts=True)
            masks.append(
                [
                    (f"{attribute}={name}", labels == name)
                    for name in names[counts >= self.min_group_size]
                ]
            )
        return masks


@dataclass(frozen=True)
class FairnessBounds:
    """The scenario's absolute bounds and the judge's tolerances relative to the champion."""

    dp_ratio_min: float
    eo_difference_max: float
    dp_ratio_tolerance: float
    eo_difference_tolerance: float


@dataclass(frozen=True)
class FairnessFigures:
    """One model's worst-group fairness on the judged rows.

    ``dp_ratio`` / ``eo_difference`` are None when no attribute has two groups to compare;
    ``degenerate_groups`` names the groups where the model approves nobody or everybody.
    """

    dp_ratio: float | None
    eo_difference: float | None
    degenerate_groups: tuple[str, ...] = ()


@dataclass
class Judgement:
    """The judge's decision, every failure with its numbers, and every interval."""

    promote: bool
    reason: str
    failures: list[str] = field(default_factory=list)
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)
    challenger: ModelEvidence | None = None
    champion: ModelEvidence | None = None


# --------------------------------------------------------------------------- fairness
def _worst_group_fairness(
    approved: np.ndarray,
    y_bad: np.ndarray,
    masks: list[list[tuple[str, np.ndarray]]],
    w: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Worst demographic-parity ratio and equalised-odds difference under each weighting
    (rows of ``w``); NaN where no attribute has two groups. Nobody approved anywhere is a
    ratio of 0, not parity."""
    approved = np.asarray(approved, dtype=bool)
    good = ~np.asarray(y_bad, dtype=bool)
    worst_ratio = np.full(len(w), np.nan)
    worst_odds = np.full(len(w), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for attribute in masks:
            if len(attribute) < 2:
                continue
            rows = np.stack([m for _, m in attribute])  # (G, n)
            size = rows @ w.T  # (G, B) weights of each group
            selection = ((rows & approved) @ w.T) / size
            tpr = ((rows & approved & good) @ w.T) / ((rows & good) @ w.T)
            fpr = ((rows & approved & ~good) @ w.T) / ((rows & ~good) @ w.T)
            top = np.nanmax(selection, axis=0)
            ratio = np.where(top > 0, np.nanmin(selection, axis=0) / top, 0.0)
            odds = np.fmax(_range(tpr), _range(fpr))
            worst_ratio = np.fmin(worst_ratio, ratio)
            worst_odds = np.fmax(worst_odds, odds)
    return worst_ratio, worst_odds


def _range(rates: np.ndarray) -> np.ndarray:
    """max − min over groups (axis 0), ignoring undefined rates; 0 with fewer than two."""
    defined = np.isfinite(rates).sum(axis=0)
    spread = np.nanmax(np.where(np.isfinite(rates), rates, -np.inf), axis=0) - np.nanmin(
        np.where(np.isfinite(rates), rates, np.inf), axis=0
    )
    return np.where(defined >= 2, spread, 0.0)


def fairness_figures(
    approved: np.ndarray, rows: JudgedRows, masks: list[list[tuple[str, np.ndarray]]]
) -> FairnessFigures:
    """One model's point figures on ``rows`` (every group of ``masks``)."""
    ones = np.ones((1, len(rows.y_bad)))
    ratio, odds = _worst_group_fairness(approved, rows.y_bad, masks, ones)
    approved = np.asarray(approved, dtype=bool)
    degenerate = tuple(
        f"{name} ({approved[mask].mean():.0%} approved of {int(mask.sum())})"
        for attribute in masks
        for name, mask in attribute
        if approved[mask].all() or not approved[mask].any()
    )
    if not any(len(attribute) >= 2 for attribute in masks):
        return FairnessFigures(None, None, degenerate)
    return FairnessFigures(float(ratio[0]), float(odds[0]), degenerate)


def fairness_verdict(
    challenger: FairnessFigures,
    champion: FairnessFigures | None,
    bounds: FairnessBounds,
    dp_ratio_change: Interval | None = None,
    eo_difference_change: Interval | None = None,
) -> list[str]:
    """Every fairness failure of the challenger (empty: fair enough to promote).

    The one fairness verdict of a promotion:

    * **degenerate selection is not fair** — a group where the challenger approves nobody or
      everybody fails, unless the champion does the same in that group;
    * **relative** — worse than the champion by more than the tolerance, confidently: the
      upper bound of the demographic-parity ratio change below ``−dp_ratio_tolerance``, or the
      lower bound of the equalised-odds change above ``eo_difference_tolerance`` (point
      changes when no interval is given);
    * **absolute** — the scenario's bounds, except that when the champion itself breaks a
      bound, a challenger at least as good as the champion on it is not blocked for breaking
      it less.

    Parameters
    ----------
    challenger, champion : FairnessFigures
        Both on the same rows; ``champion`` None when there is none.
    bounds : FairnessBounds
        The scenario's absolute bounds and the judge's relative tolerances.
    dp_ratio_change, eo_difference_change : Interval, optional
        Paired bootstrap intervals of challenger − champion.
    """
    failures = []
    champion_degenerate = {
        g.split(" (")[0] for g in (champion.degenerate_groups if champion else ())
    }
    for group in challenger.degenerate_groups:
        if group.split(" (")[0] not in champion_degenerate:
            failures.append(f"fairness: degenerate selection in group {group}")
    if challenger.dp_ratio is None or challenger.eo_difference is None:
        return failures
    if not (np.isfinite(challenger.dp_ratio) and np.isfinite(challenger.eo_difference)):
        return [*failures, "fairness: NaN metric, the group rates cannot be measured"]
    has_champion = champion is not None and champion.dp_ratio is not None
    if has_champion:
        assert champion is not None and champion.dp_ratio is not None
        assert champion.eo_difference is not None
        dp_drop = (
            dp_ratio_change.high
            if dp_ratio_change is not None
            else challenger.dp_ratio - champion.dp_ratio
        )
        if dp_drop < -bounds.dp_ratio_tolerance:
            failures.append(
                f"fairness: demographic-parity ratio {challenger.dp_ratio:.3f} is worse than the"
                f" champion's {champion.dp_ratio:.3f} by more than {bounds.dp_ratio_tolerance:g}"
                + (f" (change {dp_ratio_change.describe()})" if dp_ratio_change else "")
            )
        eo_rise = (
            eo_difference_change.low
            if eo_difference_change is not None
            else challenger.eo_difference - champion.eo_difference
        )
        if eo_rise > bounds.eo_difference_tolerance:
            failures.append(
                f"fairness: equalised-odds difference {challenger.eo_difference:.3f} is worse"
                f" than the champion's {champion.eo_difference:.3f} by more than"
                f" {bounds.eo_difference_tolerance:g}"
                + (f" (change {eo_difference_change.describe()})" if eo_difference_change else "")
            )
    if challenger.dp_ratio < bounds.dp_ratio_min:
        champion_fails = has_champion and champion.dp_ratio < bounds.dp_ratio_min  # type: ignore[union-attr,operator]
        if not (champion_fails and challenger.dp_ratio >= champion.dp_ratio):  # type: ignore[union-attr,operator]
            failures.append(
                f"fairness: demographic-parity ratio {challenger.dp_ratio:.3f} is below"
                f" {bounds.dp_ratio_min:g}"
            )
    if challenger.eo_difference > bounds.eo_difference_max:
        champion_fails = has_champion and champion.eo_difference > bounds.eo_difference_max  # type: ignore[union-attr,operator]
        if not (champion_fails and challenger.eo_difference <= champion.eo_difference):  # type: ignore[union-attr,operator]
            failures.append(
                f"fairness: equalised-odds difference {challenger.eo_difference:.3f} is above"
                f" {bounds.eo_difference_max:g}"
            )
    return failures


# --------------------------------------------------------------------------- the judge
def _profit_per_row(scored: ScoredRows, rows: JudgedRows) -> np.ndarray | None:
    if rows.approval_gain is None:
        return None
    return np.where(scored.approved, rows.approval_gain, 0.0) - rows.review_cost


def _brier(scored: ScoredRows, rows: JudgedRows) -> float:
    return float(np.mean((scored.probability - rows.y_bad) ** 2))


def model_evidence(scored: ScoredRows, rows: JudgedRows) -> ModelEvidence:
    """Point figures of one model on ``rows`` (profit per 1,000, AUC, fairness, Brier)."""
    profit = _profit_per_row(scored, rows)
    fairness = fairness_figures(scored.approved, rows, rows.named_masks())
    return ModelEvidence(
        None if profit is None else float(PER * profit.mean()),
        float(weighted_auc(rows.y_bad, scored.probability, np.ones(len(rows.y_bad)))),
        fairness.dp_ratio,
        fairness.eo_difference,
        _brier(scored, rows),
    )


def refusals(scored: ScoredRows, rows: JudgedRows, thresholds: JudgeThresholds) -> list[str]:
    """Why nothing can be decided on these rows with this model (empty: something can)."""
    y = np.asarray(rows.y_bad, dtype=bool)
    n = len(y)
    if n == 0:
        return ["holdout: no labelled rows to judge on"]
    if y.all() or not y.any():
        kind = "1 (the risky outcome)" if y.all() else "0 (repaid)"
        return [
            f"one-class holdout: all {n} outcomes are {kind}, so AUC and the cost of a wrong"
            " approval cannot be measured; refused (check the labels: `riskloop feedback list`)"
        ]
    approval = float(np.mean(scored.approved))
    if max(approval, 1.0 - approval) >= thresholds.degenerate_share:
        decision = "approves" if approval >= 0.5 else "declines"
        share = max(approval, 1.0 - approval)
        return [
            f"degenerate model: it {decision} {share:.1%} of the {n} holdout applicants"
            f" (one decision for >= {thresholds.degenerate_share:.0%} is not a credit model)"
        ]
    if not np.all(np.isfinite(scored.probability)):
        return ["NaN metric: the challenger's probabilities are not all finite"]
    return []


def floors(
    evidence: ModelEvidence, scored: ScoredRows, rows: JudgedRows, t: JudgeThresholds
) -> list[str]:
    """The absolute floors of the module docstring (point figures)."""
    failures = []
    if evidence.auc < t.auc_floor:
        failures.append(f"floor: AUC {evidence.auc:.4f} is below the floor {t.auc_floor:g}")
    approval = float(np.mean(scored.approved))
    if not t.approval_rate_min <= approval <= t.approval_rate_max:
        failures.append(
            f"floor: approval rate {approval:.1%} is outside"
            f" [{t.approval_rate_min:.0%}, {t.approval_rate_max:.0%}]"
        )
    if rows.approval_gain is not None and evidence.profit_per_1000 is not None:
        approve_all = PER * float(np.mean(rows.approval_gain - rows.review_cost))
        decline_all = 0.0 - PER * rows.review_cost
        best = max(approve_all, decline_all)
        if evidence.profit_per_1000 - best <= t.min_profit_over_baseline:
            name = "approve everyone" if approve_all >= decline_all else "decline everyone"
            failures.append(
                f"floor: profit {evidence.profit_per_1000:,.1f} per 1,000 does not beat the"
                f" best non-ML policy ({name}: {best:,.1f}) by more than"
                f" {t.min_profit_over_baseline:g}"
            )
    return failures


def paired_intervals(
    challenger: ScoredRows, champion: ScoredRows, rows: JudgedRows, t: JudgeThresholds
) -> dict[str, Interval]:
    """Paired bootstrap intervals of challenger − champion on ``rows``: ``auc_difference``,
    ``profit_difference`` (per 1,000; with a cost model), ``dp_ratio_change`` and
    ``eo_difference_change`` (with sensitive groups)."""
    n = len(rows.y_bad)
    counts = resample_counts(n, t.n_resamples, t.seed)
    ones = np.ones((1, n))
    both = np.vstack([ones, counts])  # row 0: the point estimate, then the resamples
    auc = weighted_auc(rows.y_bad, challenger.probability, both) - weighted_auc(
        rows.y_bad, champion.probability, both
    )
    intervals = {"auc_difference": percentile_interval(auc[0], auc[1:], t.level)}
    profit_challenger = _profit_per_row(challenger, rows)
    profit_champion = _profit_per_row(champion, rows)
    if profit_challenger is not None and profit_champion is not None:
        profit = PER * weighted_mean(profit_challenger - profit_champion, both)
        intervals["profit_difference"] = percentile_interval(profit[0], profit[1:], t.level)
    masks = rows.named_masks()
    if any(len(attribute) >= 2 for attribute in masks):
        ratio_a, odds_a = _worst_group_fairness(challenger.approved, rows.y_bad, masks, both)
        ratio_b, odds_b = _worst_group_fairness(champion.approved, rows.y_bad, masks, both)
        dp_change, eo_change = ratio_a - ratio_b, odds_a - odds_b
        intervals["dp_ratio_change"] = percentile_interval(dp_change[0], dp_change[1:], t.level)
        intervals["eo_difference_change"] = percentile_interval(
            eo_change[0], eo_change[1:], t.level
        )
    return intervals


def judge_promotion(
    challenger: ScoredRows,
    champion: ScoredRows | None,
    rows: JudgedRows,
    gates: GateThresholds,
    thresholds: JudgeThresholds,
    fairness: FairnessBounds,
    trusted: tuple[ScoredRows, ScoredRows, JudgedRows] | None = None,
) -> Judgement:
    """The decision of the module docstring.

    Parameters
    ----------
    challenger, champion : ScoredRows
        Both models' answers on ``rows``; ``champion`` None when there is none.
    rows : JudgedRows
        The recent labelled holdout (or the shadow period's labelled live applications).
    gates, thresholds : GateThresholds, JudgeThresholds
        ``conf/base/parameters_promotion.yml``: the promotion gate and the judge.
    fairness : FairnessBounds
        The scenario's fairness bounds with the judge's tolerances.
    trusted : (challenger, champion, rows), optional
        Both models on the trusted evaluation rows (labels verified once).
    """
    refused = refusals(challenger, rows, thresholds)
    if refused:
        return Judgement(False, "refused — " + "; ".join(refused), refused)
    challenger_evidence = model_evidence(challenger, rows)
    champion_evidence = None if champion is None else model_evidence(champion, rows)
    failures = floors(challenger_evidence, challenger, rows, thresholds)
    passed: list[str] = []
    intervals: dict[str, Interval] = {}
    masks = rows.named_masks()
    champion_fairness = None
    if champion is not None:
        assert champion_evidence is not None
        intervals = paired_intervals(challenger, champion, rows, thresholds)
        auc_change = intervals["auc_difference"]
        if "profit_difference" in intervals:
            profit_change = intervals["profit_difference"]
            if profit_change.low > gates.min_profit_improvement:
                passed.append(f"profit difference per 1,000 {profit_change.describe(1)}")
            else:
                failures.append(
                    f"profit: the lower bound of the profit difference per 1,000,"
                    f" {profit_change.low:,.1f}, does not clear {gates.min_profit_improvement:g}"
                    f" (estimate {profit_change.describe(1)})"
                )
        elif auc_change.low <= gates.min_auc_improvement:
            failures.append(
                f"AUC: the lower bound of the AUC difference, {auc_change.low:.4f}, does not"
                f" clear {gates.min_auc_improvement:g} (estimate {auc_change.describe(4)})"
            )
        if auc_change.low < -gates.auc_tolerance:
            failures.append(
                f"AUC: the lower bound of the AUC difference, {auc_change.low:.4f}, is below"
                f" -{gates.auc_tolerance:g} (estimate {auc_change.describe(4)})"
            )
        else:
            passed.append(f"AUC difference {auc_change.describe(4)}")
        brier_a, brier_b = challenger_evidence.brier, champion_evidence.brier
        tolerance = gates.brier_tolerance
        measured = tolerance is not None and brier_a is not None and brier_b is not None
        if measured and brier_a > brier_b + tolerance:  # type: ignore[operator]
            failures.append(
                f"calibration: Brier score {brier_a:.4f} is worse than champion's"
                f" {brier_b:.4f} by more than {tolerance:g}"
            )
        champion_fairness = fairness_figures(champion.approved, rows, masks)
    failures += fairness_verdict(
        fairness_figures(challenger.approved, rows, masks),
        champion_fairness,
        fairness,
        intervals.get("dp_ratio_change"),
        intervals.get("eo_difference_change"),
    )
    if trusted is not None:
        trusted_challenger, trusted_champion, trusted_rows = trusted
        on_trusted = paired_intervals(
            trusted_challenger, trusted_champion, trusted_rows, thresholds
        )
        intervals.update({f"trusted_{k}": v for k, v in on_trusted.items()})
        if on_trusted["auc_difference"].high < -gates.auc_tolerance:
            failures.append(
                "trusted rows: the challenger's AUC is confidently below the champion's, by"
                f" {on_trusted['auc_difference'].describe(4)}"
            )
        trusted_profit = on_trusted.get("profit_difference")
        if (
            trusted_profit is not None
            and trusted_profit.high < -thresholds.trusted_profit_tolerance
        ):
            failures.append(
                "trusted rows: the challenger's profit per 1,000 is confidently below the"
                f" champion's, by {trusted_profit.describe(1)}"
            )
    recorded = {name: interval.as_dict() for name, interval in intervals.items()}
    if failures:
        return Judgement(
            False, "refused — " + "; ".join(failures), failures, recorded,
            challenger_evidence, champion_evidence,
        )  # fmt: skip
    reason = "no comparable champion" if champion is None else "; ".join(passed)
    return Judgement(
        True,
        reason + "; floors and fairness met",
        [],
        recorded,
        challenger_evidence,
        champion_evidence,
    )


def evidence_dict(evidence: ModelEvidence | None) -> dict[str, Any] | None:
    return None if evidence is None else asdict(evidence)
