"""The bundled credit data as a numeric matrix, for tests against references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CREDIT_CSV = Path(__file__).resolve().parents[2] / "data" / "01_raw" / "credit_data.csv"


def credit_matrix(standardise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): one-hot categoricals, median-imputed numerics, y = 1 for "bad"."""
    frame = pd.read_csv(CREDIT_CSV)
    y = (frame.pop("Status") == "bad").to_numpy(dtype=np.int64)
    categorical = frame.select_dtypes(exclude="number").columns
    numeric = frame.columns.difference(categorical)
    frame[numeric] = frame[numeric].fillna(frame[numeric].median())
    X = pd.get_dummies(frame, columns=list(categorical), dtype=float).to_numpy(np.float64)
    if standardise:
        std = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return X, y
