"""The checks every EDA analysis makes on its inputs: the outcome vector and a named column."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def outcome_vector(y: Any, n_rows: int) -> np.ndarray:
    """Validate an outcome vector: ``n_rows`` values, each 0 or 1."""
    values = np.asarray(y)
    if values.ndim != 1 or values.shape[0] != n_rows:
        raise ValueError(
            f"y must hold one outcome per row: {n_rows} rows, got shape {values.shape}"
        )
    if values.dtype == bool:
        return values.astype(np.int8)
    unexpected = set(np.unique(values).tolist()) - {0, 1}
    if unexpected:
        shown = ", ".join(repr(v) for v in sorted(unexpected, key=str)[:5])
        raise ValueError(f"y must be 0 (good) or 1 (risky outcome); received {shown}")
    return values.astype(np.int8)


def column_of(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise KeyError(f"column {column!r} is not in the data (columns: {list(frame.columns)})")
    return frame[column]
