"""Monitoring page: the monitor's windows as time series with their alert thresholds — input
drift (PSI), prediction drift, realised against label-free performance, fairness, latency —
and the triggers that fired."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from riskloop.ui.charts import Layered
from riskloop.ui.client import APIUnavailable
from riskloop.ui.components import (
    ANALYST,
    api,
    explain_unavailable,
    holds_role,
    model_caption,
    model_or_explain,
)

# PSI convention in credit: < 0.10 stable, 0.10–0.25 watch, > 0.25 act
PSI_THRESHOLDS = {"watch": 0.10, "act": 0.25}

# the charts of the page: title, metrics drawn, what the reader should know
CHARTS = (
    ("Input drift", ["max_feature_psi"], "largest PSI over the inputs"),
    ("Prediction drift", ["prediction_psi"], "PSI of the score distribution"),
    (
        "Ranking: realised vs label-free",
        ["realised_auc", "expected_auc"],
        "realised AUC counts outcomes as they arrive, by window of the decision; the"
        " label-free estimate comes from the probabilities alone and cannot see concept drift",
    ),
    (
        "Bad rate among approved",
        ["bad_rate_approved", "expected_bad_rate"],
        "realised (arrived outcomes) against the label-free expectation",
    ),
    ("Approval rate", ["approval_rate"], "share of applications approved"),
    ("Latency (ms)", ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"], "from the log"),
)


def long_frame(windows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (window, metric) with its value and sample size; windows in order."""
    rows = [
        {
            "window": w["window_id"].rsplit(":", 1)[-1],
            "end": pd.Timestamp(w["end"]),
            "metric": metric,
            "value": value,
            "n": w["n"].get(metric),
        }
        for w in windows
        for metric, value in w["metrics"].items()
        if value is not None
    ]
    return pd.DataFrame(rows, columns=["window", "end", "metric", "value", "n"])


def thresholds_for(metrics: list[str], rules: list[dict[str, Any]]) -> pd.DataFrame:
    """Horizontal lines: the PSI convention for PSI charts, and every rule bound on a metric
    drawn (rules on a drop are drawn on their own metric only)."""
    lines = []
    if any(m.endswith("psi") for m in metrics):
        lines += [{"threshold": f"PSI {k}", "value": v} for k, v in PSI_THRESHOLDS.items()]
    for rule in rules:
        if rule.get("metric") in metrics:
            bound = rule.get("above") if rule.get("above") is not None else rule.get("below")
            lines.append({"threshold": f"rule {rule['name']}", "value": bound})
    return pd.DataFrame(lines, columns=["threshold", "value"])


def series_chart(frame: pd.DataFrame, lines: pd.DataFrame) -> Layered | alt.Chart:
    order = list(dict.fromkeys(frame["window"]))
    base = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("window:N", sort=order, title="window"),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("metric:N"),
            tooltip=["window", "metric", alt.Tooltip("value:Q", format=".4f"), "n"],
        )
    )
    if lines.empty:
        return base
    rules = (
        alt.Chart(lines)
        .mark_rule(strokeDash=[6, 4], color="firebrick")
        .encode(y="value:Q", tooltip=["threshold", "value"])
    )
    return alt.layer(base, rules)


def render() -> None:
    st.title("Monitoring", anchor=False)
    if not holds_role(ANALYST):
        return
    model = model_or_explain()
    if model is None:
        return
    model_caption(model)
    try:
        document = api().get_monitoring()
    except APIUnavailable as problem:
        explain_unavailable(problem)
        return
    windows = document.get("windows") or []
    if not windows:
        st.info(
            "No monitor results for this model yet. Run `riskloop monitor` (once) or"
            " `riskloop monitor --every 5m` (a loop) after some applications were scored."
        )
        return
    triggers = document.get("triggers") or []
    if triggers:
        st.subheader("Fired triggers", anchor=False)
        st.dataframe(
            pd.DataFrame(triggers)[["at", "rule", "metric", "bound", "latest", "window_id"]],
            hide_index=True,
            width="stretch",
        )
    else:
        st.success("No trigger has fired for this model.")
    latest = windows[-1]
    st.caption(
        f"{len(windows)} windows; newest {latest['window_id']} ({latest['n'].get('rows', 0)}"
        f" applications, {int(latest['metrics'].get('n_labelled') or 0)} outcomes arrived),"
        f" computed {latest['computed_at']}."
    )
    frame = long_frame(windows)
    rules = document.get("rules") or []
    for title, metrics, note in CHARTS:
        shown = frame[frame["metric"].isin(metrics)]
        st.subheader(title, anchor=False)
        if shown.empty:
            st.caption(f"{note}. Not available yet (too few outcomes, or an older model).")
            continue
        st.caption(note)
        st.altair_chart(series_chart(shown, thresholds_for(metrics, rules)), width="stretch")
    fairness = frame[
        frame["metric"].str.contains(":") & ~frame["metric"].str.startswith(("psi:", "p_value:"))
    ]
    if not fairness.empty:
        st.subheader("Fairness per window", anchor=False)
        st.caption(
            "Selection-rate parity needs no outcomes; demographic parity ratio and equalized"
            " odds difference are computed on the applications whose outcomes arrived."
        )
        st.altair_chart(series_chart(fairness, pd.DataFrame()), width="stretch")
    st.subheader("Input drift of the newest window", anchor=False)
    psi = {m.removeprefix("psi:"): v for m, v in latest["metrics"].items() if m.startswith("psi:")}
    table = pd.DataFrame({"feature": list(psi), "PSI": list(psi.values())})
    table["p-value"] = [latest["metrics"].get(f"p_value:{f}") for f in psi]
    table["n"] = [latest["n"].get(f"psi:{f}") for f in psi]
    st.dataframe(table.sort_values("PSI", ascending=False), hide_index=True, width="stretch")


render()
