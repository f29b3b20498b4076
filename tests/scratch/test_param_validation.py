"""Constructor parameters: declared once per estimator, rejected at fit with scikit-learn's message.

The invalid values are generated from each estimator's own ``_parameter_constraints``
(as scikit-learn's ``check_param_validation`` does for its estimators): an object of
no valid type, and for every interval, option set or sequence a value of the right
type just outside it. A new estimator is picked up from the registry and a new
parameter must come with a constraint, so neither can slip through unchecked.
"""

from __future__ import annotations

import math
import re
from numbers import Integral, Real
from typing import Any

import numpy as np
import pytest
from sklearn.utils import _param_validation as reference

from riskloop.scratch import InvalidParameterError, _base, registered_estimators
from riskloop.scratch._validation import (
    Interval,
    Options,
    RealNotInt,
    SequenceOf,
    StrOptions,
    validate_parameter_constraints,
)
from riskloop.scratch._validation.params import Constraint, make_constraint

ESTIMATORS = dict(sorted(registered_estimators().items()))
BAD_TYPE = type("BadType", (), {})()


def _just_outside(constraint: Constraint) -> list[Any]:
    """Values of the constraint's own type that it rejects (none for a fixed-value set)."""
    if isinstance(constraint, Interval):
        as_type = int if constraint.type is Integral else float
        step = as_type(1)
        values = []
        if constraint.left is not None:
            left = as_type(constraint.left)
            values.append(left - step if constraint.closed in ("left", "both") else left)
        if constraint.right is not None:
            right = as_type(constraint.right)
            values.append(right + step if constraint.closed in ("right", "both") else right)
        elif as_type is float:
            values.append(math.inf)  # unbounded means below infinity, not up to it
        return values
    if isinstance(constraint, StrOptions):
        return ["not-" + "-".join(sorted(constraint.options))]
    if isinstance(constraint, SequenceOf):
        return [[v] for v in _just_outside(constraint.item)]
    # A named union ("random_state", "verbose", "boolean"): outside each of its parts.
    return [v for part in getattr(constraint, "constraints", ()) for v in _just_outside(part)]


def _invalid_cases() -> list[tuple[str, str, Any]]:
    cases = []
    for name, klass in ESTIMATORS.items():
        for param, specs in klass._parameter_constraints.items():
            cases.append((name, param, BAD_TYPE))
            for spec in specs:
                cases.extend((name, param, v) for v in _just_outside(make_constraint(spec)))
    return cases


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 3))
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_parameter_has_a_declared_constraint(name):
    klass = ESTIMATORS[name]
    declared = set(klass._parameter_constraints)
    params = set(klass._get_param_names())
    assert declared == params, (
        f"{name}: parameters without a constraint {sorted(params - declared)}, "
        f"constraints without a parameter {sorted(declared - params)}"
    )


@pytest.mark.parametrize("name", ESTIMATORS)
def test_defaults_meet_the_constraints(name):
    ESTIMATORS[name]()._validate_params()


