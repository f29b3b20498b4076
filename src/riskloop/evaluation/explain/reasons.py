"""From model-matrix contributions to reasons a person reads: one per original input feature."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np


def aggregate_to_features(
    contributions: np.ndarray, column_features: Sequence[str], features: Sequence[str]
) -> np.ndarray:
    """Sum model-matrix contributions into one column per original input feature.

    Parameters
    ----------
    contributions : ndarray of shape (n, n_columns)
        Contributions per model-matrix column.
    column_features : sequence of str, length n_columns
        The original feature each column comes from (a one-hot column names its categorical
        feature).
    features : sequence of str
        Original features, in output order; a feature without columns gets 0.

    Returns
    -------
    ndarray of shape (n, len(features))
    """
    contributions = np.atleast_2d(contributions)
    if contributions.shape[1] != len(column_features):
        raise ValueError(
            f"{contributions.shape[1]} contribution columns but {len(column_features)}"
            " column-to-feature names"
        )
    position = {name: i for i, name in enumerate(features)}
    unknown = sorted(set(column_features) - set(position))
    if unknown:
        raise ValueError(f"columns name features that are not listed: {unknown}")
    onto = np.zeros((len(column_features), len(features)))
    onto[np.arange(len(column_features)), [position[f] for f in column_features]] = 1.0
    return contributions @ onto


def reason_codes(
    contributions_by_feature: Mapping[str, float],
    texts: Mapping[str, str],
    top_k: int,
    never_reasons: Collection[str] = (),
) -> list[dict[str, Any]]:
    """The ``top_k`` features pushing hardest toward the risky outcome, highest first.

    Only strictly positive contributions count (a feature that lowers the risk is no reason to
    decline); ties keep the order of ``contributions_by_feature``. Features in
    ``never_reasons`` (sensitive attributes and their proxies) are never given as a reason:
    the next feature takes their place.

    Returns
    -------
    list of dict
        ``{"feature": name, "text": texts.get(name, name), "contribution": float}``.
    """
    positive = [
        (f, float(c))
        for f, c in contributions_by_feature.items()
        if c > 0 and f not in never_reasons
    ]
    positive.sort(key=lambda item: -item[1])
    return [{"feature": f, "text": texts.get(f, f), "contribution": c} for f, c in positive[:top_k]]
