"""Render the EDA report: one self-contained HTML file (figures embedded as base64 PNG).

The numbers come from :mod:`riskloop.evaluation.eda`; this module only draws and lays out.
Figures use matplotlib's object API (``Figure`` + Agg canvas), never ``pyplot``, so rendering
touches no global state and works headless. The page is the Jinja2 template
``templates/eda.html.j2`` with auto-escaping on (column names come from user files).

The ``*_figure`` functions return matplotlib Figures, so a notebook can show the same pictures.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from riskloop.evaluation.eda import IV_SCALE, EDAResult, strongest_correlations

TEMPLATES = Path(__file__).with_name("templates")
GOOD_COLOUR = "#4C72B0"
BAD_COLOUR = "#C44E52"
STRENGTH_COLOURS = {
    "useless": "#BBBBBB",
    "weak": "#9ECAE1",
    "medium": "#4292C6",
    "strong": "#08519C",
    "suspicious": "#D94801",
}
# Histograms show the central 99 % of values; the heavy tails of money amounts would otherwise
# squash every other bar into one.
HISTOGRAM_RANGE = (0.005, 0.995)
DPI = 90


def figure_to_base64(figure: Figure) -> str:
    """PNG of ``figure``, base64-encoded for a ``data:image/png;base64,`` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def missingness_figure(table: pd.DataFrame) -> Figure | None:
    """Horizontal bars: share of missing values per column that has any (None when none has)."""
    shown = table[table["n_missing"] > 0].iloc[::-1]
    if shown.empty:
        return None
    figure = Figure(figsize=(6.5, 0.35 * len(shown) + 1.2), layout="constrained")
    ax = figure.add_subplot()
    ax.barh(shown["column"].astype(str), 100 * shown["share_missing"], color="#777777")
    for position, (share, count) in enumerate(
        zip(shown["share_missing"], shown["n_missing"], strict=True)
    ):
        ax.text(100 * share, position, f" {count:,}", va="center", fontsize=8)
    ax.set_xlabel("missing values (% of rows)")
    ax.set_title("Missing values per column")
    ax.margins(x=0.15)
    return figure


def information_value_figure(ivs: pd.DataFrame) -> Figure:
    """Horizontal bars of IV per feature, coloured by reading, with the reading's thresholds."""
    shown = ivs.iloc[::-1]
    figure = Figure(figsize=(6.5, 0.32 * len(shown) + 1.4), layout="constrained")
    ax = figure.add_subplot()
    ax.barh(
        shown["feature"].astype(str),
        shown["iv"],
        color=[STRENGTH_COLOURS[s] for s in shown["strength"]],
    )
    for upper, _ in IV_SCALE[:-1]:
        if upper <= max(float(ivs["iv"].max()), 0.1) * 1.1:
            ax.axvline(upper, color="#999999", lw=0.8, ls="--")
            ax.text(upper, len(shown) - 0.4, f"{upper:g}", fontsize=7, ha="center", va="bottom")
    handles = [Patch(color=colour, label=reading) for reading, colour in STRENGTH_COLOURS.items()]
    ax.legend(handles=handles, fontsize=7, loc="lower right", frameon=False)
    ax.set_xlabel("information value")
    ax.set_title("Information value per feature", pad=14)
    return figure


