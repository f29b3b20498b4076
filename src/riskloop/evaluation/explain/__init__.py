"""Per-decision explanations: exact SHAP values per model family, and reason codes.

An explanation splits one model output ``f(x)`` into a base value and one contribution per
column of the model matrix (after imputation, scaling and one-hot encoding)::

    f(x) = base + Σ_j φ_j(x)

and then sums the one-hot columns of each categorical input back into one contribution per
ORIGINAL input feature (:func:`aggregate_to_features`), which is what a person reads.

- :mod:`.setup`: :class:`ExplanationSetup`, what a scorer stores to explain itself.
- :mod:`.families`: the model explained (:func:`explained_model`) and its family.
- :mod:`.explainer`: :class:`Explainer`, the SHAP computation per family.
- :mod:`.reasons`: per-feature contributions and :func:`reason_codes`.
- :mod:`.agreement`: :func:`lime_agreement`, LIME against SHAP for the report.

Reason codes (:func:`reason_codes`) rank the features with a POSITIVE contribution, i.e. those
pushing toward the risky outcome (decline). When a calibrator wraps the model, explanations
stay on the uncalibrated model's margin: calibration is monotone, so the ranking of reasons is
the same, but contributions are not deltas of the calibrated probability.

These modules import NumPy (and shap/lime lazily, when an explainer is first used).
"""

from riskloop.evaluation.explain.agreement import attention_agreement, lime_agreement
from riskloop.evaluation.explain.explainer import Explainer, OutputSpace
from riskloop.evaluation.explain.families import explained_model, model_family
from riskloop.evaluation.explain.reasons import aggregate_to_features, reason_codes
from riskloop.evaluation.explain.setup import DEFAULT_BACKGROUND_ROWS, ExplanationSetup

__all__ = [
    "DEFAULT_BACKGROUND_ROWS",
    "Explainer",
    "ExplanationSetup",
    "OutputSpace",
    "aggregate_to_features",
    "attention_agreement",
    "explained_model",
    "lime_agreement",
    "model_family",
    "reason_codes",
]
