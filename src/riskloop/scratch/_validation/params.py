"""Constructor parameters: constraints declared once per estimator, checked by one routine.

An estimator declares ``_parameter_constraints``, a class attribute mapping every
``__init__`` parameter to the list of constraints a valid value meets (any one
of them), as scikit-learn's estimators do::

    _parameter_constraints = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

A constraint is a :class:`Constraint` (:class:`Interval`, :class:`Options`,
:class:`StrOptions`, :class:`SequenceOf`) or one of scikit-learn's shorthands:
``None`` (the value None), a type (its instances), ``"boolean"``, ``"verbose"``,
``"random_state"`` and ``"array-like"``. :func:`validate_parameter_constraints`
raises :class:`InvalidParameterError` with scikit-learn's message: the
parameter, the rule and the value received. This is our own small version of
``sklearn.utils._param_validation`` (scratch imports NumPy only).
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any, Literal, cast

import numpy as np

from riskloop.scratch._validation.exceptions import InvalidParameterError

__all__ = [
    "Constraint",
    "Interval",
    "Options",
    "RealNotInt",
    "SequenceOf",
    "StrOptions",
    "check_random_state",
    "make_constraint",
    "validate_parameter_constraints",
]


class RealNotInt(Real):
    """Reals that are not ints: ``1.0`` and ``np.float32(1)`` are, ``1`` is not.

    For intervals such as ``(0, 1]`` that must not accept the int 1 because the
    int means something else (a count rather than a fraction).
    """


RealNotInt.register(float)
RealNotInt.register(np.floating)

_NUMBER_TYPES: dict[type, str] = {Integral: "an int", Real: "a float", RealNotInt: "a float"}


class Constraint(ABC):
    """One rule a parameter value may satisfy; ``str()`` says it in words."""

    @abstractmethod
    def is_satisfied_by(self, value: Any) -> bool:
        """Whether ``value`` meets this rule."""

    @abstractmethod
    def __str__(self) -> str:
        """The rule as it reads in an error message, e.g. "an int in the range [1, inf)"."""


class Interval(Constraint):
    """Numbers of a type within bounds.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real, RealNotInt}
        The numbers allowed. Booleans are never numbers here, although Python
        counts ``True`` as the int 1.
    left, right : float or None
        Bounds; None means unbounded on that side (infinity itself excluded).
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    def __init__(
        self,
        type: type,
        left: float | None,
        right: float | None,
        *,
        closed: Literal["left", "right", "both", "neither"],
    ) -> None:
        if type not in _NUMBER_TYPES:
            raise ValueError(f"type must be Integral, Real or RealNotInt; got {type!r}")
        if left is not None and right is not None and right <= left:
            raise ValueError(f"right must be greater than left; got left={left}, right={right}")
        self.type = type
        self.left = left
        self.right = right
        self.closed = closed

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.type):
            return False
        value = cast(float, value)
        if math.isnan(value):
            return False
        # An unbounded side is an open bound at infinity, so inf itself is outside.
        left = -math.inf if self.left is None else self.left
        right = math.inf if self.right is None else self.right
        below = value < left or (value == left and self.closed in ("right", "neither"))
        above = value > right or (value == right and self.closed in ("left", "neither"))
        return not (below or above)

    def __str__(self) -> str:
        def bound(value: float | None, infinite: str) -> str:
            if value is None:
                return infinite
            return str(value) if self.type is Integral else str(float(value))

        left_bracket = "[" if self.closed in ("left", "both") else "("
        right_bracket = "]" if self.closed in ("right", "both") else ")"
        return (
            f"{_NUMBER_TYPES[self.type]} in the range "
            f"{left_bracket}{bound(self.left, '-inf')}, {bound(self.right, 'inf')}{right_bracket}"
        )


class Options(Constraint):
    """One of a fixed set of values of a type, e.g. ``Options(Real, {math.inf})``."""

    def __init__(self, type: type, options: Iterable[Any]) -> None:
        self.type = type
        self.options = frozenset(options)

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.type) and value in self.options

    def __str__(self) -> str:
        # Sorted, so the message is the same on every run.
        listed = ", ".join(sorted(repr(o) for o in self.options))
        names: dict[type, str] = {Integral: "int", Real: "float"}
        name = names.get(self.type, self.type.__name__)
        return f"a {name} among {{{listed}}}"


