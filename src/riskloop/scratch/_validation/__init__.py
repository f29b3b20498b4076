"""Validation at the estimator boundary, NumPy only, one concept per module.

- :mod:`.exceptions`: ``NotFittedError``, ``InvalidParameterError`` and the warnings.
- :mod:`.params`: constructor parameters — declared constraints, one checking routine.
- :mod:`.arrays`: ``check_array``, any array-like to a validated ndarray.
- :mod:`.data`: ``validate_data`` (X, y, ``n_features_in_``, feature names), ``check_is_fitted``.
- :mod:`.targets`: classification targets, sample and class weights.

Semantics and messages follow scikit-learn 1.9, whose estimator checks match on them.
"""

from riskloop.scratch._validation.arrays import check_array, column_or_1d
from riskloop.scratch._validation.data import check_is_fitted, validate_data
from riskloop.scratch._validation.exceptions import (
    ConvergenceWarning,
    DataConversionWarning,
    InvalidParameterError,
    NotFittedError,
    sklearn_compatible,
)
from riskloop.scratch._validation.params import (
    Interval,
    Options,
    RealNotInt,
    SequenceOf,
    StrOptions,
    check_random_state,
    validate_parameter_constraints,
)
from riskloop.scratch._validation.targets import (
    check_classification_targets,
    check_sample_weight,
    class_sample_weight,
    encode_classes,
    type_of_target,
)

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "Interval",
    "InvalidParameterError",
    "NotFittedError",
    "Options",
    "RealNotInt",
    "SequenceOf",
    "StrOptions",
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
    "validate_parameter_constraints",
]
