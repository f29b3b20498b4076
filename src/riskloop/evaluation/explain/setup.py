"""What a scorer stores to explain itself without the training data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Background rows kept for model-agnostic explanations (and the size of the stored sample).
DEFAULT_BACKGROUND_ROWS = 50


@dataclass
class ExplanationSetup:
    """What a scorer needs to explain itself without the training data.

    Parameters
    ----------
    background_mean : ndarray of shape (n_columns,)
        Mean model-matrix row over the training data: ``E[x]`` of the linear explanation.
    background_sample : ndarray of shape (n_rows, n_columns)
        A small seeded sample of training model-matrix rows (≤ 50): the reference
        distribution of the model-agnostic explainer.
    top_k : int
        Number of reason codes returned with each decision.
    reason_texts : dict of str to str
        Human text per original input feature; the feature name is used when one is missing.
    never_reasons : list of str
        Features never given as a reason (the scenario's sensitive attributes and their
        proxies), even when they are model inputs; explanations still show them.
    """

    background_mean: np.ndarray
    background_sample: np.ndarray
    top_k: int = 4
    reason_texts: dict[str, str] = field(default_factory=dict)
    never_reasons: list[str] = field(default_factory=list)

    @classmethod
    def from_training_matrix(
        cls,
        matrix: np.ndarray,
        top_k: int = 4,
        reason_texts: Mapping[str, str] | None = None,
        never_reasons: Sequence[str] = (),
        n_sample: int = DEFAULT_BACKGROUND_ROWS,
        seed: int = 0,
    ) -> ExplanationSetup:
        """Summarise the training model matrix: its mean row and ``n_sample`` seeded rows."""
        matrix = np.asarray(matrix, dtype=np.float64)
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(matrix), size=min(n_sample, len(matrix)), replace=False))
        return cls(
            background_mean=matrix.mean(axis=0),
            background_sample=matrix[rows].copy(),
            top_k=int(top_k),
            reason_texts=dict(reason_texts or {}),
            never_reasons=list(never_reasons),
        )

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able settings, arrays for an ``.npz`` file)."""
        return (
            {
                "top_k": self.top_k,
                "reason_texts": self.reason_texts,
                "never_reasons": self.never_reasons,
            },
            {"background_mean": self.background_mean, "background_sample": self.background_sample},
        )

    @classmethod
    def from_state(
        cls, settings: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> ExplanationSetup:
        return cls(
            background_mean=np.asarray(arrays["background_mean"], dtype=np.float64),
            background_sample=np.asarray(arrays["background_sample"], dtype=np.float64),
            top_k=int(settings["top_k"]),
            reason_texts=dict(settings.get("reason_texts", {})),
            never_reasons=list(settings.get("never_reasons", [])),
        )
