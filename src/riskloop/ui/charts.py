"""Chart builders and small computations for the UI pages.

Pure functions of the API's JSON documents: they return Altair (Vega-Lite) charts, which
Streamlit renders with its bundled front end (no CDN), or plain numbers. Nothing here calls the
API or imports model code, so each function is tested on its own.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

APPROVE_COLOUR = "#2e7d32"
DECLINE_COLOUR = "#c62828"
NEUTRAL_COLOUR = "#1f4e79"

# alt.layer is typed to return either kind of chart
Layered = alt.LayerChart | alt.FacetChart


# --------------------------------------------------------------------------- score page
def probability_gauge(probability: float, threshold: float) -> Layered:
    """A half-dial from 0 to 1: the approve zone (below ``threshold``) in green, the decline
    zone in red, the applicant's probability of default as a dark arc and a label.

    Parameters
    ----------
    probability : float
        The applicant's probability of the risky outcome, in [0, 1].
    threshold : float
        The decision threshold: decline at or above it.
    """
    probability = min(max(float(probability), 0.0), 1.0)
    # theta runs from -pi/2 (probability 0, left) to +pi/2 (probability 1, right).
    dial = alt.Scale(domain=[0.0, 1.0], range=[-math.pi / 2, math.pi / 2])
    zones = pd.DataFrame(
        {
            "start": [0.0, threshold],
            "end": [threshold, 1.0],
            "zone": ["approve", "decline"],
        }
    )
    band = (
        alt.Chart(zones)
        .mark_arc(innerRadius=118, outerRadius=140, opacity=0.35)
        .encode(
            theta=alt.Theta("start:Q", scale=dial),
            theta2="end:Q",
            color=alt.Color(
                "zone:N",
                scale=alt.Scale(
                    domain=["approve", "decline"], range=[APPROVE_COLOUR, DECLINE_COLOUR]
                ),
                legend=None,  # green/red around a threshold label needs no key
            ),
            tooltip=[alt.Tooltip("zone:N"), alt.Tooltip("start:Q", format=".2f", title="from")],
        )
    )
    value = (
        alt.Chart(pd.DataFrame({"start": [0.0], "end": [probability]}))
        .mark_arc(innerRadius=80, outerRadius=114, color=NEUTRAL_COLOUR)
        .encode(theta=alt.Theta("start:Q", scale=dial), theta2="end:Q")
    )
    label = (
        alt.Chart(pd.DataFrame({"text": [f"{probability:.1%}"]}))
        .mark_text(fontSize=34, fontWeight="bold", dy=-20, color=NEUTRAL_COLOUR)
        .encode(text="text:N")
    )
    caption = (
        alt.Chart(pd.DataFrame({"text": [f"threshold {threshold:.0%}"]}))
        .mark_text(fontSize=13, dy=10, color="#555")
        .encode(text="text:N")
    )
    return alt.layer(band, value, label, caption).properties(height=300)


def reason_bars(reasons: Sequence[Mapping[str, Any]]) -> alt.Chart:
    """Horizontal bars of the reason codes, largest push toward decline on top.

    Parameters
    ----------
    reasons : list of dict
        ``{"feature", "text", "contribution"}`` as returned by ``POST /v1/score``.
    """
    frame = pd.DataFrame(
        {
            "reason": [r.get("text") or r["feature"] for r in reasons],
            "feature": [r["feature"] for r in reasons],
            "contribution": [float(r["contribution"]) for r in reasons],
        }
    )
    return (
        alt.Chart(frame)
        .mark_bar(color=DECLINE_COLOUR)
        .encode(
            x=alt.X("contribution:Q", title="push toward decline"),
            y=alt.Y(
                "reason:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)
            ),
            tooltip=["reason", "feature", alt.Tooltip("contribution:Q", format=".3f")],
        )
        .properties(height=max(80, 44 * len(frame)))
    )


def what_if_chart(
    values: Sequence[Any],
    probabilities: Sequence[float],
    threshold: float,
    field: str,
    current: Any,
) -> Layered:
    """Probability of default as one field varies, the others held at the applicant's values.

    Parameters
    ----------
    values, probabilities : sequences of equal length
        The tried values of ``field`` and the probability the API returned for each.
    threshold : float
        Decision threshold, drawn as a horizontal rule.
    field : str
        The varied field's name (axis title).
    current : value
        The applicant's own value, drawn as a point.
    """
    frame = pd.DataFrame({"value": list(values), "probability": list(probabilities)})
    numeric = pd.api.types.is_numeric_dtype(frame["value"])
    kind = "Q" if numeric else "N"
    base = alt.Chart(frame).encode(
        x=alt.X(f"value:{kind}", title=field, sort=None),
        y=alt.Y("probability:Q", title="probability of default", scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("value", title=field), alt.Tooltip("probability:Q", format=".1%")],
    )
    curve = (
        base.mark_line(point=True, color=NEUTRAL_COLOUR)
        if numeric
        else base.mark_bar(color=NEUTRAL_COLOUR, opacity=0.7)
    )
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [threshold]}))
        .mark_rule(color=DECLINE_COLOUR, strokeDash=[4, 4])
        .encode(y="threshold:Q")
    )
    mine = frame[frame["value"] == current]
    marker = (
        alt.Chart(mine)
        .mark_point(size=140, filled=True, color="#f9a825")
        .encode(x=alt.X(f"value:{kind}", sort=None), y="probability:Q")
    )
    return alt.layer(curve, rule, marker).properties(height=220)


# --------------------------------------------------------------------------- model page
def calibration_chart(calibration: Mapping[str, Any]) -> Layered:
    """Observed default rate against mean predicted probability per bin, point size = count,
    with the diagonal of perfect calibration."""
    bins = pd.DataFrame(calibration["bins"])
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(color="#999", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    axis = alt.Scale(domain=[0, 1])
    points = (
        alt.Chart(bins)
        .mark_line(point=True, color=NEUTRAL_COLOUR)
        .encode(
            x=alt.X("predicted:Q", title="mean predicted probability", scale=axis),
            y=alt.Y("observed:Q", title="observed default rate", scale=axis),
            tooltip=[
                alt.Tooltip("predicted:Q", format=".3f"),
                alt.Tooltip("observed:Q", format=".3f"),
                "count:Q",
            ],
        )
    )
    sizes = points.mark_circle(color=NEUTRAL_COLOUR).encode(
        size=alt.Size("count:Q", legend=alt.Legend(title="applications"))
    )
    return alt.layer(diagonal, points, sizes).properties(height=340)


def comparison_chart(rows: Sequence[Mapping[str, Any]]) -> Layered | None:
    """Cross-validated AUC of each candidate, mean ± one standard deviation; None when the
    rows carry no ``cv_auc_mean``."""
    frame = pd.DataFrame(rows)
    if "cv_auc_mean" not in frame or "name" not in frame:
        return None
    spread = frame.get("cv_auc_sd", 0.0)
    frame = frame.assign(low=frame["cv_auc_mean"] - spread, high=frame["cv_auc_mean"] + spread)
    y = alt.Y("name:N", title=None, sort=alt.EncodingSortField("cv_auc_mean", order="descending"))
    bars = (
        alt.Chart(frame)
        .mark_errorbar(ticks=True)
        .encode(
            x=alt.X("low:Q", title="cross-validated AUC (mean ± sd)", scale=alt.Scale(zero=False)),
            x2="high:Q",
            y=y,
        )
    )
    means = (
        alt.Chart(frame)
        .mark_point(filled=True, size=80, color=NEUTRAL_COLOUR)
        .encode(x="cv_auc_mean:Q", y=y, tooltip=list(frame.columns))
    )
    return alt.layer(bars, means).properties(height=max(80, 36 * len(frame)))


# --------------------------------------------------------------------------- business page
@dataclass(frozen=True)
class OperatingPoint:
    """What the lender gets at one threshold of the profit curve."""

    threshold: float
    approval_rate: float
    bad_rate_approved: float
    profit_per_1000: float


def operating_point(curve: Mapping[str, Sequence[float]], threshold: float) -> OperatingPoint:
    """The profit-curve point whose threshold is nearest to ``threshold`` (ties: the lower).

    Parameters
    ----------
    curve : dict
        ``{"thresholds", "profit_per_1000", "approval_rate", "bad_rate_approved"}``, arrays of
        equal length with thresholds in increasing order (``GET /v1/model/reports``).
    threshold : float
        The threshold the user picked.
    """
    thresholds = [float(t) for t in curve["thresholds"]]
    right = bisect_left(thresholds, threshold)
    if right == 0:
        index = 0
    elif right == len(thresholds):
        index = len(thresholds) - 1
    else:
        left = right - 1
        below, above = threshold - thresholds[left], thresholds[right] - threshold
        index = left if below <= above else right
    return OperatingPoint(
        threshold=thresholds[index],
        approval_rate=float(curve["approval_rate"][index]),
        bad_rate_approved=float(curve["bad_rate_approved"][index]),
        profit_per_1000=float(curve["profit_per_1000"][index]),
    )


def profit_chart(
    curve: Mapping[str, Sequence[float]], selected: float, chosen: float | None
) -> Layered:
    """Profit per 1,000 applications against the threshold, with rules at the selected
    threshold (solid) and the model's chosen threshold (dashed)."""
    frame = pd.DataFrame(
        {"threshold": curve["thresholds"], "profit per 1,000": curve["profit_per_1000"]}
    )
    line = (
        alt.Chart(frame)
        .mark_line(color=NEUTRAL_COLOUR)
        .encode(
            x=alt.X("threshold:Q", title="decline when probability of default ≥"),
            y=alt.Y("profit per 1,000:Q"),
            tooltip=[
                alt.Tooltip("threshold:Q", format=".3f"),
                alt.Tooltip("profit per 1,000:Q", format=",.0f"),
            ],
        )
    )
    rules = [{"threshold": selected, "which": "selected"}]
    if chosen is not None:
        rules.append({"threshold": chosen, "which": "model's threshold"})
    rule = (
        alt.Chart(pd.DataFrame(rules))
        .mark_rule(size=2)
        .encode(
            x="threshold:Q",
            color=alt.Color(
                "which:N",
                scale=alt.Scale(
                    domain=["selected", "model's threshold"], range=["#f9a825", "#555"]
                ),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            strokeDash=alt.StrokeDash(
                "which:N",
                scale=alt.Scale(domain=["selected", "model's threshold"], range=[[1, 0], [5, 4]]),
                legend=None,
            ),
        )
    )
    return alt.layer(line, rule).properties(height=320)


def rates_chart(curve: Mapping[str, Sequence[float]], selected: float) -> Layered:
    """Approval rate and bad rate among the approved against the threshold."""
    frame = pd.DataFrame(
        {
            "threshold": list(curve["thresholds"]) * 2,
            "rate": list(curve["approval_rate"]) + list(curve["bad_rate_approved"]),
            "measure": ["approval rate"] * len(curve["thresholds"])
            + ["bad rate among approved"] * len(curve["thresholds"]),
        }
    )
    lines = (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X("threshold:Q", title="threshold"),
            y=alt.Y("rate:Q", axis=alt.Axis(format="%"), title=None),
            color=alt.Color("measure:N", legend=alt.Legend(title=None, orient="bottom")),
            tooltip=[
                "measure",
                alt.Tooltip("threshold:Q", format=".3f"),
                alt.Tooltip("rate:Q", format=".1%"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [selected]}))
        .mark_rule(color="#f9a825", size=2)
        .encode(x="threshold:Q")
    )
    return alt.layer(lines, rule).properties(height=220)


