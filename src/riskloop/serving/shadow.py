"""Shadow scoring: a second model (the one behind an alias such as ``challenger``) scores the
logged applications after the answer is computed. Its scores go to ``shadow_predictions`` and are
never returned; a failing shadow model never fails a request (it is counted in /metrics)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool

from riskloop.serving.metrics import ServiceMetrics
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionRecord, ShadowStore

log = logging.getLogger(__name__)


class ShadowScorer:
    """Loads the shadow model into ``holder.shadow`` and scores logged rows with it.

    Parameters
    ----------
    holder : ModelHolder
        Holds the shadow model (``holder.shadow``; None: no shadow scoring).
    store : ShadowStore
        Where the shadow scores are written.
    metrics : ServiceMetrics
        Counts shadow rows written and shadow scorings that failed.
    alias : str, optional
        The registry alias of the shadow model; None: shadow scoring is off.
    load_shadow : callable, optional
        Loads the model behind an alias (None when nothing is behind it); None: off.
    shadow_version : callable, optional
        Returns the version an alias points at, cheaply, so :meth:`refresh` loads only when the
        alias moved (without it, every refresh loads).
    """

    def __init__(
        self,
        holder: ModelHolder,
        store: ShadowStore,
        metrics: ServiceMetrics,
        alias: str | None = None,
        load_shadow: Callable[[str], LoadedModel | None] | None = None,
        shadow_version: Callable[[str], str | None] | None = None,
    ):
        self.holder = holder
        self.store = store
        self.metrics = metrics
        self.alias = alias
        self.load_shadow = load_shadow
        self.shadow_version = shadow_version
        self._tasks: set[asyncio.Future[None]] = set()

    def refresh(self) -> None:
        """Load the model behind the alias when it is not the one held; a failure is logged and
        leaves the previous shadow model in place, a removed alias stops shadow scoring."""
        if self.alias is None or self.load_shadow is None:
            return
        try:
            if self.shadow_version is not None:
                version = self.shadow_version(self.alias)
                held = self.holder.shadow
                if version is None:
                    self.holder.shadow = None
                    return
                if held is not None and held.version == version:
                    return
            loaded = self.load_shadow(self.alias)
            if loaded is not None:
                loaded.warm_up()
            self.holder.shadow = loaded
            if loaded is not None:
                log.info("shadow scoring with %s version %s", loaded.name, loaded.version)
        except Exception:
            log.exception("could not load the shadow model (alias %r)", self.alias)

    def score(self, shadow: LoadedModel, rows: list[PredictionRecord]) -> None:
        """Score the logged applications with ``shadow`` and write its rows (never raises)."""
        try:
            decisions = shadow.scorer.score_records([r.inputs for r in rows])
            now = datetime.now(UTC)
            written = self.store.append(
                [
                    _shadow_row(row, shadow, float(probability), decision, now)
                    for row, probability, decision in zip(
                        rows, decisions.probability, decisions.decision, strict=True
                    )
                ]
            )
            self.metrics.shadow_rows.inc(written)
        except Exception:
            self.metrics.shadow_failures.inc()
            log.exception("shadow scoring with version %s failed", shadow.version)

    def submit(self, rows: list[PredictionRecord]) -> None:
        """Hand the rows to the shadow model in a worker thread; the response does not wait."""
        shadow = self.holder.shadow
        if shadow is None or not rows:
            return
        task = asyncio.ensure_future(run_in_threadpool(self.score, shadow, rows))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the shadow scoring of every answered request (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _shadow_row(
    row: PredictionRecord, shadow: LoadedModel, probability: float, decision: str, at: datetime
) -> dict[str, Any]:
    return {
        "application_id": row.application_id,
        "model_name": shadow.name,
        "model_version": shadow.version,
        "probability": probability,
        "decision": decision,
        "scored_at": at,
    }
