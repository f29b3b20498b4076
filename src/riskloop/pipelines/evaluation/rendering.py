"""What the evaluation nodes report, in words and pictures: the answer to "is ML worth it
here?", the business-impact and importance figures, and JSON-safe report values."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

# the served model's name among the policies of the business-impact report
CHAMPION_POLICY = "model"


def worth_it_answer(model_name: str, differences: dict[str, dict[str, float]]) -> tuple[str, bool]:
    """Plain-words answer to "is ML worth it here?" from the paired profit differences."""
    if not differences:
        return "There is no baseline to compare with.", True
    best_baseline = max(differences, key=lambda b: -differences[b]["estimate"])
    diff = differences[best_baseline]
    span = (
        f"{diff['estimate']:,.0f} per 1,000 applications"
        f" (95 % CI {diff['low']:,.0f} to {diff['high']:,.0f})"
    )
    if diff["low"] > 0:
        return (
            f"Yes. The model ({model_name}) makes {span} more than the best non-ML baseline"
            f" ({best_baseline}) on the test split, and the interval excludes zero.",
            True,
        )
    if diff["high"] < 0:
        return (
            f"No. The model ({model_name}) makes {span} *less* than the best non-ML baseline"
            f" ({best_baseline}) on the test split; that baseline is the better policy here.",
            False,
        )
    return (
        f"Not clearly. The model ({model_name}) differs from the best non-ML baseline"
        f" ({best_baseline}) by {span} on the test split; the interval includes zero, so this"
        " test set cannot tell the two apart.",
        diff["estimate"] > 0,
    )


def impact_figure(summary: dict[str, Any], model_type: str) -> Any:
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    names = list(summary)
    labels = [f"{model_type}" if n == CHAMPION_POLICY else n for n in names]
    figure = Figure(figsize=(11, 3.6), layout="constrained")
    axes = figure.subplots(1, 3)
    colours = ["#1f77b4" if n == CHAMPION_POLICY else "#9e9e9e" for n in names]
    profit = np.array([summary[n]["profit_per_1000"] for n in names])
    low = profit - np.array([summary[n]["profit_ci"]["low"] for n in names])
    high = np.array([summary[n]["profit_ci"]["high"] for n in names]) - profit
    axes[0].barh(labels, profit, xerr=[low, high], color=colours)
    axes[0].set_title("profit per 1,000 applications (95 % CI)")
    axes[0].axvline(0, color="black", linewidth=0.8)
    axes[0].xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:,.0f}k"))
    for ax, key, title in (
        (axes[1], "approval_rate", "approval rate"),
        (axes[2], "bad_rate_approved", "bad rate among approved"),
    ):
        ax.barh(labels, [summary[n][key] for n in names], color=colours)
        ax.set_title(title)
        ax.set_xlim(0, 1)
        ax.set_yticklabels([])
    figure.suptitle("Business impact on the test split")
    return figure


def jsonable(value: Any) -> Any:
    """Plain JSON types (the fairness report may hold NumPy numbers or dataclasses)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)

    def default(item: Any) -> Any:
        if isinstance(item, np.generic):
            return item.item()
        if isinstance(item, np.ndarray):
            return item.tolist()
        return str(item)

    return json.loads(json.dumps(value, default=default))


def comparison_row_for_card(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("cv_auc_mean", "cv_auc_sd", "validation_auc", "fit_seconds")
    return {**{k: None for k in keys}, **{k: v for k, v in row.items() if v == v}}


def importance_figure(importance: dict[str, float], output_space: str) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 0.35 * max(len(importance), 4) + 1), layout="constrained")
    axes = figure.subplots()
    names = list(importance)[::-1]
    axes.barh(names, [importance[n] for n in names], color="#1f77b4")
    axes.set_xlabel(f"mean |SHAP value| ({output_space.replace('_', '-')})")
    axes.set_title("Global importance of the champion's inputs")
    return figure


def no_explanations_figure() -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 1))
    figure.text(0.5, 0.5, "no explanations for this model", ha="center")
    return figure
