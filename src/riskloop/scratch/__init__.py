"""Classification algorithms written from scratch with NumPy (+ Numba kernels).

Imports only NumPy, Numba and the standard library; importing compiles and
computes nothing (Numba kernels compile on first call, cached on disk). Every
estimator follows the scikit-learn estimator contract and saves/loads without
pickle (``est.save(dir)``, ``BaseEstimator.load(dir)``).
"""

from riskloop.scratch._base import (
    BaseEstimator,
    ClassifierMixin,
    ClusterMixin,
    TransformerMixin,
    registered_estimators,
)
from riskloop.scratch._validation import (
    ConvergenceWarning,
    DataConversionWarning,
    InvalidParameterError,
    NotFittedError,
    check_is_fitted,
    validate_data,
)
from riskloop.scratch.forest import RandomForestClassifier
from riskloop.scratch.gbdt import HistGradientBoostingClassifier
from riskloop.scratch.kmeans import KMeans
from riskloop.scratch.logistic_regression import LogisticRegression
from riskloop.scratch.naive_bayes import GaussianNB
from riskloop.scratch.neighbors import KNeighborsClassifier
from riskloop.scratch.neural_network import MLPClassifier
from riskloop.scratch.pca import PCA
from riskloop.scratch.tree import DecisionTreeClassifier

__all__ = [
    "PCA",
    "BaseEstimator",
    "ClassifierMixin",
    "ClusterMixin",
    "ConvergenceWarning",
    "DataConversionWarning",
    "DecisionTreeClassifier",
    "GaussianNB",
    "HistGradientBoostingClassifier",
    "InvalidParameterError",
    "KMeans",
    "KNeighborsClassifier",
    "LogisticRegression",
    "MLPClassifier",
    "NotFittedError",
    "RandomForestClassifier",
    "TransformerMixin",
    "check_is_fitted",
    "load",
    "registered_estimators",
    "validate_data",
]

load = BaseEstimator.load
