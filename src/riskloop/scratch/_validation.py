"""Input validation at the estimator boundary, NumPy only.

These helpers mirror the semantics *and the messages* of
``sklearn.utils.validation`` (scikit-learn 1.9), because scikit-learn's
estimator checks match on those messages. Containers are handled by duck
typing: a DataFrame is anything with ``columns`` and ``dtypes``; a sparse
matrix is anything from a ``scipy.sparse`` module (rejected, we are dense-only).
Nothing here imports scikit-learn, SciPy or pandas.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from typing import Any

import numpy as np

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "NotFittedError",
    "check_array",
    "check_classification_targets",
    "check_is_fitted",
    "check_random_state",
    "check_sample_weight",
    "class_sample_weight",
    "column_or_1d",
    "encode_classes",
    "sklearn_compatible",
    "type_of_target",
    "validate_data",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when a method needing a fitted estimator is called before ``fit``.

    Inherits from both ``ValueError`` and ``AttributeError`` like scikit-learn's
    exception of the same name, so ``hasattr``-style probes and
    ``except ValueError`` both work.
    """


_sklearn_compatible_classes: dict[tuple[type, type], type] = {}


def sklearn_compatible(ours: type) -> type:
    """``ours``, or a subclass also deriving scikit-learn's class of the same name.

    scikit-learn's checks catch *its* ``NotFittedError`` and filter *its*
    ``DataConversionWarning``/``ConvergenceWarning``. We never import
    scikit-learn, but when the caller already has (``sklearn.exceptions`` is in
    ``sys.modules``), we raise/warn with a class inheriting from both, so
    either side's ``except`` or warning filter matches.
    """
    module = sys.modules.get("sklearn.exceptions")
    theirs = getattr(module, ours.__name__, None) if module is not None else None
    if theirs is None:
        return ours
    key = (ours, theirs)
    if key not in _sklearn_compatible_classes:
        _sklearn_compatible_classes[key] = type(
            ours.__name__, (ours, theirs), {"__module__": __name__}
        )
    return _sklearn_compatible_classes[key]


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` before meeting ``tol``."""


class DataConversionWarning(UserWarning):
    """Warning used when the input had to be converted (e.g. a column-vector y).

    Named like scikit-learn's class because its checks match on the class name.
    """


_NOT_FITTED_MSG = (
    "This %(name)s instance is not fitted yet. Call 'fit' with "
    "appropriate arguments before using this estimator."
)


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


def _get_feature_names(X: Any) -> np.ndarray | None:
    """Column names of a DataFrame when all are strings, else None (sklearn rule)."""
    if not _is_dataframe(X):
        return None
    names = np.asarray(list(X.columns), dtype=object)
    if len(names) == 0:
        return None
    types = sorted({type(v).__qualname__ for v in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your input "
            "data, or convert them all to a non-string data type."
        )
    if types == ["str"]:
        return names
    return None


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


def _check_y(y: Any, *, multi_output: bool, y_numeric: bool, estimator: Any) -> np.ndarray:
    if multi_output:
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y", estimator=estimator)
    else:
        y = column_or_1d(y, warn=True)
        _assert_all_finite(
            y, allow_nan=False, estimator_name=_estimator_name(estimator), input_name="y"
        )
        if y.dtype.kind == "c":
            raise ValueError(f"Complex data not supported\n{y}\n")
    if y_numeric and y.dtype.kind == "O":
        y = y.astype(np.float64)
    return y


# --------------------------------------------------------------------------- #
# the boundary: validate_data
# --------------------------------------------------------------------------- #
def _check_feature_names(estimator: Any, X: Any, *, reset: bool) -> None:
    if reset:
        names = _get_feature_names(X)
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            delattr(estimator, "feature_names_in_")
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    seen = _get_feature_names(X)
    if fitted is None and seen is None:
        return
    name = type(estimator).__name__
    if seen is not None and fitted is None:
        warnings.warn(
            f"X has feature names, but {name} was fitted without feature names", stacklevel=3
        )
        return
    if seen is None and fitted is not None:
        warnings.warn(
            f"X does not have valid feature names, but {name} was fitted with feature names",
            stacklevel=3,
        )
        return
    if len(fitted) == len(seen) and np.all(fitted == seen):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(seen) - set(fitted))
    missing = sorted(set(fitted) - set(seen))

    def add_names(names: list) -> str:
        lines = [f"- {n}\n" for n in names[:5]]
        return "".join(lines) + ("- ...\n" if len(names) > 5 else "")

    if unexpected:
        message += "Feature names unseen at fit time:\n" + add_names(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + add_names(missing)
    if not missing and not unexpected:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def _check_n_features(estimator: Any, X: np.ndarray, *, reset: bool) -> None:
    n_features = X.shape[1]
    if reset:
        estimator.n_features_in_ = n_features
        return
    if not hasattr(estimator, "n_features_in_"):
        return
    if n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} "
            f"is expecting {estimator.n_features_in_} features as input."
        )


def validate_data(
    estimator: Any,
    X: Any = "no_validation",
    y: Any = "no_validation",
    *,
    reset: bool = True,
    ensure_all_finite: bool | str = True,
    dtype: Any = "numeric",
    ensure_min_samples: int = 1,
    y_numeric: bool = False,
    multi_output: bool = False,
    order: str | None = None,
):
    """Validate ``X`` (and ``y``) and set or check ``n_features_in_`` / ``feature_names_in_``.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted or used; ``reset=True`` writes
        ``n_features_in_`` (and ``feature_names_in_`` when X has string column
        names) on it, ``reset=False`` checks X against them.
    X : array-like of shape (n_samples, n_features) or "no_validation"
        Input samples.
    y : array-like of shape (n_samples,), None or "no_validation"
        Targets. None raises for estimators that require y (classifiers).
    reset : bool, default=True
        True in ``fit``, False everywhere else.
    ensure_all_finite : bool or "allow-nan", default=True
        Reject inf/NaN, only inf, or nothing.
    dtype : "numeric", dtype, list of dtypes or None, default="numeric"
        See :func:`check_array`. ``[np.float64, np.float32]`` keeps float32.
    ensure_min_samples : int, default=1
        Minimum number of rows.
    y_numeric : bool, default=False
        Convert an object y to float64.
    multi_output : bool, default=False
        Accept a 2-D y.
    order : {"C", "F"} or None, default=None
        Memory layout of the returned X.

    Returns
    -------
    X, or (X, y) when y is validated.
    """
    _check_feature_names(estimator, X, reset=reset)
    if y is None and getattr(estimator, "_requires_y", False):
        raise ValueError(
            f"This {type(estimator).__name__} estimator "
            "requires y to be passed, but the target y is None."
        )
    no_val_X = isinstance(X, str) and X == "no_validation"
    no_val_y = y is None or (isinstance(y, str) and y == "no_validation")
    if no_val_X and no_val_y:
        raise ValueError("Validation should be done on X, y or both.")
    if no_val_X:
        return _check_y(y, multi_output=multi_output, y_numeric=y_numeric, estimator=estimator)

    X = check_array(
        X,
        dtype=dtype,
        order=order,
        ensure_all_finite=ensure_all_finite,
        ensure_min_samples=ensure_min_samples,
        estimator=estimator,
        input_name="X",
    )
    _check_n_features(estimator, X, reset=reset)
    if no_val_y:
        return X
    y = _check_y(y, multi_output=multi_output, y_numeric=y_numeric, estimator=estimator)
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{X.shape[0]}, {y.shape[0]}]"
        )
    return X, y


def check_is_fitted(estimator: Any, attributes: str | list[str] | None = None) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has been fitted.

    Fitted means: the named ``attributes`` exist, else ``__sklearn_is_fitted__()``
    when defined, else any public attribute ending in ``_`` is set.
    """
    if isinstance(estimator, type):
        raise TypeError(f"{estimator} is a class, not an instance.")
    if not hasattr(estimator, "fit"):
        raise TypeError(f"{estimator} is not an estimator instance.")
    if attributes is not None:
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        fitted = all(hasattr(estimator, a) for a in names)
    elif hasattr(estimator, "__sklearn_is_fitted__"):
        fitted = bool(estimator.__sklearn_is_fitted__())
    else:
        fitted = any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))
    if not fitted:
        error = sklearn_compatible(NotFittedError)
        raise error(_NOT_FITTED_MSG % {"name": type(estimator).__name__})


# --------------------------------------------------------------------------- #
# targets and weights
# --------------------------------------------------------------------------- #
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


def check_random_state(seed: Any) -> np.random.RandomState:
    """None → NumPy's global RandomState, int → a new seeded one, RandomState → itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


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
    if isinstance(sample_weight, numbers.Number):
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
