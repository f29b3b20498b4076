"""Group fairness of credit decisions: who is approved, and is the model equally right for all.

Conventions (docs/fairness.md)
------------------------------
* A **selection** is an APPROVAL — the favourable outcome for the applicant
  (``approved = 1``).
* The **true label** is REPAYMENT: ``y_good = 1 − y_bad``.

So, per group ``g``:

* selection rate ``= P(approved | g)``;
* TPR ``= P(approved | repaid, g)`` — the share of repayers approved (1 − TPR is the share of
  good applicants wrongly declined);
* FPR ``= P(approved | defaulted, g)`` — the share of defaulters approved;
* AUC: ranking quality of the model score inside the group (``P(bad)`` against ``y_bad``,
  identical to ``1 − P(bad)`` against ``y_good``).

Across groups (fairlearn's definitions, on the same convention):

* demographic parity ratio ``= min_g selection rate / max_g selection rate`` (1 = parity;
  the "four-fifths rule" asks ≥ 0.8);
* equalized odds difference ``= max(max_g TPR − min_g TPR, max_g FPR − min_g FPR)``
  (0 = parity).

A group with no repayers has no TPR, one with no defaulters no FPR, and one without both
classes no AUC: those are ``None`` and are left out of the cross-group differences (the
report lists them under ``undefined``). Confidence intervals are percentile bootstraps that
resample rows within each group (the group sizes stay fixed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, selection_rate
from sklearn.base import BaseEstimator, ClassifierMixin

MISSING = "missing"

#: One-line statement of the conventions, for reports that store a fairness document.
CONVENTION = (
    "selection = approval (favourable outcome); true label = repayment (y_good = 1 - y_bad);"
    " TPR = share of repayers approved; FPR = share of defaulters approved"
)


# --------------------------------------------------------------------------- groups
def cut_numeric(values: pd.Series, bins: list[float], labels: list[str]) -> pd.Series:
    """Group labels of a numeric column cut at the inner edges ``bins``.

    Edge convention: the first group is strictly below the first edge and the last group
    strictly above the last edge; every value from the first edge to the last edge, both
    included, falls in an inner group, each inner group closed on the left (and the last one
    also on the right). With ``bins=[25, 60]``: ``x < 25`` → ``labels[0]``,
    ``25 ≤ x ≤ 60`` → ``labels[1]``, ``x > 60`` → ``labels[2]``; so 24, 25, 60, 61 fall in
    groups 0, 1, 1, 2. Missing values get ``"missing"``.
    """
    edges = np.asarray(bins, dtype=np.float64)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    index = np.searchsorted(edges, numbers, side="right")
    index[numbers == edges[-1]] = len(edges) - 1  # the last edge closes the last inner group
    names = np.asarray(labels, dtype=object)[np.minimum(index, len(labels) - 1)]
    names[np.isnan(numbers)] = MISSING
    return pd.Series(names, index=values.index, name=values.name, dtype=object)


def sensitive_groups(frame: pd.DataFrame, scenario: Any) -> pd.DataFrame:
    """One column of group labels per sensitive attribute of the scenario.

    A numeric attribute with ``scenario.fairness.groups[attr]`` is cut at those inner edges
    (:func:`cut_numeric`); any other attribute is used as it is (as text), a missing value
    as ``"missing"``.

    Raises
    ------
    KeyError
        When a sensitive attribute is not a column of ``frame`` (the message names it).
    """
    groups = {}
    for attribute in scenario.data.sensitive:
        if attribute not in frame.columns:
            raise KeyError(
                f"sensitive attribute {attribute!r} (scenario data.sensitive) is not a column"
                f" of the data; columns: {', '.join(map(str, frame.columns))}"
            )
        column = frame[attribute]
        spec = scenario.fairness.groups.get(attribute)
        if spec is not None:
            groups[attribute] = cut_numeric(column, spec.bins, spec.labels)
        else:
            labels = column.astype(object).where(column.notna(), MISSING).map(str)
            groups[attribute] = labels.astype(object)
    return pd.DataFrame(groups, index=frame.index)


# --------------------------------------------------------------------------- group metrics
def _rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)


def _auc(y_bad: np.ndarray, score: np.ndarray) -> float:
    """Mann–Whitney AUC with ties counted one half; NaN without both classes."""
    n_bad = int(y_bad.sum())
    n_good = len(y_bad) - n_bad
    if n_bad == 0 or n_good == 0:
        return float("nan")
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float((ranks[y_bad == 1].sum() - n_bad * (n_bad + 1) / 2) / (n_bad * n_good))


def _true_positive_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    positives = y_true == 1
    return float(y_pred[positives].mean()) if positives.any() else float("nan")


def _false_positive_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    negatives = y_true == 0
    return float(y_pred[negatives].mean()) if negatives.any() else float("nan")


def _optional(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _interval(samples: np.ndarray) -> list[float] | None:
    finite = samples[np.isfinite(samples)]
    if len(finite) == 0:
        return None
    low, high = np.percentile(finite, [2.5, 97.5])
    return [float(low), float(high)]


def _spread(values: np.ndarray, kind: str) -> np.ndarray:
    """Across groups (last axis), per row: ``min/max`` (``ratio``) or ``max − min``.

    Only defined (finite) groups count; NaN where fewer than two are defined. A ratio with
    every rate 0 is NaN, as in fairlearn.
    """
    defined = np.isfinite(values).sum(axis=-1) >= 2
    low = np.min(np.where(np.isfinite(values), values, np.inf), axis=-1)
    high = np.max(np.where(np.isfinite(values), values, -np.inf), axis=-1)
    if kind == "ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = np.where(high > 0, low / np.where(high > 0, high, 1.0), np.nan)
    else:
        spread = high - low
    return np.where(defined, spread, np.nan)


def fairness_report(
    y_bad: np.ndarray,
    approved: np.ndarray,
    probability: np.ndarray,
    groups: pd.DataFrame,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Per-group approval and error rates and the cross-group fairness measures.

    See the module docstring for the conventions: a selection is an approval, the true label
    is repayment, so TPR is the share of repayers approved and FPR the share of defaulters
    approved. Point estimates come from fairlearn's ``MetricFrame``.

    Parameters
    ----------
    y_bad : array of shape (n,)
        Observed outcome, 1 for the risky outcome (default), 0 for repaid.
    approved : array of shape (n,)
        The decision, 1 (or True) for approved.
    probability : array of shape (n,)
        Model probability of the risky outcome (for the per-group AUC).
    groups : DataFrame with n rows
        One column of group labels per sensitive attribute (:func:`sensitive_groups`).
    n_bootstrap : int
        Bootstrap replicates for the 95 % intervals; 0 leaves the intervals out. Default 200.
    seed : int
        Seed of the bootstrap. Default 0.

    Returns
    -------
    dict
        Per attribute: ``demographic_parity_ratio``, ``equalized_odds_difference`` (``None``
        when fewer than two groups define them), their ``…_ci`` intervals, ``undefined``
        (groups left out per metric) and ``by_group`` = {group: {``count``,
        ``selection_rate``, ``tpr``, ``fpr``, ``auc`` and each rate's ``…_ci`` [low, high]}}.
    """
    y_bad = np.asarray(y_bad).astype(np.int64)
    approved = np.asarray(approved).astype(np.int64)
    probability = np.asarray(probability, dtype=np.float64)
    if not (len(y_bad) == len(approved) == len(probability) == len(groups)):
        raise ValueError(
            f"lengths differ: y_bad {len(y_bad)}, approved {len(approved)},"
            f" probability {len(probability)}, groups {len(groups)}"
        )
    y_good = 1 - y_bad
    rng = np.random.default_rng(seed)
    report: dict[str, Any] = {}
    for attribute in groups.columns:
        labels = groups[attribute].astype(str).to_numpy()
        frame = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "tpr": _true_positive_rate,
                "fpr": _false_positive_rate,
                "count": count,
            },
            y_true=y_good,
            y_pred=approved,
            sensitive_features=pd.Series(labels, name=attribute),
        )
        by_group: dict[str, dict[str, Any]] = {}
        replicates: dict[str, list[np.ndarray]] = {"selection_rate": [], "tpr": [], "fpr": []}
        for group, row in frame.by_group.iterrows():
            rows = labels == group
            entry: dict[str, Any] = {
                "count": int(row["count"]),
                "selection_rate": _optional(row["selection_rate"]),
                "tpr": _optional(row["tpr"]),
                "fpr": _optional(row["fpr"]),
                "auc": _optional(_auc(y_bad[rows], probability[rows])),
            }
            if n_bootstrap > 0:
                draws = _bootstrap_group(
                    y_good[rows], approved[rows], probability[rows], n_bootstrap, rng
                )
                for metric, samples in draws.items():
                    entry[f"{metric}_ci"] = _interval(samples)
                for metric in replicates:
                    replicates[metric].append(draws[metric])
            by_group[str(group)] = entry

        rates = {
            m: np.array([g[m] if g[m] is not None else np.nan for g in by_group.values()])
            for m in ("selection_rate", "tpr", "fpr")
        }
        undefined = {m: [g for g, e in by_group.items() if e[m] is None] for m in ("tpr", "fpr")}
        summary: dict[str, Any] = {
            "demographic_parity_ratio": _cross_group(rates["selection_rate"][None], "ratio"),
            "equalized_odds_difference": _equalized_odds(rates["tpr"][None], rates["fpr"][None]),
            "undefined": {m: v for m, v in undefined.items() if v},
            "by_group": by_group,
        }
        if n_bootstrap > 0:
            stacked = {m: np.column_stack(v) for m, v in replicates.items()}
            summary["demographic_parity_ratio_ci"] = _interval(
                _spread(stacked["selection_rate"], "ratio")
            )
            summary["equalized_odds_difference_ci"] = _interval(
                _equalized_odds_all(stacked["tpr"], stacked["fpr"])
            )
        report[str(attribute)] = summary
    return report


