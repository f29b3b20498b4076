"""Kedro datasets for the scorer and the model registry (they live here because both sit above
data/). The catalog decides where these live, so the nodes stay pure: no node opens a scorer
directory or talks to the registry.

* :class:`ScorerDataset` — a scorer directory (JSON + npz, never pickle).
* :class:`ChampionDataset` — read-only: the scenario's current champion from the registry.
* :class:`ModelRegistrationDataset` — saving registers the scorer (and moves the champion
  alias when the run decided so), then writes the registration report; loading reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from riskloop import registry
from riskloop.data.scenario import load_scenario
from riskloop.provenance import ProvenanceError
from riskloop.scorer import Scorer


class ScorerDataset(AbstractDataset[Scorer, Scorer]):
    """A scorer directory (JSON + npz, never pickle)."""

    def __init__(self, filepath: str):
        self._filepath = Path(filepath)

    def load(self) -> Scorer:
        return Scorer.load(self._filepath)

    def save(self, data: Scorer) -> None:
        data.save(self._filepath)

    def _exists(self) -> bool:
        return (self._filepath / "scorer.json").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


@dataclass(frozen=True)
class Champion:
    """The registered model the service serves: its scorer and its registry version; a champion
    whose origin cannot be proven (unsigned, untrusted key, changed files) comes without a
    scorer, ``refusal`` saying why, so the run can register a model to replace it."""

    scorer: Scorer | None
    version: str
    refusal: str = ""


class ChampionDataset(AbstractDataset[None, "Champion | None"]):
    """Read-only: the champion of the registered model named by the scenario at
    ``scenario_filepath`` (its ``model_name``), or None when there is none yet. The tracking
    store is the one the MLflow hook pointed the run at."""

    def __init__(self, scenario_filepath: str):
        self._scenario_filepath = Path(scenario_filepath)

    def load(self) -> Champion | None:
        model_name = load_scenario(self._scenario_filepath).model_name
        try:
            loaded = registry.load_champion(model_name)
        except ProvenanceError as error:
            info = registry.version_for_alias(model_name)
            if info is None:
                raise
            return Champion(None, info.version, refusal=str(error))
        return None if loaded is None else Champion(loaded[0], loaded[1].version)

    def save(self, data: None) -> None:
        raise NotImplementedError("the champion moves by registration or promotion, not by a save")

    def _describe(self) -> dict[str, Any]:
        return {"scenario_filepath": str(self._scenario_filepath)}


@dataclass(frozen=True)
class ModelRegistration:
    """A scorer to register as a new version of ``model_name``, and what the run decided.

    ``tags`` go on the new version, ``metrics`` to the active run; ``make_champion`` says
    whether the champion alias moves to it; ``report`` is the registration report without the
    version the registry gives (its ``champion_version`` is the current champion's).
    """

    scorer: Scorer
    model_name: str
    tags: dict[str, str]
    metrics: dict[str, float]
    make_champion: bool
    report: dict[str, Any]


class ModelRegistrationDataset(AbstractDataset[ModelRegistration, dict[str, Any]]):
    """Saving a :class:`ModelRegistration` logs its metrics to the active MLflow run, registers
    the scorer as a new model version, moves the champion alias when decided, and writes the
    registration report (with the new version) as JSON to ``filepath``; loading reads that
    report back."""

    def __init__(self, filepath: str):
        from kedro_datasets.json import JSONDataset

        self._report = JSONDataset(filepath=filepath)

    def load(self) -> dict[str, Any]:
        report: dict[str, Any] = self._report.load()
        return report

    def save(self, data: ModelRegistration) -> None:
        registry.log_metrics(data.metrics)
        version = registry.register_scorer(data.scorer, data.model_name, data.tags).version
        if data.make_champion:
            registry.set_alias(data.model_name, version, registry.CHAMPION)
        report = {"model_name": data.model_name, "version": version, **data.report}
        if data.make_champion:
            report["champion_version"] = version
        self._report.save(report)

    def _exists(self) -> bool:
        return bool(self._report.exists())

    def _describe(self) -> dict[str, Any]:
        return {"report": self._report._describe()}