@pytest.mark.parametrize(
    ("name", "param", "value"),
    _invalid_cases(),
    ids=lambda v: v if isinstance(v, str) else repr(v).split(" object at")[0],
)
def test_fit_rejects_an_invalid_parameter_with_its_rule(data, name, param, value):
    klass = ESTIMATORS[name]
    estimator = klass(**{param: value})  # __init__ only stores; the check is fit's
    with pytest.raises(InvalidParameterError) as info:
        estimator.fit(*data)
    message = str(info.value)
    expected = (
        rf"The '{param}' parameter of {name} must be .+\. Got {re.escape(repr(value))} instead\."
    )
    assert re.fullmatch(expected, message), message
    for spec in klass._parameter_constraints[param]:
        assert str(make_constraint(spec)) in message  # the whole rule, every alternative
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_invalid_cases_cover_every_estimator_and_bound():
    cases = _invalid_cases()
    assert {name for name, _, _ in cases} == set(ESTIMATORS)
    # Both sides of a closed and of an open bound are generated.
    assert ("LogisticRegression", "C", 0.0) in cases
    assert ("LogisticRegression", "C", math.inf) in cases
    assert ("LogisticRegression", "max_iter", 0) in cases
    assert ("HistGradientBoostingClassifier", "max_bins", 256) in cases
    assert ("MLPClassifier", "hidden_layer_sizes", [0]) in cases


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (
            Interval(Integral, 1, None, closed="left"),
            reference.Interval(Integral, 1, None, closed="left"),
        ),
        (
            Interval(Integral, 0, 2**32 - 1, closed="both"),
            reference.Interval(Integral, 0, 2**32 - 1, closed="both"),
        ),
        (
            Interval(RealNotInt, 0, 1, closed="neither"),
            reference.Interval(reference.RealNotInt, 0, 1, closed="neither"),
        ),
        (
            Interval(RealNotInt, 0.0, 1.0, closed="right"),
            reference.Interval(reference.RealNotInt, 0.0, 1.0, closed="right"),
        ),
        (
            Interval(Real, 0, None, closed="left"),
            reference.Interval(Real, 0, None, closed="left"),
        ),
        (StrOptions({"uniform"}), reference.StrOptions({"uniform"})),
    ],
    ids=str,
)
def test_rules_read_like_scikit_learn(ours, theirs):
    assert str(ours) == str(theirs)
    for value in (-1, 0, 1, 2, 0.0, 0.5, 1.0, 1.5, 2**32, math.inf, math.nan, "uniform", "x"):
        assert ours.is_satisfied_by(value) == theirs.is_satisfied_by(value), value


def test_interval_rejects_booleans_and_accepts_numpy_numbers():
    counts = Interval(Integral, 1, None, closed="left")
    assert counts.is_satisfied_by(np.int64(3))
    assert not counts.is_satisfied_by(True)  # an int to Python, never a count here
    assert not counts.is_satisfied_by(3.0)
    fractions = Interval(RealNotInt, 0, 1, closed="right")
    assert fractions.is_satisfied_by(np.float32(0.5))
    assert fractions.is_satisfied_by(1.0) and not fractions.is_satisfied_by(1)


def test_sequence_and_options_constraints():
    sizes = SequenceOf(Interval(Integral, 1, None, closed="left"))
    assert sizes.is_satisfied_by((4, 2)) and sizes.is_satisfied_by(np.array([3]))
    assert sizes.is_satisfied_by(())  # no hidden layer is a valid network
    assert not sizes.is_satisfied_by((4, 0)) and not sizes.is_satisfied_by("44")
    assert not sizes.is_satisfied_by(np.ones((2, 2), dtype=int))
    infinite = Options(float, {math.inf})
    assert infinite.is_satisfied_by(math.inf) and not infinite.is_satisfied_by(1.0)


def test_the_routine_names_the_first_broken_parameter():
    constraints = {"a": [Interval(Integral, 0, None, closed="left")], "b": [None, "boolean"]}
    validate_parameter_constraints(constraints, {"a": 0, "b": None, "free": object()}, "Thing")
    with pytest.raises(InvalidParameterError) as info:
        validate_parameter_constraints(constraints, {"a": 1, "b": "yes"}, "Thing")
    assert str(info.value) == (
        "The 'b' parameter of Thing must be None or an instance of 'bool' or an instance of "
        "'numpy.bool'. Got 'yes' instead."
    )
    with pytest.raises(ValueError, match="unknown parameter constraint 'booleans'"):
        validate_parameter_constraints({"a": ["booleans"]}, {"a": True}, "Thing")


@pytest.mark.parametrize("name", ["RandomForestClassifier", "HistGradientBoostingClassifier"])
def test_parameters_are_checked_once_per_fit_not_per_tree(monkeypatch, data, name):
    calls = []
    check = _base.validate_parameter_constraints

    def counting(*args, **kwargs):
        calls.append(args[2] if len(args) > 2 else kwargs["caller_name"])
        return check(*args, **kwargs)

    monkeypatch.setattr(_base, "validate_parameter_constraints", counting)
    model = (
        ESTIMATORS[name](max_iter=5)
        if name.startswith("Hist")
        else ESTIMATORS[name](n_estimators=5)
    )
    model.fit(*data)
    assert calls == [name]