def _cross_group(values: np.ndarray, kind: str) -> float | None:
    return _optional(float(_spread(values, kind)[0]))


def _equalized_odds_all(tpr: np.ndarray, fpr: np.ndarray) -> np.ndarray:
    """Per row: the larger of the TPR and FPR spreads (the defined one when only one is)."""
    return np.fmax(_spread(tpr, "difference"), _spread(fpr, "difference"))


def _equalized_odds(tpr: np.ndarray, fpr: np.ndarray) -> float | None:
    return _optional(float(_equalized_odds_all(tpr, fpr)[0]))


def _bootstrap_group(
    y_good: np.ndarray,
    approved: np.ndarray,
    probability: np.ndarray,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Replicates of one group's rates, resampling its rows with replacement."""
    n = len(y_good)
    draws = rng.integers(0, n, size=(n_bootstrap, n))
    good, chosen = y_good[draws], approved[draws]
    auc = np.array([_auc(1 - good[b], probability[draws[b]]) for b in range(n_bootstrap)])
    return {
        "selection_rate": chosen.mean(axis=1),
        "tpr": _rate((chosen * good).sum(axis=1), good.sum(axis=1)),
        "fpr": _rate((chosen * (1 - good)).sum(axis=1), (1 - good).sum(axis=1)),
        "auc": auc,
    }


# --------------------------------------------------------------------------- the gate
def fairness_gate(report: Mapping[str, Any], scenario: Any) -> tuple[bool, list[str]]:
    """Check every attribute of a :func:`fairness_report` against the scenario's bounds.

    Passes when, for every attribute, demographic parity ratio ≥
    ``scenario.fairness.demographic_parity_ratio_min`` and equalized odds difference ≤
    ``scenario.fairness.equalized_odds_difference_max``. A measure that cannot be computed
    (fewer than two groups define it) fails: the gate cannot vouch for what it cannot see.

    Returns
    -------
    (passed, failures)
        ``failures`` holds one sentence per broken bound, naming the attribute, the metric,
        its value and the bound.
    """
    bounds = scenario.fairness
    failures = []
    for attribute, summary in report.items():
        ratio = summary.get("demographic_parity_ratio")
        if ratio is None:
            failures.append(
                f"{attribute}: demographic_parity_ratio cannot be computed (fewer than two"
                f" groups); bound is >= {bounds.demographic_parity_ratio_min}"
            )
        elif ratio < bounds.demographic_parity_ratio_min:
            failures.append(
                f"{attribute}: demographic_parity_ratio {ratio:.3f} is below the minimum"
                f" {bounds.demographic_parity_ratio_min}"
            )
        odds = summary.get("equalized_odds_difference")
        if odds is None:
            failures.append(
                f"{attribute}: equalized_odds_difference cannot be computed (fewer than two"
                f" groups with both outcomes); bound is <= {bounds.equalized_odds_difference_max}"
            )
        elif odds > bounds.equalized_odds_difference_max:
            failures.append(
                f"{attribute}: equalized_odds_difference {odds:.3f} is above the maximum"
                f" {bounds.equalized_odds_difference_max}"
            )
    return not failures, failures


# --------------------------------------------------------------------------- mitigation
class _RepaymentScore(ClassifierMixin, BaseEstimator):
    """A "fitted model" whose score is the given column: lets ThresholdOptimizer run prefit."""

    def fit(self, X: Any, y: Any = None) -> _RepaymentScore:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict_proba(self, X: Any) -> np.ndarray:
        score = np.asarray(X, dtype=np.float64)[:, 0]
        return np.column_stack([1.0 - score, score])

    def predict(self, X: Any) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64)[:, 0] >= 0.5).astype(np.int64)


