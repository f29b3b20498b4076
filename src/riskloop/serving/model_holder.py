"""Holds the model the service scores with; a new one replaces the old in one assignment.

Hot swap: a new version is loaded *beside* the one in service, warmed up (one score of a typical
applicant, which also proves it works — a model that fails here is never swapped in), and then
published with a single reference assignment. A request reads ``holder.current`` once and uses
that object to its end, so no request fails or mixes two versions while the champion changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter

from riskloop.data.schema import InputSchema
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
    # SHA-256 of the signed manifest it was loaded from: tells a model changed in place
    content_digest: str | None = None
    request_model: type[BaseModel] = field(init=False)
    # the model inputs and the analysed attributes (sensitive, logged, never scored): every
    # field a request may carry, whose rules the error messages quote
    accepted_schema: InputSchema = field(init=False, repr=False)
    batch_adapter: TypeAdapter = field(init=False, repr=False)
    loaded_at: datetime = field(init=False)

    def __post_init__(self) -> None:
        scorer = self.scorer
        request_model = applicant_model(scorer.input_schema, scorer.analysed_schema)
        accepted = InputSchema((*scorer.input_schema.features, *scorer.analysed_schema.features))
        object.__setattr__(self, "accepted_schema", accepted)
        object.__setattr__(self, "request_model", request_model)
        # the request type is built at run time, so mypy cannot check it as a type
        batch_adapter = TypeAdapter(list[request_model])  # type: ignore[valid-type]
        object.__setattr__(self, "batch_adapter", batch_adapter)
        object.__setattr__(self, "loaded_at", datetime.now(UTC))

    def typical_record(self) -> dict[str, Any]:
        """An applicant made of each input's typical value (training median / mode)."""
        return {f.name: f.typical for f in self.scorer.input_schema.features}

    def warm_up(self) -> None:
        """Score one typical applicant, so lazy set-up (JIT compilation, caches) happens now
        and not in the first request after a swap; raises if the model cannot score."""
        self.scorer.score_records([self.typical_record()])


class ModelHolder:
    """The current :class:`LoadedModel`, or None before the first load; keeps the last few
    versions it served, so an application can be explained by the version that scored it.

    Parameters
    ----------
    model : LoadedModel, optional
        The model to serve from the start.
    keep : int
        How many versions (the current one included) stay loaded for explanations.
    """

    def __init__(self, model: LoadedModel | None = None, keep: int = 3):
        self.current = model
        # the shadow model (a challenger scoring live traffic, never answering); None = off
        self.shadow: LoadedModel | None = None
        self.keep = keep
        self._recent: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()  # the explain route may remember a version meanwhile
        if model is not None:
            self.remember(model)

    def swap(self, model: LoadedModel) -> LoadedModel | None:
        """Publish ``model``; returns the one it replaced."""
        previous = self.current
        self.remember(model)
        self.current = model  # the one assignment requests can observe
        return previous

    def version(self, version: str) -> LoadedModel | None:
        """A loaded model with this version (current or recently served), or None."""
        return self._recent.get(version)

    def remember(self, model: LoadedModel) -> None:
        """Keep ``model`` among the recent versions (without serving it)."""
        with self._lock:
            self._recent[model.version] = model
            self._recent.move_to_end(model.version)
            while len(self._recent) > self.keep:
                self._recent.popitem(last=False)
