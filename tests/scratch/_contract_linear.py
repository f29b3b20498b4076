"""Instances of the base helper's estimators for scikit-learn's check suite.

Expected failures are only those scikit-learn lists for its own equivalent
estimator in ``sklearn.utils._test_common.instance_generator.PER_ESTIMATOR_XFAIL_CHECKS``.
scikit-learn also lists the sample-weight equivalence check for its
LogisticRegression; ours passes it (Newton to tol), so it is not listed.
"""

from riskloop.scratch.kmeans import KMeans
from riskloop.scratch.logistic_regression import LogisticRegression
from riskloop.scratch.naive_bayes import GaussianNB
from riskloop.scratch.neighbors import KNeighborsClassifier
from riskloop.scratch.pca import PCA

INSTANCES = [
    LogisticRegression(max_iter=20),
    GaussianNB(),
    KNeighborsClassifier(n_neighbors=2),
    KNeighborsClassifier(n_neighbors=3, weights="distance"),
    KMeans(n_clusters=2, n_init=2, max_iter=5),
    PCA(),
    PCA(2, whiten=True, svd_solver="full"),
]

_WEIGHTS_NOT_REPEATS = "sample_weight is not equivalent to removing/repeating samples."

EXPECTED_FAILED = {
    KMeans: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS_NOT_REPEATS,
    },
}
