"""The lender's money: profit of approve/decline decisions, the profit curve, the best threshold.

Cost model (see ``docs/business.md``; the numbers come from the scenario's ``costs``). For
application i with exposure E_i (money lent) and term T_i, approving it earns

    g_i = margin · E_i · T_i        when the applicant repays,
    g_i = − LGD · E_i               when the applicant defaults,

declining it earns nothing, and every application costs ``review_cost`` c to process. The
profit of a set of decisions a_i ∈ {0, 1} (1 = approve) on labelled rows is

    Π = Σ_i a_i · g_i − n · c,

and the *expected profit* of a policy is estimated by Π on rows it was not fitted on. Reported
per 1,000 applications: 1000 · Π / n. Every function here is pure, over NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from riskloop.data.scenario import CostSpec, Scenario

PER = 1000.0  # profit is reported per this many applications


def has_cost_model(scenario: Scenario) -> bool:
    """Whether the scenario file sets a cost model. Without one, profit has no meaning for it:
    models are compared by AUC and the configured threshold is kept."""
    return "costs" in scenario.model_fields_set


def exposure_and_term(frame: pd.DataFrame, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Money at risk and term of each row, from the scenario's columns or its constants.

    Exposure is the ``data.exposure`` column when the scenario names one (else
    ``costs.exposure`` for every row); the term is the ``costs.term_column`` column when set and
    present (else ``costs.term``). Missing values take the constant.
    """
    costs = scenario.costs
    n = len(frame)
    exposure = np.full(n, costs.exposure, dtype=np.float64)
    if scenario.data.exposure and scenario.data.exposure in frame.columns:
        values = pd.to_numeric(frame[scenario.data.exposure], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        exposure = np.where(np.isnan(values), costs.exposure, values)
    term = np.full(n, costs.term, dtype=np.float64)
    if costs.term_column and costs.term_column in frame.columns:
        values = pd.to_numeric(frame[costs.term_column], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        term = np.where(np.isnan(values), costs.term, values)
    return exposure, term


def approval_gain(
    y_bad: np.ndarray, exposure: np.ndarray, term: np.ndarray, costs: CostSpec
) -> np.ndarray:
    """g_i: money made by approving row i (margin·E·T if it repays, −LGD·E if it defaults)."""
    bad = np.asarray(y_bad).astype(bool)
    exposure = np.asarray(exposure, dtype=np.float64)
    earned = costs.margin * exposure * np.asarray(term, dtype=np.float64)
    return np.where(bad, -costs.loss_given_default * exposure, earned)


def decision_costs(frame: pd.DataFrame, y_bad: np.ndarray, scenario: Scenario) -> np.ndarray:
    """What a wrong decision on each row costs: |g_i| — approving a row that defaults loses
    LGD·E, declining one that repays forgoes margin·E·T. The weights of a cost-sensitive loss
    (:class:`riskloop.deep.estimator.FTTransformerClassifier`)."""
    exposure, term = exposure_and_term(frame, scenario)
    return np.abs(approval_gain(y_bad, exposure, term, scenario.costs))


def row_profit(
    y_bad: np.ndarray,
    approved: np.ndarray,
    exposure: np.ndarray,
    term: np.ndarray,
    costs: CostSpec,
) -> np.ndarray:
    """Profit of each row's decision: a_i · g_i − c (the review cost is paid for every row)."""
    gain = approval_gain(y_bad, exposure, term, costs)
    return np.where(np.asarray(approved).astype(bool), gain, 0.0) - costs.review_cost


def expected_profit(
    y_bad: np.ndarray,
    approved: np.ndarray,
    exposure: np.ndarray,
    term: np.ndarray,
    costs: CostSpec,
) -> float:
    """Total profit Π of the decisions ``approved`` (bool per row) on rows with outcomes
    ``y_bad`` (1 = the risky outcome happened)."""
    return float(row_profit(y_bad, approved, exposure, term, costs).sum())


def profit_per_1000(
    y_bad: np.ndarray,
    approved: np.ndarray,
    exposure: np.ndarray,
    term: np.ndarray,
    costs: CostSpec,
) -> float:
    """Π per 1,000 applications: 1000 · Π / n."""
    return float(PER * row_profit(y_bad, approved, exposure, term, costs).mean())


def policy_summary(
    y_bad: np.ndarray,
    approved: np.ndarray,
    exposure: np.ndarray,
    term: np.ndarray,
    costs: CostSpec,
) -> dict[str, float]:
    """Profit per 1,000, total profit, approval rate and bad rate among the approved."""
    approved = np.asarray(approved).astype(bool)
    bad = np.asarray(y_bad).astype(bool)
    profits = row_profit(bad, approved, exposure, term, costs)
    return {
        "profit_per_1000": float(PER * profits.mean()),
        "profit_total": float(profits.sum()),
        "approval_rate": float(approved.mean()),
        "bad_rate_approved": float(bad[approved].mean()) if approved.any() else 0.0,
        "n": int(len(bad)),
    }


def _threshold_table(
    probability: np.ndarray,
    y_bad: np.ndarray,
    exposure: np.ndarray,
    term: np.ndarray,
    costs: CostSpec,
) -> dict[str, np.ndarray]:
    """Every distinct decision the threshold can make, in one pass over the sorted scores.

    Approving means ``probability < threshold``. Sorting the scores ascending, threshold t_k
    approves exactly the k lowest-scored rows; t_k lies midway between the k-th and (k+1)-th
    distinct score (t_0 = the lowest score, t_n just above the highest), so
    Π(t_k) = Σ_{j<k} g_(j) − n·c is a cumulative sum.
    """
    p = np.asarray(probability, dtype=np.float64)
    order = np.argsort(p, kind="mergesort")
    p_sorted = p[order]
    gain = approval_gain(
        np.asarray(y_bad)[order], np.asarray(exposure)[order], np.asarray(term)[order], costs
    )
    bad = np.asarray(y_bad).astype(bool)[order]
    n = len(p)
    # k = number approved; only k at the end of a run of tied scores is reachable
    k = np.r_[0, np.flatnonzero(np.r_[p_sorted[1:] != p_sorted[:-1], True]) + 1]
    cumulative_gain = np.r_[0.0, np.cumsum(gain)][k]
    cumulative_bad = np.r_[0, np.cumsum(bad)][k]
    upper = np.r_[p_sorted, np.inf]  # score of the first declined row for each k
    lower = np.r_[-np.inf, p_sorted]  # score of the last approved row
    thresholds = np.where(
        k == 0,
        p_sorted[0] if n else 0.5,
        np.where(
            k == n,
            np.nextafter(p_sorted[-1], np.inf) if n else 0.5,
            (lower[k] + upper[k]) / 2.0,
        ),
    )
    return {
        "threshold": thresholds,
        "approved": k.astype(np.float64),
        "profit_total": cumulative_gain - n * costs.review_cost,
        "approval_rate": k / max(n, 1),
        "bad_rate_approved": np.where(k > 0, cumulative_bad / np.maximum(k, 1), 0.0),
    }


def best_threshold(
    probability: np.ndarray,
    y_bad: np.ndarray,
    exposure: np.ndarray,
    term: np.ndarray,
    costs: CostSpec,
    min_approval_rate: float | None = None,
    acceptable: Callable[[float], bool] | None = None,
) -> tuple[float, float]:
    """The threshold (decline when probability ≥ it) that maximises profit on these rows.

    Parameters
    ----------
    probability : array
        Scores of the rows (higher = riskier).
    y_bad, exposure, term : arrays
        Outcome (1 = risky), money at risk and term of each row.
    costs : CostSpec
        The scenario's cost model.
    min_approval_rate : float, optional
        Only thresholds approving at least this share of rows are eligible.
    acceptable : callable, optional
        A further constraint on the decisions (e.g. fairness bounds): called with a candidate
        threshold, which is eligible only when it returns True. Thresholds are
        tried in order of profit, so the first acceptable one is the answer. When none is,
        the unconstrained best is returned (the promotion gate then reports the breach).

    Returns
    -------
    (threshold, profit_total)
        Among equally profitable thresholds the one approving the most rows is chosen
        (the lender serves more applicants for the same money).
    """
    table = _threshold_table(probability, y_bad, exposure, term, costs)
    eligible = np.ones(len(table["threshold"]), dtype=bool)
    if min_approval_rate is not None:
        eligible = table["approval_rate"] >= min_approval_rate - 1e-12
    profit = np.where(eligible, table["profit_total"], -np.inf)
    best = np.flatnonzero(profit == profit.max())[-1]
    if acceptable is not None:
        # by profit descending; among equal profits, more approvals first
        for index in np.lexsort((-table["approved"], -profit)):
            if not np.isfinite(profit[index]):
                break
            if acceptable(float(table["threshold"][index])):
                best = index
                break
    return float(table["threshold"][best]), float(table["profit_total"][best])


def profit_curve(
    probability: np.ndarray,
    y_bad: np.ndarray,
    exposure: np.ndarray,
    term: np.ndarray,
    costs: CostSpec,
    thresholds: np.ndarray | None = None,
) -> dict[str, list[float]]:
    """Profit per 1,000, approval rate and bad rate among approved at each threshold.

    ``thresholds`` defaults to 101 evenly spaced values in [0, 1].
    """
    grid = np.linspace(0.0, 1.0, 101) if thresholds is None else np.asarray(thresholds)
    p = np.asarray(probability, dtype=np.float64)
    rows = [policy_summary(y_bad, p < t, exposure, term, costs) for t in grid]
    return {
        "thresholds": [float(t) for t in grid],
        "profit_per_1000": [r["profit_per_1000"] for r in rows],
        "approval_rate": [r["approval_rate"] for r in rows],
        "bad_rate_approved": [r["bad_rate_approved"] for r in rows],
    }


def bootstrap_ci(
    values: np.ndarray,
    n_bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    scale: float = PER,
) -> dict[str, float]:
    """Percentile bootstrap interval of ``scale × mean(values)``.

    With ``values`` the per-row profits of one policy this is the interval of its profit per
    1,000 applications; with the per-row *difference* of two policies on the same rows it is
    the paired-bootstrap interval of their profit difference (rows are resampled together, so
    the applicants both policies saw stay matched).
    """
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(values), size=(n_bootstrap, len(values)))
    means = values[index].mean(axis=1) * scale
    alpha = (1.0 - level) / 2.0
    return {
        "estimate": float(values.mean() * scale),
        "low": float(np.quantile(means, alpha)),
        "high": float(np.quantile(means, 1.0 - alpha)),
        "level": level,
        "n_bootstrap": n_bootstrap,
    }


def paired_difference(
    y_bad: np.ndarray,
    approved_a: np.ndarray,
    approved_b: np.ndarray,
    exposure: np.ndarray,
    term: np.ndarray,
    costs: CostSpec,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Profit per 1,000 of policy A minus policy B on the same rows, with its paired CI."""
    diff = row_profit(y_bad, approved_a, exposure, term, costs) - row_profit(
        y_bad, approved_b, exposure, term, costs
    )
    return bootstrap_ci(diff, n_bootstrap=n_bootstrap, seed=seed)
