"""Kedro dataset for the deployable scorer (lives here because the scorer sits above data/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

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
