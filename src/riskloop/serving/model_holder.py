"""Holds the model the service scores with; a new one replaces the old in one assignment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from riskloop.scorer import Scorer
from riskloop.serving.schemas import applicant_model


@dataclass(frozen=True)
class LoadedModel:
    """Everything a request needs from one model version, built once at load time."""

    scorer: Scorer
    name: str
    version: str
    alias: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    request_model: type[BaseModel] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "request_model", applicant_model(self.scorer.input_schema))


class ModelHolder:
    """The current :class:`LoadedModel`, or None before the first load.

    Requests read ``holder.current`` once and use that object to the end, so a swap (a single
    reference assignment) never mixes two versions within one request.
    """

    def __init__(self, model: LoadedModel | None = None):
        self.current = model

    def swap(self, model: LoadedModel) -> None:
        self.current = model