class StrOptions(Options):
    """One of a fixed set of strings, e.g. ``StrOptions({"uniform", "distance"})``."""

    def __init__(self, options: Iterable[str]) -> None:
        super().__init__(str, options)


class SequenceOf(Constraint):
    """A list, tuple or 1-D array whose every item meets ``item`` (an empty one does)."""

    def __init__(self, item: Constraint) -> None:
        self.item = item

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, np.ndarray):
            return value.ndim == 1 and all(self.item.is_satisfied_by(v) for v in value.tolist())
        if not isinstance(value, (list, tuple)):
            return False
        return all(self.item.is_satisfied_by(v) for v in value)

    def __str__(self) -> str:
        return f"a list or tuple whose items are each {self.item}"


class _InstancesOf(Constraint):
    def __init__(self, type: type) -> None:
        self.type = type

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.type)

    def __str__(self) -> str:
        module, name = self.type.__module__, self.type.__qualname__
        return f"an instance of {name if module == 'builtins' else f'{module}.{name}'!r}"


class _NoneConstraint(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


class _AnyOf(Constraint):
    """A named union of constraints ("boolean", "random_state", ...)."""

    def __init__(self, *constraints: Constraint) -> None:
        self.constraints = constraints

    def is_satisfied_by(self, value: Any) -> bool:
        return any(c.is_satisfied_by(value) for c in self.constraints)

    def __str__(self) -> str:
        return _join_alternatives(self.constraints)


class _ArrayLikes(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        array_like = (
            hasattr(value, "__len__") or hasattr(value, "shape") or hasattr(value, "__array__")
        )
        return array_like and not np.isscalar(value)

    def __str__(self) -> str:
        return "an array-like"


_NONE = _NoneConstraint()
_BOOLEANS = _AnyOf(_InstancesOf(bool), _InstancesOf(np.bool_))
# Constraints hold no state, so one instance of each serves every fit.
_SHORTHANDS: dict[str, Constraint] = {
    "boolean": _BOOLEANS,
    "verbose": _AnyOf(Interval(Integral, 0, None, closed="left"), _BOOLEANS),
    "random_state": _AnyOf(
        Interval(Integral, 0, 2**32 - 1, closed="both"),
        _InstancesOf(np.random.RandomState),
        _NONE,
    ),
    "array-like": _ArrayLikes(),
}


def make_constraint(spec: Any) -> Constraint:
    """The :class:`Constraint` a declaration entry stands for (see the module docstring)."""
    if isinstance(spec, Constraint):
        return spec
    if spec is None:
        return _NONE
    if isinstance(spec, type):
        return _InstancesOf(spec)
    if isinstance(spec, str) and spec in _SHORTHANDS:
        return _SHORTHANDS[spec]
    raise ValueError(
        f"unknown parameter constraint {spec!r}; known shorthands: {sorted(_SHORTHANDS)}"
    )


def _join_alternatives(constraints: Iterable[Constraint]) -> str:
    words = [str(c) for c in constraints]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def validate_parameter_constraints(
    constraints: Mapping[str, list[Any]], params: Mapping[str, Any], caller_name: str
) -> None:
    """Raise :class:`InvalidParameterError` for the first parameter no constraint admits.

    Parameters
    ----------
    constraints : mapping of str to list
        ``{parameter: [constraint, ...]}``; a value is valid when it satisfies
        any one of its list. Parameters without an entry are not checked.
    params : mapping of str to object
        The values to check, e.g. ``estimator.get_params(deep=False)``.
    caller_name : str
        The estimator's class name, for the message.

    Raises
    ------
    InvalidParameterError
        "The 'C' parameter of LogisticRegression must be a float in the range
        (0.0, inf). Got -1 instead." (scikit-learn's wording).
    """
    for name, value in params.items():
        if name not in constraints:
            continue
        rules = [make_constraint(spec) for spec in constraints[name]]
        if any(rule.is_satisfied_by(value) for rule in rules):
            continue
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller_name} must be {_join_alternatives(rules)}. "
            f"Got {value!r} instead."
        )


def check_random_state(seed: Any) -> np.random.RandomState:
    """None → NumPy's global RandomState, int → a new seeded one, RandomState → itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")
