"""Numba kernel behind the drift statistics: one pass over a (large) window of a numeric feature.

For each value it finds its PSI bin (binary search over ~10 quantile edges) and its position in
the sorted reference sample (two binary searches: values strictly below, and at-or-below), and
counts them — no sort of the window and no temporary arrays of its size.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def _scan_numeric(values, edges, reference):  # pragma: no cover (Numba runs it, see below)
    """Counts for PSI bins (len(edges) + 1 bins, then missing) and KS positions.

    Returns ``(bin_counts, n_less_counts, n_less_equal_counts)`` where
    ``n_less_counts[k]`` = how many values have exactly k reference values strictly below them,
    ``n_less_equal_counts[k]`` = how many have exactly k reference values at or below them.
    """
    n_edges = edges.shape[0]
    m = reference.shape[0]
    bin_counts = np.zeros(n_edges + 2, dtype=np.int64)
    n_less_counts = np.zeros(m + 1, dtype=np.int64)
    n_less_equal_counts = np.zeros(m + 1, dtype=np.int64)
    for i in range(values.shape[0]):
        x = values[i]
        if np.isnan(x):
            bin_counts[n_edges + 1] += 1
            continue
        # PSI bin: first edge >= x (bins are (e_{j-1}, e_j])
        lo, hi = 0, n_edges
        while lo < hi:
            mid = (lo + hi) // 2
            if edges[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        bin_counts[lo] += 1
        # reference values strictly below x
        lo, hi = 0, m
        while lo < hi:
            mid = (lo + hi) // 2
            if reference[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        n_less_counts[lo] += 1
        # reference values at or below x (continue from the first one >= x)
        hi = m
        while lo < hi:
            mid = (lo + hi) // 2
            if reference[mid] <= x:
                lo = mid + 1
            else:
                hi = mid
        n_less_equal_counts[lo] += 1
    return bin_counts, n_less_counts, n_less_equal_counts


# Compiled by a call rather than a decorator so that mutation testing (mutmut skips decorated
# functions) can reach the kernel's body; `make mutation` runs it with NUMBA_DISABLE_JIT=1.
scan_numeric = njit(cache=True, nogil=True)(_scan_numeric)
