"""``Explainer``: SHAP values of one fitted binary classifier on its model matrix.

Which SHAP computation is used depends on the model family (:func:`model_family`):

* **linear** (scikit-learn / riskloop.scratch ``LogisticRegression``): exact, in log-odds.
  With weights ``w``, intercept ``b`` and ``μ = E[x]`` over the training matrix,
  ``φ_j = w_j (x_j − μ_j)`` and ``base = w·μ + b``. A vector product: microseconds.
* **trees** (riskloop.scratch decision tree, random forest and histogram gradient boosting via
  their ``shap_model()`` dict; LightGBM and scikit-learn tree models directly): exact
  Tree SHAP (``shap.TreeExplainer``, ``feature_perturbation="tree_path_dependent"``, no
  background needed). Boosted models are explained in log-odds, a single tree or a forest in
  probability — :attr:`Explainer.output_space` says which.
* **anything else** (k-NN, naive Bayes, MLP): ``shap.PermutationExplainer`` on the predicted
  probability, against a small fixed background sample (≤ 50 rows, seeded). It is
  *approximate* (sampled permutations; masking replaces single one-hot columns, which can
  create category combinations that never occur) and *slow* (about ``max_evals ×
  n_background`` model evaluations per explained row — tens of milliseconds to seconds;
  docs/explanations.md has the measured times). Additivity still holds exactly.

shap is imported lazily, when an explainer is first used (never at import or construction).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from riskloop.evaluation.explain.families import explained_model, model_family
from riskloop.evaluation.explain.setup import DEFAULT_BACKGROUND_ROWS

OutputSpace = Literal["log_odds", "probability"]


class Explainer:
    """SHAP values of one fitted binary classifier on its model matrix.

    Built once per scorer; the shap machinery is created lazily at the first explanation
    (never at import or construction).

    Parameters
    ----------
    model : fitted classifier
        ``predict_proba(X)[:, 1]`` is the probability of the risky outcome. A calibrating
        wrapper is unwrapped (:func:`explained_model`).
    background_mean : ndarray of shape (n_columns,)
        Training mean of the model matrix (linear models).
    background_sample : ndarray of shape (n_rows, n_columns)
        Small training sample (model-agnostic explainer); the first
        ``max_background`` rows are used.
    max_background : int
        Background rows of the model-agnostic explainer. Default 50.
    max_evals : int or None
        Model evaluations (of the background-sized batch) per explained row for the
        model-agnostic explainer; default ``10 × (2 n_columns + 1)``, i.e. 10 antithetic
        permutations.
    seed : int
        Seed of the model-agnostic explainer's permutations. Default 0.
    """

    def __init__(
        self,
        model: Any,
        background_mean: np.ndarray,
        background_sample: np.ndarray,
        max_background: int = DEFAULT_BACKGROUND_ROWS,
        max_evals: int | None = None,
        seed: int = 0,
    ) -> None:
        self.model = explained_model(model)
        self.background_mean = np.asarray(background_mean, dtype=np.float64)
        self.background_sample = np.asarray(background_sample, dtype=np.float64)[:max_background]
        self.max_evals = max_evals
        self.seed = seed
        self.family = model_family(self.model)
        self._tree: Any = None
        self._permutation: Any = None
        self._tree_output: OutputSpace | None = None

    # ---- what is explained
    @property
    def output_space(self) -> OutputSpace:
        """``"log_odds"`` or ``"probability"``: the unit of base values and contributions."""
        if self.family == "linear":
            return "log_odds"
        if self.family == "tree":
            self._build_tree()
            assert self._tree_output is not None
            return self._tree_output
        return "probability"

    def model_output(self, X: np.ndarray) -> np.ndarray:
        """The explained output ``f(x)`` of each row, in :attr:`output_space`."""
        X = np.asarray(X, dtype=np.float64)
        if self.family == "linear":
            return X @ np.ravel(self.model.coef_) + float(np.ravel(self.model.intercept_)[0])
        if self.family == "tree" and self.output_space == "log_odds":
            if hasattr(self.model, "decision_function"):
                return np.ravel(self.model.decision_function(X))
            if self._is_lightgbm():
                return np.ravel(self.model.predict(X, raw_score=True, num_threads=1))
            return _log_odds(_positive_probability(self.model, X))
        return _positive_probability(self.model, X)

    # ---- explanations
    def explain_matrix(self, X: np.ndarray, fast: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Base value per row, shape (n,), and contributions per column, shape (n, n_columns).

        ``base + contributions.sum(axis=1) == model_output(X)`` (to floating-point error).

        ``fast=True`` (the per-request reason codes) replaces exact Tree SHAP of riskloop's own
        tree models by path attribution (Saabas: each split's change of the node value is
        credited to its feature, along the row's decision path) — O(trees × depth) instead of
        O(trees × leaves × depth²), ~10 µs instead of ~3 ms for a 200-tree forest, still
        exactly additive, but not consistent in Shapley's sense; the full breakdown
        (``/v1/explain``) stays exact. Linear and LightGBM explanations are exact either way.
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if self.family == "linear":
            weights = np.ravel(self.model.coef_)
            base = float(weights @ self.background_mean) + float(np.ravel(self.model.intercept_)[0])
            return np.full(len(X), base), (X - self.background_mean) * weights
        if self.family == "tree":
            return self._explain_tree(X, approximate=fast)
        return self._explain_agnostic(X)

    def _is_lightgbm(self) -> bool:
        return type(self.model).__module__.startswith("lightgbm")

    def _build_tree(self) -> None:
        if self._tree is not None:
            return
        if self._is_lightgbm():
            # LightGBM computes the same path-dependent Tree SHAP natively (shap.TreeExplainer
            # calls it too); one thread, because a loaded Booster otherwise starts its OpenMP
            # pool on every call (about 25 ms per row instead of 0.3 ms).
            self._tree, self._tree_output = "lightgbm", "log_odds"
            return
        import shap

        if hasattr(self.model, "shap_model"):
            source = self.model.shap_model()
            space = source.get("tree_output", "probability")
        else:
            source = self.model
            module = type(self.model).__module__
            # scikit-learn's gradient boosting and LightGBM explain the raw (log-odds) score;
            # single trees and forests average leaf probabilities.
            boosted = "Boosting" in type(self.model).__name__ or module.startswith("xgboost")
            space = "log_odds" if boosted else "probability"
        self._tree_output = "log_odds" if space in ("log_odds", "raw_value") else "probability"
        self._tree = shap.TreeExplainer(source, feature_perturbation="tree_path_dependent")

    def _explain_tree(
        self, X: np.ndarray, approximate: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        self._build_tree()
        if self._tree == "lightgbm":
            contributions = np.asarray(
                self.model.predict(X, pred_contrib=True, num_threads=1), dtype=np.float64
            )
            return contributions[:, -1], contributions[:, :-1]
        raw = self._tree.shap_values(X, check_additivity=False, approximate=approximate)
        # One array per class (older shap) or (n, columns, classes): keep the risky class.
        values = np.asarray(raw[-1] if isinstance(raw, list) else raw, dtype=np.float64)
        if values.ndim == 3:
            values = values[:, :, -1]
        expected = np.ravel(np.asarray(self._tree.expected_value, dtype=np.float64))
        return np.full(len(X), expected[-1]), values.reshape(len(X), -1)

    def _explain_agnostic(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import shap

        if self._permutation is None:
            masker = shap.maskers.Independent(
                self.background_sample, max_samples=len(self.background_sample)
            )
            self._permutation = shap.PermutationExplainer(
                lambda Z: _positive_probability(self.model, Z), masker, seed=self.seed
            )
        n_columns = X.shape[1]
        max_evals = self.max_evals or 10 * (2 * n_columns + 1)
        result = self._permutation(X, max_evals=max(max_evals, 2 * n_columns + 1), silent=True)
        return (
            np.asarray(result.base_values, dtype=np.float64).reshape(len(X)),
            np.asarray(result.values, dtype=np.float64).reshape(len(X), n_columns),
        )


def _positive_probability(model: Any, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_proba(X))[:, 1]


def _log_odds(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)
