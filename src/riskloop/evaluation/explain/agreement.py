"""How far LIME and SHAP agree on the top reasons, for the evaluation report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def lime_agreement(
    predict_proba: Callable[[np.ndarray], np.ndarray],
    X_sample: np.ndarray,
    feature_names: Sequence[str],
    shap_contributions: np.ndarray,
    top_k: int = 4,
    seed: int = 0,
    training_matrix: np.ndarray | None = None,
    num_samples: int = 1000,
) -> dict[str, Any]:
    """How often LIME and SHAP name the same top-k columns, for a report.

    LIME (``lime.lime_tabular.LimeTabularExplainer`` on the model matrix, seeded, no
    discretisation) fits a local weighted linear surrogate around each row; its top-k columns
    by absolute weight are compared with SHAP's top-k by absolute contribution. Overlap
    ``|top_k(LIME) ∩ top_k(SHAP)| / k`` is 1 for full agreement.

    Parameters
    ----------
    predict_proba : callable
        Model matrix → class probabilities, shape (n, 2) (or just the risky-class column).
    X_sample : ndarray of shape (n, n_columns)
        Rows to explain (keep it small, e.g. 20: LIME samples ``num_samples`` per row).
    feature_names : sequence of str
        Column names of the model matrix.
    shap_contributions : ndarray of shape (n, n_columns)
        SHAP contributions of the same rows.
    top_k : int
        Columns compared per row. Default 4.
    seed : int
        LIME's random state. Default 0.
    training_matrix : ndarray or None
        Rows LIME takes its sampling scales from (the training model matrix or a sample of
        it). Default: ``X_sample`` itself.
    num_samples : int
        Perturbed samples per row. Default 1000.

    Returns
    -------
    dict
        ``{"top_k", "mean_overlap", "per_applicant": [{"row", "overlap", "lime", "shap"}]}``.
    """
    from lime.lime_tabular import LimeTabularExplainer

    def two_columns(Z: np.ndarray) -> np.ndarray:
        p = np.asarray(predict_proba(Z))
        return p if p.ndim == 2 else np.column_stack([1.0 - p, p])

    X_sample = np.atleast_2d(np.asarray(X_sample, dtype=np.float64))
    names = list(feature_names)
    lime = LimeTabularExplainer(
        np.asarray(X_sample if training_matrix is None else training_matrix, dtype=np.float64),
        feature_names=names,
        mode="classification",
        discretize_continuous=False,
        random_state=seed,
    )
    per_applicant = []
    for i, row in enumerate(X_sample):
        found = lime.explain_instance(
            row, two_columns, labels=(1,), num_features=top_k, num_samples=num_samples
        )
        lime_top = [names[j] for j, _ in sorted(found.as_map()[1], key=lambda t: -abs(t[1]))]
        shap_order = np.argsort(-np.abs(shap_contributions[i]), kind="stable")[:top_k]
        shap_top = [names[j] for j in shap_order]
        overlap = len(set(lime_top[:top_k]) & set(shap_top)) / top_k
        per_applicant.append(
            {"row": i, "overlap": overlap, "lime": lime_top[:top_k], "shap": shap_top}
        )
    return {
        "top_k": top_k,
        "mean_overlap": float(np.mean([a["overlap"] for a in per_applicant])),
        "per_applicant": per_applicant,
    }
