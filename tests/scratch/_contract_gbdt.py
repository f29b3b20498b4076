"""HistGradientBoostingClassifier instances for scikit-learn's check suite.

scikit-learn lists, for its own HistGradientBoostingClassifier, only the
sample-weight equivalence checks as expected failures (weights scale gradients
and hessians, which is not the same as repeating rows once ``min_samples_leaf``
and the binning count rows); ours fails the dense one for the same reason.
"""

from riskloop.scratch.gbdt import HistGradientBoostingClassifier

INSTANCES = [
    HistGradientBoostingClassifier(max_iter=10, min_samples_leaf=5, random_state=0),
]

_WEIGHTS_NOT_REPEATS = "sample_weight is not equivalent to removing/repeating samples."

EXPECTED_FAILED = {
    HistGradientBoostingClassifier: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS_NOT_REPEATS,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS_NOT_REPEATS,
    },
}
