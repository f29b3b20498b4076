"""Exploratory data analysis of a binary-outcome table: the numbers behind the EDA report.

Pure functions of a DataFrame and an outcome vector ``y`` (1 = the scenario's risky outcome,
e.g. a loan that went bad; 0 = good). Nothing here knows about credit: which column is the
target and which value is risky comes from the scenario, in the pipeline node.

- :mod:`.binning`: the bins of one column (quantiles, categories, missing).
- :mod:`.woe`: risky-outcome rate, weight of evidence and information value per bin.
- :mod:`.missingness`: missing values per column and what they say about the outcome.
- :mod:`.correlation`: rank correlation of the numeric features.
- :mod:`.structure`: principal components and k-means clusters of the model matrix.
- :mod:`.result`: :func:`explore` runs them all into an :class:`EDAResult`.
"""

from riskloop.evaluation.eda.binning import MISSING, OTHER, assign_bins, quantile_edges
from riskloop.evaluation.eda.correlation import rank_correlation, strongest_correlations
from riskloop.evaluation.eda.missingness import missingness
from riskloop.evaluation.eda.result import EDAResult, explore
from riskloop.evaluation.eda.structure import pca_kmeans_view
from riskloop.evaluation.eda.woe import (
    DEFAULT_SMOOTHING,
    IV_SCALE,
    information_value,
    iv_strength,
    target_rate_by_bin,
    woe_table,
)

__all__ = [
    "DEFAULT_SMOOTHING",
    "IV_SCALE",
    "MISSING",
    "OTHER",
    "EDAResult",
    "assign_bins",
    "explore",
    "information_value",
    "iv_strength",
    "missingness",
    "pca_kmeans_view",
    "quantile_edges",
    "rank_correlation",
    "strongest_correlations",
    "target_rate_by_bin",
    "woe_table",
]
