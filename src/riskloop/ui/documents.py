"""Turn the report documents the API serves into tables the pages can show.

The fairness document (``GET /v1/model/reports`` → ``"fairness"``) holds, per sensitive
attribute, metrics per group with confidence intervals, plus summary numbers (ratios,
differences, bounds). Its exact nesting belongs to the evaluation layer; this module reads it
tolerantly so the page keeps working when that layout grows: a *group table* is any list of
objects that name their group (``group``/``name``/``label``/…) or any object whose values are
all flat metric objects, and an interval is written in any of the usual ways::

    "approval_rate": 0.61, "approval_rate_ci": [0.55, 0.67]
    "approval_rate": {"value": 0.61, "ci": [0.55, 0.67]}        (or "estimate"/"lower"/"upper")
    "approval_rate": 0.61, "approval_rate_low": 0.55, "approval_rate_high": 0.67
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

GROUP_KEYS = ("group", "group_name", "name", "label", "level", "category")
VALUE_KEYS = ("value", "estimate", "mean", "point", "rate")
INTERVAL_SUFFIXES = ("_ci", "_interval", "_confidence_interval")
LOW_SUFFIXES = ("_ci_low", "_ci_lower", "_lower", "_low")
HIGH_SUFFIXES = ("_ci_high", "_ci_upper", "_upper", "_high")


@dataclass
class Section:
    """One object of the document: its scalar facts and the group tables found in it."""

    title: str
    facts: dict[str, Any] = field(default_factory=dict)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_number, value)):
        return float(value[0]), float(value[1])
    return None


def _interval_object(value: Any) -> tuple[float, float | None, float | None] | None:
    """``{"value": v, "ci": [lo, hi]}`` and its spellings → (v, lo, hi); None otherwise."""
    if not isinstance(value, Mapping):
        return None
    point = next((value[k] for k in VALUE_KEYS if _is_number(value.get(k))), None)
    if point is None:
        return None
    pair = _pair(value.get("ci")) or _pair(value.get("interval"))
    low = next((value[k] for k in ("low", "lower", "ci_low", "ci_lower") if k in value), None)
    high = next((value[k] for k in ("high", "upper", "ci_high", "ci_upper") if k in value), None)
    if pair:
        low, high = pair
    return float(point), low, high


def _strip(key: str, suffixes: tuple[str, ...]) -> str | None:
    return next((key[: -len(s)] for s in suffixes if key.endswith(s) and len(key) > len(s)), None)


def flatten_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One group's metrics as flat columns: ``metric``, ``metric low``, ``metric high``."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if key in GROUP_KEYS and "group" not in flat:
            flat["group"] = str(value)
        elif (interval := _interval_object(value)) is not None:
            flat[key], low, high = interval
            if low is not None and high is not None:
                flat[f"{key} low"], flat[f"{key} high"] = float(low), float(high)
        elif (base := _strip(key, INTERVAL_SUFFIXES)) and (pair := _pair(value)):
            flat[f"{base} low"], flat[f"{base} high"] = pair
        elif _is_number(value) and (base := _strip(key, LOW_SUFFIXES)) and base in row:
            flat[f"{base} low"] = float(value)
        elif _is_number(value) and (base := _strip(key, HIGH_SUFFIXES)) and base in row:
            flat[f"{base} high"] = float(value)
        elif _is_number(value) or isinstance(value, bool | str) or value is None:
            flat[key] = value
    return flat


def _is_metric_object(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(
            _is_number(v)
            or v is None
            or isinstance(v, bool | str)
            or _pair(v) is not None
            or _interval_object(v) is not None
            for v in value.values()
        )
        and any(_is_number(v) or _interval_object(v) is not None for v in value.values())
    )


def _table(value: Any) -> pd.DataFrame | None:
    if (
        isinstance(value, list)
        and value
        and all(isinstance(r, Mapping) and any(k in r for k in GROUP_KEYS) for r in value)
    ):
        return pd.DataFrame([flatten_row(r) for r in value])
    if (
        isinstance(value, Mapping)
        and len(value) >= 2
        and all(_is_metric_object(v) for v in value.values())
    ):
        return pd.DataFrame([{"group": str(k), **flatten_row(v)} for k, v in value.items()])
    return None


def sections(document: Mapping[str, Any], title: str = "", depth: int = 0) -> list[Section]:
    """The sections of a report document, depth first, each with its facts and group tables.

    Parameters
    ----------
    document : dict
        A JSON object from the API (e.g. the fairness report).
    title : str
        Title of this object (the path of keys that led to it, joined by " › ").
    depth : int
        Nesting level; objects deeper than 5 levels are not explored.
    """
    here = Section(title=title)
    below: list[Section] = []
    for key, value in document.items():
        name = f"{title} › {key}" if title else str(key)
        if _is_number(value) or isinstance(value, bool | str) or value is None:
            here.facts[str(key)] = value
        elif (table := _table(value)) is not None:
            here.tables.append((str(key), table))
        elif (interval := _interval_object(value)) is not None:
            point, low, high = interval
            here.facts[str(key)] = (
                f"{point:.3g} ({low:.3g} – {high:.3g})" if low is not None else point
            )
        elif isinstance(value, Mapping) and depth < 5:
            below.extend(sections(value, name, depth + 1))
        elif (pair := _pair(value)) is not None:
            here.facts[str(key)] = "[{:.3g}, {:.3g}]".format(*pair)
    return ([here] if here.facts or here.tables else []) + below


def interval_metrics(frame: pd.DataFrame) -> list[str]:
    """The numeric columns of a group table, those with a confidence interval first."""
    numeric = [
        c
        for c in frame.columns
        if c != "group"
        and not c.endswith((" low", " high"))
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    return sorted(numeric, key=lambda c: f"{c} low" not in frame)


def with_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """The table for reading: ``0.612 (0.551 – 0.670)`` where an interval exists."""
    shown = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column.endswith((" low", " high")):
            continue
        if f"{column} low" in frame and f"{column} high" in frame:
            shown[column] = [
                f"{v:.3f} ({lo:.3f} – {hi:.3f})"
                for v, lo, hi in zip(
                    frame[column], frame[f"{column} low"], frame[f"{column} high"], strict=True
                )
            ]
        else:
            shown[column] = frame[column]
    return shown
