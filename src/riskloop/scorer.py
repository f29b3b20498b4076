"""The deployable scorer — the one object that moves from training to serving to monitoring.

    input schema → feature transform → estimator → probability of the risky outcome
                 → decision at the threshold   (+ reference statistics and lineage)

Training builds it, the registry stores it, the API loads it, the monitor reads its reference
profile. It is saved as a directory of JSON and ``.npz`` files (read with
``allow_pickle=False``), so loading a scorer never executes code stored in the artefact; the
SHA-256 of the directory (:func:`artifact_digest`) is recorded at registration and checked on
load.

Estimators are stored by *codecs*: a small allow-list of known model classes, each with a
function that writes its fitted numbers and one that rebuilds it from them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskloop.data.schema import InputSchema
from riskloop.evaluation.calibration import calibrator_from_dict
from riskloop.evaluation.explain import (
    Explainer,
    ExplanationSetup,
    aggregate_to_features,
    reason_codes,
)
from riskloop.features.preprocessing import TabularPreprocessor
from riskloop.provenance import ProvenanceError

FORMAT = "riskloop.scorer/1"
APPROVE, DECLINE = "approve", "decline"


class ScorerIntegrityError(ProvenanceError):
    """The stored scorer does not match the digest recorded when it was registered."""


# --------------------------------------------------------------------------- estimator codecs
def _save_sklearn_logistic(estimator: Any, directory: Path) -> dict[str, Any]:
    np.savez(
        directory / "arrays.npz",
        coef=estimator.coef_,
        intercept=estimator.intercept_,
        classes=estimator.classes_,
    )
    params = {k: v for k, v in estimator.get_params().items() if k in ("C", "max_iter", "tol")}
    return {"params": params}


def _load_sklearn_logistic(meta: Mapping[str, Any], directory: Path) -> Any:
    from sklearn.linear_model import LogisticRegression

    with np.load(directory / "arrays.npz", allow_pickle=False) as arrays:
        estimator = LogisticRegression(**meta["params"])
        estimator.coef_ = arrays["coef"]
        estimator.intercept_ = arrays["intercept"]
        estimator.classes_ = arrays["classes"]
    estimator.n_features_in_ = estimator.coef_.shape[1]
    return estimator


def _save_scratch(estimator: Any, directory: Path) -> dict[str, Any]:
    estimator.save(directory / "model")
    return {}


def _load_scratch(meta: Mapping[str, Any], directory: Path) -> Any:
    from riskloop.scratch._base import BaseEstimator as ScratchEstimator

    return ScratchEstimator.load(directory / "model")


class LightGBMBooster:
    """A trained LightGBM booster behind the ``predict_proba`` contract the scorer uses.

    LightGBM's own text format (``Booster.model_to_string``) is its storage: no pickle.
    """

    def __init__(self, booster: Any):
        self.booster_ = booster

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        # One thread: a loaded Booster otherwise starts its OpenMP pool on every call, which
        # costs ~25 ms for a single row (measured) against ~0.03 ms.
        X = np.asarray(X, dtype=np.float64)
        p = np.asarray(self.booster_.predict(X, num_threads=1), dtype=np.float64)
        return np.column_stack([1.0 - p, p])


def _save_lightgbm(estimator: Any, directory: Path) -> dict[str, Any]:
    booster = estimator.booster_
    (directory / "model.txt").write_text(booster.model_to_string())
    return {}


def _load_lightgbm(meta: Mapping[str, Any], directory: Path) -> Any:
    import lightgbm

    return LightGBMBooster(lightgbm.Booster(model_str=(directory / "model.txt").read_text()))


def _save_ft_transformer(estimator: Any, directory: Path) -> dict[str, Any]:
    # A trained riskloop.deep classifier is stored as its NumPy export: serving needs no torch.
    network = getattr(estimator, "network_", estimator)
    network.save(directory / "network")
    return {}


def _load_ft_transformer(meta: Mapping[str, Any], directory: Path) -> Any:
    from riskloop.scratch.ft_transformer import FTTransformerNetwork

    return FTTransformerNetwork.load(directory / "network")


Codec = tuple[Callable[[Any, Path], dict[str, Any]], Callable[[Mapping[str, Any], Path], Any]]
CODECS: dict[str, Codec] = {
    "sklearn.LogisticRegression": (_save_sklearn_logistic, _load_sklearn_logistic),
    "riskloop.scratch": (_save_scratch, _load_scratch),
    "lightgbm": (_save_lightgbm, _load_lightgbm),
    "ft_transformer": (_save_ft_transformer, _load_ft_transformer),
}


def codec_name(estimator: Any) -> str:
    module = type(estimator).__module__
    if module in ("riskloop.deep.estimator", "riskloop.scratch.ft_transformer"):
        return "ft_transformer"
    if module.startswith("riskloop.scratch"):
        return "riskloop.scratch"
    if module.startswith("sklearn.linear_model") and type(estimator).__name__ == (
        "LogisticRegression"
    ):
        return "sklearn.LogisticRegression"
    if module.startswith("lightgbm") or isinstance(estimator, LightGBMBooster):
        return "lightgbm"
    raise TypeError(
        f"no safe storage format for {type(estimator).__module__}.{type(estimator).__name__};"
        f" supported: {', '.join(CODECS)}"
    )


# --------------------------------------------------------------------------- integrity
def artifact_digest(directory: str | Path) -> str:
    """SHA-256 over every file of a directory: relative paths and contents, in sorted order."""
    directory = Path(directory)
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


# --------------------------------------------------------------------------- the scorer
@dataclass
class Decisions:
    """Scores of a batch: probability of the risky outcome and the decision for each row.

    ``reasons`` (when the scorer can explain itself) holds, per row, the top reason codes:
    dicts ``{"feature", "text", "contribution"}`` of the inputs pushing hardest toward decline.
    """

    probability: np.ndarray
    decision: list[str]
    reasons: list[list[dict[str, Any]]] | None = None


@dataclass
class Scorer:
    """A fitted, self-describing credit decision function.

    Attributes
    ----------
    input_schema : InputSchema
        The fields an application must have and their allowed values.
    preprocessor : TabularPreprocessor
        Fitted feature transform.
    estimator : classifier
        Fitted model whose ``predict_proba(X)[:, 1]`` is the probability of the risky outcome.
    threshold : float
        Decline when the probability is at or above it.
    positive_class : str
        Name of the risky outcome in the training data (e.g. ``"bad"``).
    reference : dict
        Training-data profile for drift monitoring
        (:func:`riskloop.evaluation.drift.reference_profile`).
    metadata : dict
        Lineage and metrics: model name, trained-at, data hash, git commit, parameters.
    reports : dict
        Small JSON documents about the model that its users read through the API (model card,
        candidate comparison, calibration, profit curve, fairness); empty when not produced.
    calibrator : calibrator or None
        Map from the estimator's probability to a calibrated one
        (:mod:`riskloop.evaluation.calibration`), applied after the estimator; None = as is.
    explanation : ExplanationSetup or None
        Background statistics, ``top_k`` and reason texts that let the scorer explain its
        decisions (:mod:`riskloop.evaluation.explain`); None = it gives no reasons.
        Explanations are of the uncalibrated estimator (log-odds or probability, see
        :meth:`explain_records`): calibration is monotone, so reasons rank the same.
    analysed_schema : InputSchema
        The scenario's sensitive attributes that are not model inputs: a service accepts them
        (optional) with an application and logs them for fairness monitoring; the model never
        sees them. Empty when none (or when the scenario makes them inputs).
    """

    input_schema: InputSchema
    preprocessor: TabularPreprocessor
    estimator: Any
    threshold: float
    positive_class: str
    reference: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict)
    calibrator: Any | None = None
    explanation: ExplanationSetup | None = None
    analysed_schema: InputSchema = field(default_factory=lambda: InputSchema(()))
    _explainer: Explainer | None = field(default=None, init=False, repr=False, compare=False)

    def _probability(self, matrix: np.ndarray) -> np.ndarray:
        """The estimator's probability of the risky outcome, calibrated when a map is set."""
        probability = self.estimator.predict_proba(matrix)[:, 1]
        return probability if self.calibrator is None else self.calibrator.transform(probability)

    # ---- scoring
    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the risky outcome for each row of a DataFrame of inputs."""
        matrix = self.preprocessor.transform(frame[self.input_schema.names])
        return self._probability(matrix)

    def decide(self, probability: np.ndarray) -> list[str]:
        return [DECLINE if p >= self.threshold else APPROVE for p in probability]

    def score_records(self, records: Sequence[Mapping[str, Any]]) -> Decisions:
        """Fast path for validated dicts (missing values as ``None``): no pandas round-trip."""
        matrix = self.preprocessor.transform_records(records)
        probability = self._probability(matrix)
        reasons = None
        if self.explanation is not None and self.explainer().family != "agnostic":
            # Linear explanations are exact and cost microseconds; tree models use fast path
            # attribution here (Explainer.explain_matrix(fast=True)) and exact Tree SHAP in
            # explain_records. The model-agnostic explainer is too slow for every request.
            reasons = self._reasons(self._explain_matrix(matrix, fast=True)[1])
        return Decisions(
            probability=probability, decision=self.decide(probability), reasons=reasons
        )

    # ---- explanations
    def explainer(self) -> Explainer:
        """The SHAP explainer of the estimator, built at first use.

        Raises
        ------
        ValueError
            When the scorer was saved without explanation state.
        """
        if self.explanation is None:
            raise ValueError("this scorer was trained without explanation state; retrain it")
        if self._explainer is None:
            self._explainer = Explainer(
                self.estimator,
                self.explanation.background_mean,
                self.explanation.background_sample,
            )
        return self._explainer

    def prepare_explanations(self) -> None:
        """Build the explainer and explain one row, so the first request does not pay for it.

        Tree models import shap on first use (seconds, plus JIT compilation); a server calls
        this after loading a scorer and before serving it. No-op without explanation state or
        for model-agnostic explainers (whose reasons are not computed per request).
        """
        if self.explanation is None or self.explainer().family == "agnostic":
            return
        self.explainer().explain_matrix(self.explanation.background_mean[None, :])

    def column_features(self) -> list[str]:
        """The original input feature of each model-matrix column (one-hot → its column)."""
        pre = self.preprocessor
        names = list(pre.numeric)
        for column, levels in zip(pre.categorical, pre.categories_, strict=True):
            names += [column] * len(levels)
        return names

    def _explain_matrix(
        self, matrix: np.ndarray, fast: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        base, by_column = self.explainer().explain_matrix(matrix, fast=fast)
        features = list(self.preprocessor.numeric) + list(self.preprocessor.categorical)
        return base, aggregate_to_features(by_column, self.column_features(), features)

    def _reasons(self, by_feature: np.ndarray) -> list[list[dict[str, Any]]]:
        assert self.explanation is not None
        features = list(self.preprocessor.numeric) + list(self.preprocessor.categorical)
        setup = self.explanation
        return [
            reason_codes(
                dict(zip(features, row, strict=True)),
                setup.reason_texts,
                setup.top_k,
                never_reasons=setup.never_reasons,
            )
            for row in by_feature
        ]

    def explain_records(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """SHAP explanation of each validated record, per original input feature.

        Each row is ``{"base_value", "output", "output_space", "contributions": {feature:
        value}}`` with ``base_value + Σ contributions == output``; ``output`` is the
        uncalibrated estimator's log-odds (linear and boosted models) or probability (single
        tree, forest, model-agnostic), as ``output_space`` says. An attention model (the
        FT-Transformer) adds ``"attention": {"last_layer": {feature: weight}, "rollout":
        {...}}``, where its [CLS] token looked — beside SHAP, not instead of it.
        """
        matrix = self.preprocessor.transform_records(records)
        explainer = self.explainer()
        base, by_feature = self._explain_matrix(matrix)
        output = explainer.model_output(matrix)
        features = list(self.preprocessor.numeric) + list(self.preprocessor.categorical)
        explanations: list[dict[str, Any]] = [
            {
                "base_value": float(base[i]),
                "output": float(output[i]),
                "output_space": explainer.output_space,
                "contributions": {f: float(v) for f, v in zip(features, row, strict=True)},
            }
            for i, row in enumerate(by_feature)
        ]
        network = getattr(self.estimator, "network_", self.estimator)
        if hasattr(network, "cls_attention"):
            maps = network.cls_attention(matrix)
            for i, explanation in enumerate(explanations):
                explanation["attention"] = {
                    kind: {f: float(v) for f, v in zip(features, weights[i], strict=True)}
                    for kind, weights in maps.items()
                }
        return explanations

    # ---- persistence
    def save(self, directory: str | Path) -> str:
        """Write the scorer to an empty (or new) directory; returns its SHA-256 digest."""
        directory = Path(directory)
        if directory.exists():
            shutil.rmtree(directory)
        (directory / "estimator").mkdir(parents=True)
        codec = codec_name(self.estimator)
        estimator_meta = CODECS[codec][0](self.estimator, directory / "estimator")
        document = {
            "format": FORMAT,
            "input_schema": self.input_schema.to_dict(),
            "analysed_schema": self.analysed_schema.to_dict(),
            "preprocessor": self.preprocessor.to_state(),
            "estimator": {"codec": codec, **estimator_meta},
            "threshold": self.threshold,
            "positive_class": self.positive_class,
            "reference": self.reference,
            "metadata": self.metadata,
            "reports": self.reports,
            "calibrator": None if self.calibrator is None else self.calibrator.to_dict(),
        }
        if self.explanation is not None:
            settings, arrays = self.explanation.to_state()
            np.savez(directory / "explanation.npz", allow_pickle=False, **arrays)
            document["explanation"] = settings
        (directory / "scorer.json").write_text(json.dumps(document, indent=1, default=_json))
        return artifact_digest(directory)

    @classmethod
    def load(cls, directory: str | Path, expected_sha256: str | None = None) -> Scorer:
        """Read a saved scorer; with ``expected_sha256``, refuse one whose files changed."""
        directory = Path(directory)
        if expected_sha256 is not None:
            actual = artifact_digest(directory)
            if actual != expected_sha256:
                raise ScorerIntegrityError(
                    f"scorer at {directory} has SHA-256 {actual}, but {expected_sha256} was"
                    " recorded at registration; refusing to load it"
                )
        document = json.loads((directory / "scorer.json").read_text())
        if document.get("format") != FORMAT:
            raise ValueError(f"unknown scorer format {document.get('format')!r}; want {FORMAT}")
        estimator_meta = document["estimator"]
        if estimator_meta["codec"] not in CODECS:
            raise ValueError(f"unknown estimator codec {estimator_meta['codec']!r}")
        estimator = CODECS[estimator_meta["codec"]][1](estimator_meta, directory / "estimator")
        return cls(
            input_schema=InputSchema.from_dict(document["input_schema"]),
            analysed_schema=InputSchema.from_dict(
                document.get("analysed_schema") or {"features": []}
            ),
            preprocessor=TabularPreprocessor.from_state(document["preprocessor"]),
            estimator=estimator,
            threshold=float(document["threshold"]),
            positive_class=document["positive_class"],
            reference=document["reference"],
            metadata=document["metadata"],
            reports=document.get("reports", {}),
            calibrator=calibrator_from_dict(document.get("calibrator")),
            explanation=_load_explanation(document.get("explanation"), directory),
        )


def _load_explanation(
    settings: Mapping[str, Any] | None, directory: Path
) -> ExplanationSetup | None:
    """Explanation state of a saved scorer; None for scorers saved without it."""
    if settings is None:
        return None
    with np.load(directory / "explanation.npz", allow_pickle=False) as arrays:
        return ExplanationSetup.from_state(settings, arrays)


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
