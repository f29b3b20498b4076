"""MLflow's loader of a registered scorer (the pyfunc flavour's ``loader_module``).

Why a loader module and not "models from code": with models from code, MLflow stores a Python
file in the artifact and *executes* it when the model is loaded — before any check of ours could
run, so a tampered code file would run first. With ``loader_module``, the artifact holds no code
at all: ``MLmodel`` names this module, MLflow imports it from the installed riskloop package and
calls :func:`_load_pyfunc`, which verifies the signed manifest of every file of the artifact
(:func:`riskloop.provenance.verify_model`, ``MLmodel`` included) before the scorer's JSON and
``.npz`` files are read.

What remains outside any check of ours: ``mlflow.pyfunc.load_model`` reads ``MLmodel`` before
calling the loader, so an ``MLmodel`` rewritten to name another loader (or to add ``code``
paths) never reaches this function. Load through :func:`riskloop.registry.load_pyfunc`, which
verifies the downloaded folder before MLflow sees it; riskloop's own service never uses MLflow's
loader (:func:`riskloop.registry.load_scorer` reads the verified scorer folder itself).

Trusted keys come from the process — the :class:`riskloop.registry.ModelTrust` configured at the
edge, else the settings (``RISKLOOP_TRUSTED_KEYS`` or the local key) — and never from the
model's ``model_config``, which whoever writes the artifact would control.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from riskloop import provenance, registry
from riskloop.scorer import Scorer


class ScorerModel:
    """pyfunc face of :class:`riskloop.scorer.Scorer` (what :func:`_load_pyfunc` returns)."""

    def __init__(self, scorer: Scorer):
        self.scorer = scorer

    def predict(self, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        probability = self.scorer.predict_proba(model_input)
        return pd.DataFrame(
            {"probability_of_default": probability, "decision": self.scorer.decide(probability)}
        )


def _trust() -> registry.ModelTrust:
    """The trust configured at the edge, else the settings' (MLflow is this process's edge)."""
    trust = registry.current_trust()
    if trust is not None:
        return trust
    from riskloop.settings import Settings

    return Settings().model_trust()


def _load_pyfunc(data_path: str, model_config: Any = None) -> ScorerModel:
    """Called by ``mlflow.pyfunc.load_model`` with ``<model>/data/scorer``: verify the whole
    model folder, then read the scorer.

    Raises
    ------
    riskloop.provenance.ProvenanceError
        Unsigned, untrusted key, bad signature, or a file missing, added or changed (named).
    """
    scorer_dir = Path(data_path)
    # MLflow passes <model>/data/scorer (registry.SCORER_DATA); the model folder is two up
    provenance.verify_model(scorer_dir.parents[1], _trust().trusted_keys())
    return ScorerModel(Scorer.load(scorer_dir))
