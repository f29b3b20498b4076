"""``check_array``: any array-like to a validated dense ndarray, NumPy only.

Mirrors the semantics *and the messages* of ``sklearn.utils.validation.check_array``
(scikit-learn 1.9), because scikit-learn's estimator checks match on those
messages. Containers are handled by duck typing: a DataFrame is anything with
``columns`` and ``dtypes``; a sparse matrix is anything from a ``scipy.sparse``
module (rejected, we are dense-only). Nothing here imports scikit-learn, SciPy
or pandas.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from riskloop.scratch._validation.exceptions import DataConversionWarning, sklearn_compatible

__all__ = ["check_array", "column_or_1d"]


# --------------------------------------------------------------------------- #
# container helpers (duck-typed, no pandas / scipy import)
# --------------------------------------------------------------------------- #
def _is_sparse(x: Any) -> bool:
    return type(x).__module__.startswith("scipy.sparse")


def _is_dataframe(x: Any) -> bool:
    return hasattr(x, "columns") and hasattr(x, "dtypes") and hasattr(x, "shape")


def _is_series(x: Any) -> bool:
    return hasattr(x, "iloc") and hasattr(x, "dtype") and not _is_dataframe(x)


def _estimator_name(estimator: Any) -> str | None:
    if estimator is None:
        return None
    return estimator if isinstance(estimator, str) else type(estimator).__name__


def _frame_to_numpy(X: Any, dtype: Any) -> np.ndarray:
    """Convert a DataFrame/Series, mapping nullable extension dtypes' NA to NaN."""
    dtypes = list(X.dtypes) if _is_dataframe(X) else [X.dtype]
    extension = [d for d in dtypes if not isinstance(d, np.dtype)]
    if not extension:
        return np.asarray(X, dtype=dtype)
    kinds = {getattr(d, "kind", "O") for d in extension}
    if kinds <= set("iufb") and hasattr(X, "to_numpy"):
        target = dtype if dtype is not None else np.float64
        return X.to_numpy(dtype=target, na_value=np.nan)
    return np.asarray(X, dtype=dtype if dtype is not None else object)


def _assert_all_finite(
    X: np.ndarray, *, allow_nan: bool, estimator_name: str | None, input_name: str
) -> None:
    if X.dtype == object:
        if not allow_nan and _object_isnan(X).any():
            raise ValueError("Input contains NaN")
        return
    if X.dtype.kind not in "fc":
        return
    with np.errstate(over="ignore"):
        if np.isfinite(np.sum(X)):
            return
    has_inf = bool(np.isinf(X).any())
    has_nan_error = False if allow_nan else bool(np.isnan(X).any())
    if not (has_inf or has_nan_error):
        return
    type_err = "NaN" if has_nan_error else f"infinity or a value too large for {X.dtype!r}"
    padded = input_name + " " if input_name else ""
    msg = f"Input {padded}contains {type_err}."
    if estimator_name and input_name == "X" and has_nan_error:
        msg += (
            f"\n{estimator_name} does not accept missing values encoded as NaN "
            "natively. Impute them first (e.g. with the median) or use an "
            "estimator that accepts NaN."
        )
    raise ValueError(msg)


def _object_isnan(X: np.ndarray) -> np.ndarray:
    return X != X  # NaN is the only value not equal to itself


