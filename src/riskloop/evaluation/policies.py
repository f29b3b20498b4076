"""Non-ML decision policies — the baselines a model must beat to be worth running.

A *policy* turns applications into approve/decline; where meaningful it also gives a score.
Each is a plain JSON document (so it can be stored, logged and re-scored later) and is applied
by :func:`policy_decisions`:

* ``approve_all`` — approve everyone (the lender's do-nothing benchmark).
* ``rule`` — decline when any configured rule matches (``scenario.baselines.decline_rules``,
  e.g. ``Records == "yes"``): a credit officer's rule of thumb, from config, not Python.
* ``scorecard`` — a points scorecard: every feature is cut into bins (quantile bins for numbers,
  one per category, one for missing), each bin's weight of evidence
  WoE_b = ln(share of goods in b / share of bads in b) feeds a logistic regression, and the
  fitted terms become integer points with the industry scaling: 600 points at 50:1 good:bad
  odds, 20 points to double the odds (``factor = 20 / ln 2``). A row's score is the sum of its
  points; its probability of the risky outcome is σ(−(score − offset) / factor). The policy
  declines at a probability threshold chosen by profit on the training split.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskloop.data.scenario import Scenario

PDO = 20.0  # points to double the odds
BASE_SCORE, BASE_ODDS = 600.0, 50.0
SMOOTHING = 0.5  # added to good/bad counts per bin so an empty class gives a finite WoE
MISSING = "__missing__"


def approve_all_policy() -> dict[str, Any]:
    return {"name": "approve_all", "kind": "approve_all"}


def rule_policy(scenario: Scenario, columns: list[str]) -> dict[str, Any] | None:
    """The scenario's decline rules, or None when it has none (or they name absent columns)."""
    rules = [r.model_dump(exclude_none=True) for r in scenario.baselines.decline_rules]
    if not rules or any(r["column"] not in columns for r in rules):
        return None
    return {"name": "rule", "kind": "rule", "rules": rules}


def _rule_matches(frame: pd.DataFrame, rule: dict[str, Any]) -> np.ndarray:
    column = frame[rule["column"]]
    if "equals" in rule:
        return (column.astype(str) == str(rule["equals"])).to_numpy()
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return values > rule["above"] if "above" in rule else values < rule["below"]


def _bin_labels(column: pd.Series, spec: dict[str, Any]) -> np.ndarray:
    """Bin of each value: numeric bins by edges, then missing; categories, then missing, other."""
    if spec["kind"] == "numeric":
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        index = np.searchsorted(np.asarray(spec["edges"]), values, side="right")
        return np.where(np.isnan(values), len(spec["edges"]) + 1, index)
    lookup = {c: i for i, c in enumerate(spec["categories"])}
    n = len(spec["categories"])
    return np.array(
        [n if v is None or v is pd.NA or v != v else lookup.get(str(v), n + 1) for v in column]
    )


def fit_scorecard(
    frame: pd.DataFrame,
    y_bad: np.ndarray,
    numeric: list[str],
    categorical: list[str],
    n_bins: int = 5,
) -> dict[str, Any]:
    """Fit a WoE-binned logistic regression and turn it into an integer points table."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y_bad).astype(bool)
    features: dict[str, Any] = {}
    woe_columns = []
    for name in [*numeric, *categorical]:
        if name in numeric:
            values = pd.to_numeric(frame[name], errors="coerce").dropna().to_numpy(np.float64)
            edges = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1]))
            spec: dict[str, Any] = {"kind": "numeric", "edges": edges.tolist()}
            n_slots = len(edges) + 2  # bins, then missing
        else:
            categories = sorted({str(v) for v in frame[name].dropna().unique()})
            spec = {"kind": "categorical", "categories": categories}
            n_slots = len(categories) + 2  # categories, missing, other
        bins = _bin_labels(frame[name], spec)
        goods = np.bincount(bins[~y], minlength=n_slots) + SMOOTHING
        bads = np.bincount(bins[y], minlength=n_slots) + SMOOTHING
        woe = np.log((goods / goods.sum()) / (bads / bads.sum()))
        spec["woe"] = woe.tolist()
        features[name] = spec
        woe_columns.append(woe[bins])
    design = np.column_stack(woe_columns) if woe_columns else np.zeros((len(y), 0))
    model = LogisticRegression(C=1.0, max_iter=1000).fit(design, y.astype(int))
    factor = PDO / np.log(2.0)
    offset = BASE_SCORE - factor * np.log(BASE_ODDS)
    # score = offset + factor·ln(odds good) = offset − factor·(β0 + Σ β_j·WoE_j)
    for beta, spec in zip(model.coef_[0], features.values(), strict=True):
        spec["points"] = [int(round(-factor * beta * w)) for w in spec.pop("woe")]
    return {
        "name": "scorecard",
        "kind": "scorecard",
        "base_points": int(round(offset - factor * model.intercept_[0])),
        "offset": float(offset),
        "factor": float(factor),
        "features": features,
        "threshold": 0.5,
    }


def scorecard_points(policy: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """Total points of each row (higher = safer)."""
    total = np.full(len(frame), float(policy["base_points"]))
    for name, spec in policy["features"].items():
        total += np.asarray(spec["points"], dtype=np.float64)[_bin_labels(frame[name], spec)]
    return total


def policy_probability(policy: dict[str, Any], frame: pd.DataFrame) -> np.ndarray | None:
    """The policy's probability of the risky outcome, or None when it has no score."""
    if policy["kind"] != "scorecard":
        return None
    points = scorecard_points(policy, frame)
    return 1.0 / (1.0 + np.exp((points - policy["offset"]) / policy["factor"]))


def policy_decisions(policy: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """Approve (True) or decline (False) for each row under the policy."""
    kind = policy["kind"]
    if kind == "approve_all":
        return np.ones(len(frame), dtype=bool)
    if kind == "rule":
        declined = np.zeros(len(frame), dtype=bool)
        for rule in policy["rules"]:
            declined |= _rule_matches(frame, rule)
        return ~declined
    if kind == "scorecard":
        return policy_probability(policy, frame) < policy["threshold"]
    raise ValueError(f"unknown policy kind {kind!r}; known: approve_all, rule, scorecard")
