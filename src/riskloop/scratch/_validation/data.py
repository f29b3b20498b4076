"""The estimator boundary: ``validate_data`` and ``check_is_fitted``.

``validate_data`` checks X (and y) with :func:`check_array` and records or checks
``n_features_in_`` / ``feature_names_in_``, with scikit-learn 1.9's messages.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from riskloop.scratch._validation.arrays import (
    _assert_all_finite,
    _estimator_name,
    _is_dataframe,
    check_array,
    column_or_1d,
)
from riskloop.scratch._validation.exceptions import NotFittedError, sklearn_compatible

__all__ = ["check_is_fitted", "validate_data"]

_NOT_FITTED_MSG = (
    "This %(name)s instance is not fitted yet. Call 'fit' with "
    "appropriate arguments before using this estimator."
)


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
    if fitted is None:
        warnings.warn(
            f"X has feature names, but {name} was fitted without feature names", stacklevel=3
        )
        return
    if seen is None:
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