# --------------------------------------------------------------------------- #
# arrays
# --------------------------------------------------------------------------- #
def check_array(
    array: Any,
    *,
    dtype: Any = "numeric",
    order: str | None = None,
    ensure_all_finite: bool | str = True,
    ensure_2d: bool = True,
    ensure_min_samples: int = 1,
    ensure_min_features: int = 1,
    estimator: Any = None,
    input_name: str = "",
) -> np.ndarray:
    """Convert ``array`` to a validated ndarray (dense, real, finite, non-empty).

    Parameters
    ----------
    array : array-like
        Input to check; a DataFrame or list is converted with NumPy.
    dtype : "numeric", dtype, list of dtypes or None, default="numeric"
        "numeric" keeps numeric dtypes and converts object arrays to float64;
        a list keeps the input dtype when it is in the list, else converts to
        the first entry; None keeps whatever dtype NumPy infers.
    order : {"C", "F"} or None, default=None
        Memory layout to enforce, None to keep.
    ensure_all_finite : bool or "allow-nan", default=True
        Reject inf and NaN (True), only inf ("allow-nan"), or nothing (False).
    ensure_2d : bool, default=True
        Require a 2-D array.
    ensure_min_samples, ensure_min_features : int, default=1
        Minimum number of rows / columns.
    estimator : estimator or str, default=None
        Used in error messages.
    input_name : str, default=""
        "X", "y" or "sample_weight", used in error messages.
    """
    if isinstance(array, np.matrix):
        raise TypeError(
            "np.matrix is not supported. Please convert to a numpy array with np.asarray."
        )
    if ensure_all_finite not in (True, False, "allow-nan"):
        raise ValueError(
            f"ensure_all_finite should be a bool or 'allow-nan'. Got {ensure_all_finite!r} instead."
        )
    estimator_name = _estimator_name(estimator)
    context = f" by {estimator_name}" if estimator_name else ""
    if _is_sparse(array):
        padded = " for " + input_name if input_name else ""
        raise TypeError(
            f"Sparse data was passed{padded}, but dense data is required. "
            "Use '.toarray()' to convert to a dense numpy array."
        )

    dtype_numeric = isinstance(dtype, str) and dtype == "numeric"
    is_frame = _is_dataframe(array) or _is_series(array)
    dtype_orig = getattr(array, "dtype", None)
    if is_frame and _is_dataframe(array):
        dtypes = list(array.dtypes)
        if dtypes and all(isinstance(d, np.dtype) for d in dtypes):
            dtype_orig = np.result_type(*dtypes)
        elif any(getattr(d, "kind", "O") in ("O", "U", "S") for d in dtypes):
            dtype_orig = np.dtype(object)
        else:
            dtype_orig = None
    if not isinstance(dtype_orig, np.dtype):
        dtype_orig = None

    if dtype_numeric:
        dtype = np.float64 if (dtype_orig is not None and dtype_orig.kind == "O") else None
    if isinstance(dtype, (list, tuple)):
        dtype = None if (dtype_orig is not None and dtype_orig in dtype) else dtype[0]

    with warnings.catch_warnings():
        # Casting complex to real only warns in NumPy; sklearn turns it into an error.
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            if is_frame:
                array = _frame_to_numpy(array, dtype)
            elif dtype is not None and np.dtype(dtype).kind in "iu":
                array = np.asarray(array)
                if array.dtype.kind in "fc":
                    _assert_all_finite(
                        array,
                        allow_nan=False,
                        estimator_name=estimator_name,
                        input_name=input_name,
                    )
                array = array.astype(dtype, copy=False)
            else:
                array = np.asarray(array, dtype=dtype)
        except np.exceptions.ComplexWarning as exc:
            raise ValueError(f"Complex data not supported\n{array}\n") from exc
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported\n{array}\n")
    if dtype_numeric and array.dtype.kind == "O":
        array = array.astype(np.float64)

    if ensure_2d:
        if array.ndim == 0:
            raise ValueError(
                f"Expected 2D array, got scalar array instead:\narray={array}.\n"
                "Reshape your data either using array.reshape(-1, 1) if "
                "your data has a single feature or array.reshape(1, -1) "
                "if it contains a single sample."
            )
        if array.ndim == 1:
            raise ValueError(
                f"Expected 2D array, got 1D array instead:\narray={array}.\n"
                "Reshape your data either using array.reshape(-1, 1) if "
                "your data has a single feature or array.reshape(1, -1) "
                "if it contains a single sample."
            )
    if dtype_numeric and array.dtype.kind in "USV":
        raise ValueError(
            "dtype='numeric' is not compatible with arrays of bytes/strings."
            "Convert your data to numeric values explicitly instead."
        )
    if array.ndim >= 3:
        raise ValueError(f"Found array with dim {array.ndim}, while dim <= 2 is required{context}.")
    if ensure_all_finite:
        _assert_all_finite(
            array,
            allow_nan=ensure_all_finite == "allow-nan",
            estimator_name=estimator_name,
            input_name=input_name,
        )
    if order == "C" and not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    elif order == "F" and not array.flags.f_contiguous:
        array = np.asfortranarray(array)

    if ensure_min_samples > 0:
        n_samples = array.shape[0] if array.ndim else 0
        if n_samples < ensure_min_samples:
            raise ValueError(
                f"Found array with {n_samples} sample(s) (shape={array.shape}) while a"
                f" minimum of {ensure_min_samples} is required{context}."
            )
    if ensure_min_features > 0 and array.ndim == 2:
        n_features = array.shape[1]
        if n_features < ensure_min_features:
            raise ValueError(
                f"Found array with {n_features} feature(s) (shape={array.shape}) while"
                f" a minimum of {ensure_min_features} is required{context}."
            )
    return array


def column_or_1d(y: Any, *, dtype: Any = None, warn: bool = False, input_name: str = "y"):
    """Ravel a 1-D array or a column vector; warn (optionally) about the latter."""
    y = check_array(
        y,
        ensure_2d=False,
        dtype=dtype,
        ensure_all_finite=False,
        ensure_min_samples=0,
        input_name=input_name,
    )
    if y.ndim == 1:
        return np.ascontiguousarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        if warn:
            warnings.warn(
                "A column-vector y was passed when a 1d array was"
                " expected. Please change the shape of y to "
                "(n_samples, ), for example using ravel().",
                sklearn_compatible(DataConversionWarning),
                stacklevel=3,
            )
        return np.ascontiguousarray(y.reshape(-1))
    raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead.")
