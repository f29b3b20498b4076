"""Classification targets and per-row weights: label types, encoding, sample and class weights."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from riskloop.scratch._validation.arrays import check_array

__all__ = [
    "check_classification_targets",
    "check_sample_weight",
    "class_sample_weight",
    "encode_classes",
    "type_of_target",
]


def type_of_target(y: np.ndarray) -> str:
    """Reduced ``sklearn.utils.multiclass.type_of_target`` for 1-D targets.

    Returns "binary", "multiclass", "continuous" or "unknown".
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        return "unknown"
    if y.dtype == object and not isinstance(y.flat[0], (str, numbers.Number, np.generic)):
        return "unknown"
    if y.dtype.kind == "f":
        finite = y[np.isfinite(y)] if y.size else y
        if finite.size != y.size or np.any(finite != np.round(finite)):
            return "continuous"
    if y.dtype.kind == "c":
        return "continuous"
    n_unique = np.unique(y).shape[0] if y.dtype != object else len(set(y.tolist()))
    return "multiclass" if n_unique > 2 else "binary"


def check_classification_targets(y: Any) -> None:
    """Raise ``ValueError("Unknown label type: ...")`` unless y is binary/multiclass."""
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: {kind}. Maybe you are trying to fit a "
            "classifier, which expects discrete classes on a "
            "regression target with continuous values."
        )


def encode_classes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique labels and y encoded as int64 indices ``0..k-1`` into them."""
    y = np.asarray(y)
    if y.dtype == object:
        # np.unique sorts object arrays of mixed str/int poorly; all-str is fine.
        classes, y_encoded = np.unique(y.astype(str) if _all_str(y) else y, return_inverse=True)
        classes = classes.astype(object)
    else:
        classes, y_encoded = np.unique(y, return_inverse=True)
    return classes, y_encoded.astype(np.int64).reshape(-1)


def _all_str(y: np.ndarray) -> bool:
    return all(isinstance(v, str) for v in y.tolist())


def class_sample_weight(
    class_weight: None | str | dict, y_encoded: np.ndarray, classes: np.ndarray
) -> np.ndarray:
    """Per-row weights from ``class_weight`` (None, "balanced" or {label: weight}).

    "balanced" gives class ``c`` the weight ``n_samples / (n_classes * count_c)``,
    as scikit-learn's ``compute_class_weight``. Labels missing from a dict get 1.
    """
    n_classes = len(classes)
    if class_weight is None:
        per_class = np.ones(n_classes)
    elif isinstance(class_weight, str) and class_weight == "balanced":
        counts = np.bincount(y_encoded, minlength=n_classes).astype(np.float64)
        per_class = len(y_encoded) / (n_classes * counts)
    elif isinstance(class_weight, dict):
        per_class = np.ones(n_classes)
        known = {c: i for i, c in enumerate(classes.tolist())}
        for label, weight in class_weight.items():
            if label not in known:
                raise ValueError(f"The classes, {[label]}, are not in class_weight")
            per_class[known[label]] = weight
    else:
        raise ValueError(f"class_weight must be None, 'balanced' or a dict; got {class_weight!r}")
    return per_class[y_encoded].astype(np.float64)


def check_sample_weight(sample_weight: Any, X: np.ndarray) -> np.ndarray:
    """Validate ``sample_weight`` against X: None → ones, scalar → constant, else 1-D."""
    n_samples = X.shape[0]
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    if isinstance(sample_weight, numbers.Real):
        return np.full(n_samples, float(sample_weight), dtype=np.float64)
    sample_weight = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=[np.float64, np.float32],
        order="C",
        input_name="sample_weight",
    )
    if sample_weight.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {sample_weight.ndim}D array. "
            f"Expected either a scalar value or a 1D array of length {n_samples}."
        )
    if sample_weight.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {sample_weight.shape}, expected {(n_samples,)}!")
    if np.all(sample_weight == 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if np.any(sample_weight < 0):
        raise ValueError("Negative values in data passed to `sample_weight`.")
    return sample_weight.astype(np.float64, copy=False)
