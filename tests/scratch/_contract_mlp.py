"""MLPClassifier instances for scikit-learn's check suite (small, fast settings).

``max_iter=100`` is what scikit-learn's own check suite uses for its MLPClassifier. Its
equivalent estimator has no entry in ``PER_ESTIMATOR_XFAIL_CHECKS``, so neither do we.
"""

from riskloop.scratch.neural_network import MLPClassifier

INSTANCES = [
    MLPClassifier(max_iter=100, random_state=0),
    MLPClassifier(
        hidden_layer_sizes=(8, 8), activation="tanh", solver="sgd", max_iter=100, random_state=0
    ),
]

EXPECTED_FAILED: dict = {}