def feature_figure(
    values: pd.Series,
    y: np.ndarray,
    woe: pd.DataFrame,
    kind: str,
    outcome_labels: tuple[str, str],
) -> Figure:
    """Two panels for one feature: its distribution per outcome, and the risky-outcome rate
    per bin (bars; dashed line: overall rate; numbers: rows per bin).

    Parameters
    ----------
    values : Series
        The feature's values.
    y : ndarray of 0/1
        Outcome per row (1 = risky).
    woe : DataFrame
        The feature's :func:`~riskloop.evaluation.eda.woe_table` (its bins and counts).
    kind : {"numeric", "categorical"}
    outcome_labels : (str, str)
        Legend text of the good and the risky outcome.
    """
    y = np.asarray(y)
    figure = Figure(figsize=(11, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    name = str(values.name)
    if kind == "numeric":
        numbers = pd.to_numeric(values).to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(numbers)
        low, high = np.quantile(numbers[present], HISTOGRAM_RANGE) if present.any() else (0, 1)
        if high <= low:
            low, high = low - 0.5, high + 0.5
        edges = np.linspace(low, high, 31)
        for outcome, colour, label in ((0, GOOD_COLOUR, 0), (1, BAD_COLOUR, 1)):
            chosen = numbers[present & (y == outcome)]
            left.hist(
                np.clip(chosen, low, high),
                bins=edges,
                density=True,
                histtype="stepfilled",
                alpha=0.45,
                color=colour,
                label=f"{outcome_labels[label]} (n={chosen.size:,})",
            )
        left.set_ylabel("density")
        missing = int((~present).sum())
        note = f"; {missing:,} missing not shown" if missing else ""
        left.set_title(f"{name}: distribution by outcome (central 99 %{note})", fontsize=9)
    else:
        goods = woe["n_good"] / max(woe["n_good"].sum(), 1)
        bads = woe["n_bad"] / max(woe["n_bad"].sum(), 1)
        positions = np.arange(len(woe))
        left.bar(positions - 0.2, 100 * goods, 0.4, color=GOOD_COLOUR, label=outcome_labels[0])
        left.bar(positions + 0.2, 100 * bads, 0.4, color=BAD_COLOUR, label=outcome_labels[1])
        left.set_xticks(positions, woe["bin"], rotation=30, ha="right", fontsize=8)
        left.set_ylabel("% of rows with that outcome")
        left.set_title(f"{name}: distribution by outcome", fontsize=9)
    left.legend(fontsize=7, frameon=False)

    positions = np.arange(len(woe))
    rates = 100 * woe["bad_rate"].to_numpy(dtype=float)
    right.bar(positions, np.nan_to_num(rates), color=BAD_COLOUR, alpha=0.8)
    right.axhline(100 * y.mean(), color="#333333", lw=1, ls="--")
    for position, (rate, count) in enumerate(zip(rates, woe["count"], strict=True)):
        if np.isfinite(rate):
            right.text(position, rate, f"{count:,}", ha="center", va="bottom", fontsize=6)
    right.set_xticks(positions, woe["bin"], rotation=35, ha="right", fontsize=7)
    right.set_ylabel(f"% {outcome_labels[1]}")
    right.set_title(f"{name}: {outcome_labels[1]} rate by bin (n per bar)", fontsize=9)
    right.margins(y=0.15)
    return figure


def correlation_figure(correlation: pd.DataFrame) -> Figure | None:
    """Heatmap of the rank correlations, each cell annotated (None with fewer than 2 columns)."""
    if correlation.shape[0] < 2:
        return None
    size = 0.5 * len(correlation) + 2
    figure = Figure(figsize=(size + 1, size), layout="constrained")
    ax = figure.add_subplot()
    image = ax.imshow(correlation.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    names = [str(c) for c in correlation.columns]
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for (i, j), rho in np.ndenumerate(correlation.to_numpy()):
        if np.isfinite(rho):
            ax.text(
                j, i, f"{rho:.2f}", ha="center", va="center", fontsize=6,
                color="white" if abs(rho) > 0.6 else "black",
            )  # fmt: skip
    figure.colorbar(image, ax=ax, shrink=0.8, label="Spearman rho")
    ax.set_title("Rank correlation of the numeric features")
    return figure


def structure_figure(
    structure: dict[str, Any], y: np.ndarray, outcome_labels: tuple[str, str]
) -> Figure:
    """Three panels: the first two principal components coloured by outcome, then by k-means
    cluster, and the share of variance each component explains (bars) and cumulated (line)."""
    y = np.asarray(y)
    coordinates = structure["coordinates"]
    clusters = structure["clusters"]
    ratio = structure["explained_variance_ratio"]
    figure = Figure(figsize=(14, 4), layout="constrained")
    by_outcome, by_cluster, scree = figure.subplots(1, 3)
    # Axis limits on the central 99 % so a few extreme applicants do not squash the cloud.
    low = np.quantile(coordinates, 0.005, axis=0)
    high = np.quantile(coordinates, 0.995, axis=0)
    pad = 0.05 * (high - low + 1e-12)
    for outcome, colour in ((0, GOOD_COLOUR), (1, BAD_COLOUR)):
        chosen = y == outcome
        by_outcome.scatter(
            coordinates[chosen, 0],
            coordinates[chosen, 1],
            s=5,
            alpha=0.4,
            color=colour,
            label=outcome_labels[outcome],
            rasterized=True,
        )
    by_outcome.legend(fontsize=7, markerscale=3, frameon=False)
    by_outcome.set_title("PC1 × PC2 by outcome", fontsize=9)
    palette = [
        "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"
    ]  # fmt: skip
    for cluster in np.unique(clusters):
        chosen = clusters == cluster
        by_cluster.scatter(
            coordinates[chosen, 0],
            coordinates[chosen, 1],
            s=5,
            alpha=0.4,
            color=palette[int(cluster) % len(palette)],
            label=f"cluster {cluster}",
            rasterized=True,
        )
    by_cluster.legend(fontsize=7, markerscale=3, frameon=False)
    by_cluster.set_title("PC1 × PC2 by k-means cluster (fitted on all components)", fontsize=9)
    share = 100 * np.asarray(ratio)
    for ax in (by_outcome, by_cluster):
        ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
        ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
        ax.set_xlabel(f"PC1 ({share[0]:.1f} % of variance)")
        ax.set_ylabel(f"PC2 ({share[1]:.1f} % of variance)" if len(share) > 1 else "PC2")
    components = np.arange(1, len(share) + 1)
    scree.bar(components, share, color="#777777")
    scree.plot(components, np.cumsum(share), color="#333333", marker=".", lw=1)
    scree.set_xlabel("principal component")
    scree.set_ylabel("% of variance (bars: each; line: cumulated)")
    scree.set_title("Explained variance", fontsize=9)
    return figure


def key_findings(result: EDAResult, outcome_labels: tuple[str, str]) -> list[str]:
    """A few plain sentences summarising the report (computed, not hand-written)."""
    findings = []
    ivs = result.information_values
    top = ivs.head(3)
    findings.append(
        "Most informative features (IV): "
        + ", ".join(f"{r.feature} {r.iv:.3f} ({r.strength})" for r in top.itertuples())
        + "."
    )
    suspicious = ivs[ivs["strength"] == "suspicious"]
    if len(suspicious):
        findings.append(
            "IV above 0.5 — check for leakage of the outcome: "
            + ", ".join(suspicious["feature"].astype(str))
            + "."
        )
    useless = ivs[ivs["strength"] == "useless"]
    if len(useless):
        findings.append(
            "IV below 0.02 (little signal on its own): "
            + ", ".join(useless["feature"].astype(str))
            + "."
        )
    missing = result.missingness[result.missingness["n_missing"] > 0]
    if missing.empty:
        findings.append("No missing values.")
    else:
        worst = missing.iloc[0]
        sentence = (
            f"{len(missing)} column(s) have missing values; most: {worst['column']}"
            f" ({100 * worst['share_missing']:.1f} % of rows"
        )
        if "bad_rate_missing" in missing:
            sentence += (
                f", {outcome_labels[1]} rate {100 * worst['bad_rate_missing']:.1f} % when missing"
                f" vs {100 * worst['bad_rate_present']:.1f} % when present"
            )
        findings.append(sentence + ").")
    if not result.correlation.empty:
        pair = strongest_correlations(result.correlation, top=1)
        if len(pair):
            first, second, rho = pair.iloc[0]
            findings.append(f"Strongest rank correlation: {first} – {second}, rho = {rho:.2f}.")
    clusters = result.structure["clusters_table"]
    if len(clusters) > 1:
        high = clusters.loc[clusters["bad_rate"].idxmax()]
        low = clusters.loc[clusters["bad_rate"].idxmin()]
        findings.append(
            f"k-means clusters differ in risk without seeing the outcome: {outcome_labels[1]} rate"
            f" from {100 * low['bad_rate']:.1f} % (cluster {low['cluster']}, {low['profile']})"
            f" to {100 * high['bad_rate']:.1f} % (cluster {high['cluster']}, {high['profile']})."
        )
    return findings


def _table(frame: pd.DataFrame, formats: dict[str, str]) -> dict[str, Any]:
    """Columns and formatted cell strings for the template."""
    rows = []
    for record in frame.to_dict("records"):
        row = []
        for column, value in record.items():
            if isinstance(value, float) and not np.isfinite(value):
                row.append("–")
            elif column in formats:
                row.append(format(value, formats[column]))
            else:
                row.append(str(value))
        rows.append(row)
    return {"columns": [str(c) for c in frame.columns], "rows": rows}


def render_eda_report(
    result: EDAResult,
    frame: pd.DataFrame,
    y: Sequence[int] | np.ndarray,
    *,
    title: str,
    outcome_labels: tuple[str, str],
    context: dict[str, Any] | None = None,
) -> str:
    """The EDA report as one self-contained HTML page.

    Parameters
    ----------
    result : EDAResult
        The analyses (:func:`riskloop.evaluation.eda.explore`) of ``frame``.
    frame : DataFrame
        The rows analysed (the histograms need the values).
    y : array-like of 0/1
        Outcome per row (1 = risky).
    title : str
        Page title.
    outcome_labels : (str, str)
        How to name the good and the risky outcome, e.g. ``("Status=good", "Status=bad")``.
    context : dict, optional
        Extra facts shown under the title (name → value), e.g. the scenario and data source.
    """
    y = np.asarray(y)
    by_feature = result.information_values.set_index("feature")
    kinds, ivs = by_feature["kind"].to_dict(), by_feature["iv"].to_dict()
    features = []
    for name in [*result.overview["numeric"], *result.overview["categorical"]]:
        woe = result.woe[name]
        figure = feature_figure(frame[name], y, woe, kinds[name], outcome_labels)
        shown = woe[["bin", "count", "n_good", "n_bad", "bad_rate", "woe", "iv_contribution"]]
        features.append(
            {
                "name": name,
                "kind": kinds[name],
                "iv": ivs[name],
                "image": figure_to_base64(figure),
                "table": _table(
                    shown,
                    {"bad_rate": ".1%", "woe": "+.3f", "iv_contribution": ".4f", "count": ","},
                ),
            }
        )
    missing_figure = missingness_figure(result.missingness)
    correlation = correlation_figure(result.correlation)
    structure = result.structure
    missing_table = result.missingness[result.missingness["n_missing"] > 0]
    page = (
        _environment()
        .get_template("eda.html.j2")
        .render(
            title=title,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            context=context or {},
            overview=result.overview,
            settings=result.settings,
            outcome_labels=outcome_labels,
            findings=key_findings(result, outcome_labels),
            missing_image=figure_to_base64(missing_figure) if missing_figure else None,
            missing_table=_table(
                missing_table,
                {"share_missing": ".2%", "bad_rate_missing": ".1%", "bad_rate_present": ".1%"},
            ),
            iv_image=figure_to_base64(information_value_figure(result.information_values)),
            iv_table=_table(result.information_values, {"iv": ".4f"}),
            iv_reading=" ≤ ".join(f"{reading} < {upper:g}" for upper, reading in IV_SCALE[:-1])
            + f" ≤ {IV_SCALE[-1][1]}",
            features=features,
            correlation_image=figure_to_base64(correlation) if correlation else None,
            correlation_pairs=_table(strongest_correlations(result.correlation), {"rho": "+.2f"})
            if not result.correlation.empty
            else None,
            structure_image=figure_to_base64(structure_figure(structure, y, outcome_labels)),
            explained=[float(v) for v in structure["explained_variance_ratio"]],
            clusters_table=_table(
                structure["clusters_table"], {"share": ".1%", "bad_rate": ".1%", "lift": ".2f"}
            ),
            loadings=_table(
                structure["loadings"]
                .assign(magnitude=lambda t: np.hypot(t["pc1"], t.get("pc2", 0.0)))
                .sort_values("magnitude", ascending=False)
                .head(6)
                .drop(columns="magnitude")
                .rename_axis("column")
                .reset_index(),
                {"pc1": "+.2f", "pc2": "+.2f"},
            ),
        )
    )
    return page


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
