"""Kedro datasets for riskloop's own objects; the catalog decides where each one lives.

* :class:`ScenarioDataset` — a scenario YAML file, validated.
* :class:`ScenarioCSVDataset` — the raw CSV the scenario points to, with its SHA-256 and path
  in ``DataFrame.attrs`` (the lineage that registration records).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset

from riskloop.data.scenario import Scenario, load_scenario
from riskloop.data.schema import DataValidationError


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ScenarioDataset(AbstractDataset[None, Scenario]):
    """Read-only: the validated scenario at ``filepath``."""

    def __init__(self, filepath: str):
        self._filepath = Path(filepath)

    def load(self) -> Scenario:
        return load_scenario(self._filepath)

    def save(self, data: None) -> None:
        raise NotImplementedError("scenarios are written by people, not by the pipeline")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class ScenarioCSVDataset(AbstractDataset[None, pd.DataFrame]):
    """Read-only: the CSV named by the scenario at ``scenario_filepath``.

    Relative data paths in the scenario are taken from the current working directory (the
    project folder, as for every other catalog path).
    """

    def __init__(self, scenario_filepath: str):
        self._scenario_filepath = Path(scenario_filepath)

    def load(self) -> pd.DataFrame:
        scenario = load_scenario(self._scenario_filepath)
        path = scenario.resolve_path(Path.cwd())
        if not path.is_file():
            raise DataValidationError(
                f"data file {path} (from scenario {self._scenario_filepath}) does not exist"
            )
        try:
            frame = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise DataValidationError(f"{path} is empty: no header and no rows") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise DataValidationError(f"{path} is not a readable CSV file: {error}") from None
        frame.attrs["source"] = str(path)
        frame.attrs["sha256"] = file_sha256(path)
        return frame

    def save(self, data: pd.DataFrame) -> None:
        raise NotImplementedError("raw data is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"scenario_filepath": str(self._scenario_filepath)}