# --------------------------------------------------------------------------- fairness page
def group_interval_chart(frame: pd.DataFrame, metric: str) -> Layered:
    """One metric per group as a point with its confidence interval as an error bar.

    Parameters
    ----------
    frame : DataFrame
        Columns ``group``, ``<metric>`` and, when known, ``<metric> low`` / ``<metric> high``.
    metric : str
        The metric to draw.
    """
    y = alt.Y("group:N", title=None, sort=None)
    point = (
        alt.Chart(frame)
        .mark_point(filled=True, size=90, color=NEUTRAL_COLOUR)
        .encode(
            x=alt.X(f"{metric}:Q", title=metric),
            y=y,
            tooltip=[c for c in frame.columns if c == "group" or c.startswith(metric)],
        )
    )
    layers: list[alt.Chart] = []
    if f"{metric} low" in frame and f"{metric} high" in frame:
        layers.append(
            alt.Chart(frame)
            .mark_errorbar(ticks=True)
            .encode(x=alt.X(f"{metric} low:Q", title=metric), x2=f"{metric} high:Q", y=y)
        )
    return alt.layer(*layers, point).properties(height=max(80, 40 * len(frame)))


# --------------------------------------------------------------------------- model page
def importance_chart(importance: Mapping[str, float], unit: str) -> alt.Chart:
    """Global importance: one bar per input feature, the most important on top."""
    frame = pd.DataFrame({"feature": list(importance), "value": list(importance.values())})
    return (
        alt.Chart(frame)
        .mark_bar(color=NEUTRAL_COLOUR)
        .encode(
            x=alt.X("value:Q", title=f"mean |contribution| ({unit})"),
            y=alt.Y("feature:N", sort="-x", title=None),
            tooltip=["feature", alt.Tooltip("value:Q", title="mean |contribution|", format=".4f")],
        )
        .properties(height=alt.Step(20))
    )


def attention_vs_shap_chart(rows: Sequence[Mapping[str, Any]]) -> alt.Chart:
    """Per feature, its share of the model's [CLS] attention beside its share of the total
    |SHAP| importance: where the model looked against what moved its scores."""
    total_shap = sum(r["mean_abs_shap"] for r in rows) or 1.0
    records = []
    for row in rows:
        records.append(
            {"feature": row["feature"], "measure": "attention", "share": row["attention_rollout"]}
        )
        records.append(
            {
                "feature": row["feature"],
                "measure": "|SHAP|",
                "share": row["mean_abs_shap"] / total_shap,
            }
        )
    order = [row["feature"] for row in rows]
    return (
        alt.Chart(pd.DataFrame(records))
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title="share of the total", axis=alt.Axis(format="%")),
            y=alt.Y("feature:N", sort=order, title=None),
            yOffset="measure:N",
            color=alt.Color(
                "measure:N",
                scale=alt.Scale(domain=["attention", "|SHAP|"], range=["#8e44ad", NEUTRAL_COLOUR]),
                title=None,
            ),
            tooltip=["feature", "measure", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=alt.Step(12))
    )
