"""Tree and forest instances for scikit-learn's check suite.

scikit-learn lists no expected failure for its DecisionTreeClassifier, and for
its RandomForestClassifier the sample-weight equivalence checks (a bootstrap of
weighted rows is not a bootstrap of repeated rows) and the one-label
sample-weight check; ours passes the latter, so only the former is listed.
"""

from riskloop.scratch.forest import RandomForestClassifier
from riskloop.scratch.tree import DecisionTreeClassifier

INSTANCES = [
    DecisionTreeClassifier(random_state=0),
    DecisionTreeClassifier(criterion="entropy", max_depth=4, max_features="sqrt", random_state=0),
    RandomForestClassifier(n_estimators=5, random_state=0),
    RandomForestClassifier(n_estimators=4, max_depth=5, bootstrap=False, n_jobs=2, random_state=0),
]

_WEIGHTS_NOT_REPEATS = "sample_weight is not equivalent to removing/repeating samples."

EXPECTED_FAILED = {
    RandomForestClassifier: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS_NOT_REPEATS,
    },
}
