"""Tabular preprocessing: median imputation + standardisation of numbers, one-hot of categories.

One object serves training (``fit``/``transform`` on DataFrames, scikit-learn compatible so it
sits in a ``Pipeline``) and serving (:meth:`TabularPreprocessor.transform_records`, plain
dicts to a NumPy matrix with no pandas round-trip). Its fitted state is plain numbers and
strings (:meth:`to_state`), so the scorer stores it as JSON — no pickle.

Numeric column j becomes ``(x - mean_j) / scale_j`` with a missing x replaced by the training
median; a categorical column becomes one indicator per category seen in training, and a
missing or unseen category is all zeros (the model's baseline level).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Impute, scale and one-hot encode a DataFrame of applicant features.

    Parameters
    ----------
    numeric : list of str
        Numeric columns, in output order. Default: none.
    categorical : list of str
        Categorical columns, one-hot encoded after the numeric ones. Default: none.
    scale : bool
        Standardise numeric columns to zero mean and unit variance (after imputation).
        Default True; tree models do not need it but are not harmed.
    """

    def __init__(self, numeric: Sequence[str] = (), categorical: Sequence[str] = (), scale=True):
        self.numeric = numeric
        self.categorical = categorical
        self.scale = scale

    def fit(self, X: pd.DataFrame, y: Any = None) -> TabularPreprocessor:
        numbers = X[list(self.numeric)].to_numpy(dtype=np.float64, na_value=np.nan)
        medians = np.nanmedian(numbers, axis=0) if len(self.numeric) else np.empty(0)
        medians = np.where(np.isnan(medians), 0.0, medians)
        imputed = np.where(np.isnan(numbers), medians, numbers)
        means = imputed.mean(axis=0) if self.scale else np.zeros(len(self.numeric))
        scales = imputed.std(axis=0) if self.scale else np.ones(len(self.numeric))
        self.medians_ = medians
        self.means_ = means
        self.scales_ = np.where(scales > 0, scales, 1.0)
        self.categories_ = [
            sorted({str(v) for v in X[c].dropna().unique()}) for c in self.categorical
        ]
        self._build_lookup()
        return self

    def _build_lookup(self) -> None:
        offset = len(self.numeric)
        self._category_index: list[dict[str, int]] = []
        for levels in self.categories_:
            self._category_index.append({level: offset + i for i, level in enumerate(levels)})
            offset += len(levels)
        self.n_features_out_ = offset

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "categories_")
        names = list(self.numeric)
        for column, levels in zip(self.categorical, self.categories_, strict=True):
            names += [f"{column}={level}" for level in levels]
        return np.asarray(names, dtype=object)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "categories_")
        out = np.zeros((len(X), self.n_features_out_), dtype=np.float64)
        numbers = X[list(self.numeric)].to_numpy(dtype=np.float64, na_value=np.nan)
        out[:, : len(self.numeric)] = (
            np.where(np.isnan(numbers), self.medians_, numbers) - self.means_
        ) / self.scales_
        rows = np.arange(len(X))
        for column, lookup in zip(self.categorical, self._category_index, strict=True):
            values = X[column].astype(object).where(X[column].notna(), None).to_numpy()
            columns = np.array([lookup.get(str(v), -1) if v is not None else -1 for v in values])
            known = columns >= 0
            out[rows[known], columns[known]] = 1.0
        return out

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Fast path for serving: already-validated dicts → model matrix, without pandas."""
        n_numeric = len(self.numeric)
        out = np.zeros((len(records), self.n_features_out_), dtype=np.float64)
        for i, record in enumerate(records):
            for j, column in enumerate(self.numeric):
                value = record.get(column)
                out[i, j] = self.medians_[j] if value is None else value
            for column, lookup in zip(self.categorical, self._category_index, strict=True):
                value = record.get(column)
                if value is not None:
                    index = lookup.get(str(value), -1)
                    if index >= 0:
                        out[i, index] = 1.0
        out[:, :n_numeric] -= self.means_
        out[:, :n_numeric] /= self.scales_
        return out

    def to_state(self) -> dict[str, Any]:
        check_is_fitted(self, "categories_")
        return {
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "scale": bool(self.scale),
            "medians": self.medians_.tolist(),
            "means": self.means_.tolist(),
            "scales": self.scales_.tolist(),
            "categories": self.categories_,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TabularPreprocessor:
        pre = cls(numeric=state["numeric"], categorical=state["categorical"], scale=state["scale"])
        pre.medians_ = np.asarray(state["medians"], dtype=np.float64)
        pre.means_ = np.asarray(state["means"], dtype=np.float64)
        pre.scales_ = np.asarray(state["scales"], dtype=np.float64)
        pre.categories_ = [list(levels) for levels in state["categories"]]
        pre._build_lookup()
        return pre