def mitigate_with_threshold_optimizer(
    y_bad: np.ndarray,
    probability: np.ndarray,
    approved: np.ndarray,
    groups: pd.Series,
    profit: Callable[[np.ndarray], float],
    constraint: str = "demographic_parity",
    objective: str = "balanced_accuracy_score",
    seed: int = 0,
) -> dict[str, Any]:
    """Before/after comparison of a group-aware threshold rule (fairlearn ``ThresholdOptimizer``).

    REPORT-ONLY: the mitigated rule uses the sensitive attribute at decision time and
    randomises between thresholds, so it is not what riskloop serves; this shows what parity
    would cost in money and accuracy. The optimizer is fitted on the given rows and
    evaluated on the same rows (in-sample: optimistic for the mitigated rule).

    The optimizer is run on the repayment score ``1 − probability`` with the model held fixed
    (``prefit=True``); the favourable label is repayment and a selection is an approval, as in
    :func:`fairness_report`.

    Parameters
    ----------
    y_bad : array of shape (n,)
        Observed outcome, 1 = default.
    probability : array of shape (n,)
        Model probability of default.
    approved : array of shape (n,)
        The served decision (1 = approved), the "before".
    groups : Series of length n
        Group label of one sensitive attribute.
    profit : callable
        ``profit(approved) -> float``: the lender's money for a vector of decisions on these
        rows (e.g. ``riskloop.evaluation.business.expected_profit`` with the rows' outcome,
        exposure, term and costs bound in).
    constraint : str
        ``"demographic_parity"`` or ``"equalized_odds"`` (any fairlearn constraint).
    objective : str
        fairlearn objective maximised under the constraint. Default balanced accuracy.
    seed : int
        Random state of the randomised thresholds. Default 0.

    Returns
    -------
    dict
        ``{"attribute", "constraint", "objective", "report_only": True, "before": {...},
        "after": {...}}`` where each side holds ``profit``, ``approval_rate``,
        ``demographic_parity_ratio`` and ``equalized_odds_difference``.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    y_bad = np.asarray(y_bad).astype(np.int64)
    repayment_score = (1.0 - np.asarray(probability, dtype=np.float64)).reshape(-1, 1)
    labels = pd.Series(groups).astype(str).reset_index(drop=True)
    optimizer = ThresholdOptimizer(
        estimator=_RepaymentScore(),
        constraints=constraint,
        objective=objective,
        prefit=True,
        predict_method="predict_proba",
    )
    optimizer.fit(repayment_score, 1 - y_bad, sensitive_features=labels)
    mitigated = np.asarray(
        optimizer.predict(repayment_score, sensitive_features=labels, random_state=seed)
    ).astype(np.int64)

    def side(decisions: np.ndarray) -> dict[str, Any]:
        measures = fairness_report(
            y_bad,
            decisions,
            np.asarray(probability, dtype=np.float64),
            pd.DataFrame({"group": labels}),
            n_bootstrap=0,
        )["group"]
        return {
            "profit": float(profit(decisions.astype(bool))),
            "approval_rate": float(decisions.mean()),
            "demographic_parity_ratio": measures["demographic_parity_ratio"],
            "equalized_odds_difference": measures["equalized_odds_difference"],
        }

    return {
        "attribute": str(groups.name) if groups.name is not None else None,
        "constraint": constraint,
        "objective": objective,
        "report_only": True,
        "before": side(np.asarray(approved).astype(np.int64)),
        "after": side(mitigated),
    }
