"""Quantile binning: map each float feature to at most ``max_bins`` uint8 bins.

A value ``x`` of feature ``j`` goes to bin ``i`` iff
``thresholds[j][i - 1] < x <= thresholds[j][i]``; NaN goes to the dedicated
bin ``missing_bin`` (= ``max_bins``, so at most 256 bins fit in a uint8).
Thresholds are the midpoints between consecutive distinct values when a feature
has at most ``max_bins`` of them, else the ``averaged_inverted_cdf`` quantiles
(the same rule as scikit-learn's ``_BinMapper``), so that pre-binned data bins
identically in both libraries.

The binned matrix is Fortran-ordered: one feature's bins are contiguous, which
is what the per-feature histogram loop reads.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit, prange

#: Thresholds are clipped here so that +inf data still maps below the missing bin.
ALMOST_INF = 1e300
#: Thresholds are computed on at most this many rows (as scikit-learn does).
BINNING_SUBSAMPLE = 200_000


def feature_thresholds(column: np.ndarray, max_bins: int) -> np.ndarray:
    """Increasing bin edges of one float64 column, NaNs ignored (empty if constant)."""
    values = np.sort(column[~np.isnan(column)])
    # Sorting once serves both the distinct values and a cheap percentile partition.
    distinct = (
        values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values
    )
    if distinct.shape[0] <= 1:
        return np.empty(0, dtype=np.float64)
    if distinct.shape[0] <= max_bins:
        edges = 0.5 * (distinct[:-1] + distinct[1:])
    else:
        percentiles = np.linspace(0, 100, num=max_bins + 1)[1:-1]
        edges = np.unique(np.percentile(values, percentiles, method="averaged_inverted_cdf"))
    return np.minimum(edges, ALMOST_INF)


def fit_thresholds(X: np.ndarray, max_bins: int, rng: np.random.RandomState) -> list[np.ndarray]:
    """Bin edges for every column of ``X`` (rows subsampled above 200,000)."""
    if X.shape[0] > BINNING_SUBSAMPLE:
        rows = rng.choice(X.shape[0], BINNING_SUBSAMPLE, replace=False)
        rows.sort()
        X = X[rows]
    columns = np.asfortranarray(X)
    # np.sort releases the GIL, so threads over features run the sorts concurrently.
    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, X.shape[1], 8) or 1) as pool:
        return list(
            pool.map(lambda j: feature_thresholds(columns[:, j], max_bins), range(X.shape[1]))
        )


def pack_thresholds(thresholds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-feature edges into (flat edges, offsets of length n_features + 1)."""
    offsets = np.zeros(len(thresholds) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([t.shape[0] for t in thresholds])
    flat = np.concatenate(thresholds) if thresholds else np.empty(0)
    return flat.astype(np.float64), offsets


#: Matrices with at least this many rows are binned on all threads.
PARALLEL_MIN_SAMPLES = 50_000


@njit(cache=True, inline="always")
def _bin_feature(column, edges, missing_bin, out):
    """Bin of each value: first edge >= x (``searchsorted(side='left')``); NaN -> missing_bin."""
    n_edges = edges.shape[0]
    for i in range(column.shape[0]):
        x = column[i]
        if np.isnan(x):
            out[i] = missing_bin
            continue
        lo = 0
        hi = n_edges
        while lo < hi:
            mid = (lo + hi) >> 1
            if x <= edges[mid]:
                hi = mid
            else:
                lo = mid + 1
        out[i] = lo


@njit(cache=True, parallel=True)
def _bin_parallel(X, edges, offsets, missing_bin, out):
    for j in prange(X.shape[1]):
        _bin_feature(X[:, j], edges[offsets[j] : offsets[j + 1]], missing_bin, out[j])


@njit(cache=True)
def _bin_serial(X, edges, offsets, missing_bin, out):
    for j in range(X.shape[1]):
        _bin_feature(X[:, j], edges[offsets[j] : offsets[j + 1]], missing_bin, out[j])


def map_to_bins(
    X: np.ndarray, edges: np.ndarray, offsets: np.ndarray, missing_bin: int
) -> np.ndarray:
    """Bin a float64 matrix into a Fortran-ordered uint8 matrix (threads over features if large)."""
    # A Fortran copy makes each feature's values contiguous for the per-feature search.
    X = np.asfortranarray(X, dtype=np.float64)
    out = np.empty((X.shape[1], X.shape[0]), dtype=np.uint8)  # transposed => F-order result
    kernel = _bin_parallel if X.shape[0] >= PARALLEL_MIN_SAMPLES else _bin_serial
    kernel(X, edges, offsets, missing_bin, out)
    return out.T
