"""Exceptions and warnings of the scratch estimators, named like scikit-learn's.

scikit-learn's checks match on these class names (and catch *its* classes), so
:func:`sklearn_compatible` hands out a class deriving from both when scikit-learn
is already imported. Nothing here imports scikit-learn.
"""

from __future__ import annotations

import sys

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "InvalidParameterError",
    "NotFittedError",
    "sklearn_compatible",
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


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter breaks the constraint its estimator declares.

    Raised at ``fit``; inherits from both ``ValueError`` and ``TypeError``, like
    scikit-learn's exception of the same name, because a wrong value and a wrong
    type are reported the same way.
    """
