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


def attention_agreement(explained: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Global attention of an attention model beside its global SHAP importance.

    ``explained`` are :meth:`riskloop.scorer.Scorer.explain_records` rows that carry
    ``attention``. Per feature: the mean [CLS] attention (rollout and last block) and the mean
    |SHAP| contribution; then Spearman's rank correlation of rollout attention with |SHAP| and
    the features whose two ranks differ most. Attention is where the model looked, SHAP how much
    a feature moved the score: a low correlation is a finding, not an error.
    """
    from scipy.stats import spearmanr

    features = list(explained[0]["contributions"])

    def mean(getter: Callable[[dict[str, Any]], dict[str, float]]) -> np.ndarray:
        return np.array([np.mean([getter(row)[f] for row in explained]) for f in features])

    rollout = mean(lambda row: row["attention"]["rollout"])
    last_layer = mean(lambda row: row["attention"]["last_layer"])
    shap = mean(lambda row: {f: abs(v) for f, v in row["contributions"].items()})
    attention_rank = (-rollout).argsort().argsort() + 1
    shap_rank = (-shap).argsort().argsort() + 1
    gap = np.abs(attention_rank - shap_rank)
    return {
        "n_explained": len(explained),
        "spearman_rollout_vs_shap": float(spearmanr(rollout, shap).statistic),
        "features": [
            {
                "feature": f,
                "attention_rollout": float(rollout[i]),
                "attention_last_layer": float(last_layer[i]),
                "mean_abs_shap": float(shap[i]),
                "attention_rank": int(attention_rank[i]),
                "shap_rank": int(shap_rank[i]),
            }
            for i, f in sorted(enumerate(features), key=lambda item: shap_rank[item[0]])
        ],
        "largest_disagreements": [features[i] for i in np.argsort(-gap, kind="stable")[:3]],
    }
