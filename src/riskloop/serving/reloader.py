"""Loads the champion into the :class:`ModelHolder`: at start-up, on demand (the admin route),
and periodically when the registry's champion alias moves.

A new version is loaded beside the one in service and warmed up in a worker thread (a model that
cannot score is never published), then published with one reference assignment; one reload runs
at a time, and requests never wait for it (they keep the model they read).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress

from fastapi.concurrency import run_in_threadpool

from riskloop.provenance import ProvenanceError
from riskloop.serving.metrics import ServiceMetrics
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.schemas import ReloadResponse

log = logging.getLogger(__name__)


class ReloadError(RuntimeError):
    """A reload that left the model in service unchanged.

    Parameters
    ----------
    code : str
        ``reload_failed`` (the loader raised) or ``no_champion`` (nothing is registered).
    message : str
        Why, in words.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class ModelReloader:
    """Keeps the holder's model in step with the registry's champion.

    Parameters
    ----------
    holder : ModelHolder
        Where the model in service is published.
    metrics : ServiceMetrics
        Counts reloads by result and names the model in service.
    load_model : callable, optional
        Loads the current champion (None when there is none); without it the service keeps the
        model it was given.
    champion_version : callable, optional
        Returns the version the champion alias points at — or ``(version, content digest)`` —
        cheaply; the periodic check loads only when it differs from the model in service
        (without it, every check loads). With the digest, a model rewritten in place under the
        same version is noticed.
    load_version : callable, optional
        Loads one former version by number (to explain what it scored).
    before_check : callable, optional
        Called (in a worker thread) before every periodic check and admin reload: the shadow
        scorer refreshes its model there.
    """

    def __init__(
        self,
        holder: ModelHolder,
        metrics: ServiceMetrics,
        load_model: Callable[[], LoadedModel | None] | None = None,
        champion_version: Callable[[], str | tuple[str, str] | None] | None = None,
        load_version: Callable[[str], LoadedModel] | None = None,
        before_check: Callable[[], None] | None = None,
    ):
        self.holder = holder
        self.metrics = metrics
        self.load_model = load_model
        self.champion_version = champion_version
        self.load_version = load_version
        self.before_check = before_check
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        # why the last model offered was refused (signature, manifest, artifact root), until a
        # model loads; what /ready shows
        self.last_refusal: str | None = None
        # what the periodic check found when that refusal happened: not loaded again (nor
        # logged again) until the registry offers something else; the admin reload still tries
        self._refused: str | tuple[str, str] | None = None

    def load_and_warm(self) -> LoadedModel | None:
        """Load the champion and score one typical applicant with it (raises if it cannot); a
        model refused for its origin or integrity is remembered in :attr:`last_refusal`."""
        try:
            loaded = self.load_model() if self.load_model is not None else None
        except ProvenanceError as error:
            self.last_refusal = str(error)
            raise
        except Exception:
            self.last_refusal = None  # failed for another reason (the registry is down, say)
            raise
        if loaded is not None:
            loaded.warm_up()
        self.last_refusal = None
        return loaded

    def publish(self, loaded: LoadedModel) -> LoadedModel | None:
        """Serve ``loaded`` from now on; returns the model it replaced."""
        previous = self.holder.swap(loaded)
        self.metrics.set_model(loaded.name, loaded.version)
        return previous

    async def start(self) -> None:
        """At start-up: load the champion when the holder is empty (a failure is logged and the
        service starts without a model; ``/ready`` says so)."""
        current = self.holder.current
        if current is not None:
            self.metrics.set_model(current.name, current.version)
            return
        if self.load_model is None:
            return
        try:
            loaded = await run_in_threadpool(self.load_and_warm)
        except Exception as error:
            log.error("could not load the champion model: %s", error)
            return
        if loaded is not None:
            self.publish(loaded)
            log.info("serving %s version %s", loaded.name, loaded.version)

    async def reload(self) -> ReloadResponse:
        """Load the champion now and swap it in when it is another version.

        Raises
        ------
        ReloadError
            When the champion cannot be loaded or none is registered; the model in service is
            unchanged.
        """
        async with self._lock:  # one reload at a time; requests never wait on it
            try:
                loaded = await run_in_threadpool(self.load_and_warm)
            except Exception as error:
                self.metrics.reloads.labels(result="failed").inc()
                if isinstance(error, ProvenanceError):  # a refusal, not a fault: no traceback
                    log.error("refused the champion: %s; still serving the old model", error)
                else:
                    log.exception("reloading the champion failed; still serving the old model")
                raise ReloadError(
                    "reload_failed",
                    f"could not load the champion ({type(error).__name__}: {error});"
                    " the model in service is unchanged",
                ) from None
            current = self.holder.current
            if loaded is None:
                self.metrics.reloads.labels(result="no_champion").inc()
                raise ReloadError(
                    "no_champion", "no champion is registered: train one with `riskloop run`"
                )
            if current is not None and _identity(current) == _identity(loaded):
                self.metrics.reloads.labels(result="unchanged").inc()
                return ReloadResponse(
                    changed=False,
                    model_name=current.name,
                    model_version=current.version,
                    previous_version=current.version,
                )
            previous = self.publish(loaded)
            self.metrics.reloads.labels(result="swapped").inc()
            log.info(
                "now serving %s version %s (was %s)",
                loaded.name,
                loaded.version,
                previous.version if previous else None,
            )
            return ReloadResponse(
                changed=True,
                model_name=loaded.name,
                model_version=loaded.version,
                previous_version=previous.version if previous else None,
            )

    async def reload_all(self) -> ReloadResponse:
        """The admin reload: the shadow model first (``before_check``), then the champion."""
        if self.before_check is not None:
            await run_in_threadpool(self.before_check)
        return await self.reload()

    async def check(self) -> None:
        """One periodic check: reload when the champion alias points elsewhere than the model in
        service (any failure is logged; the next check tries again)."""
        try:
            if self.before_check is not None:
                await run_in_threadpool(self.before_check)
            found = None
            if self.champion_version is not None:
                found = await run_in_threadpool(self.champion_version)
                current = self.holder.current
                if found is None or (current is not None and _is_model(current, found)):
                    return
                if found == self._refused:
                    return
            await self.reload()
        except ReloadError as error:
            if self.last_refusal is not None:
                self._refused = found
            log.warning("periodic champion check: %s", error.message)
        except Exception:
            log.exception("periodic champion check failed; will try again")

    def watch(self, interval_s: float) -> None:
        """Check every ``interval_s`` seconds in the background (nothing when it is 0 or there is
        no loader) until :meth:`stop`."""
        if interval_s > 0 and self.load_model is not None and self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(interval_s))

    async def _watch(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.check()

    async def stop(self) -> None:
        """Stop the periodic check (waits for a check in progress to be cancelled)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with suppress(asyncio.CancelledError):
                await watcher

    def scored_by(self, version: str) -> LoadedModel | None:
        """The model of ``version``: kept in memory, or loaded (then kept) when a loader of former
        versions was given; None when neither. Raises what the loader raises."""
        model = self.holder.version(version)
        if model is None and self.load_version is not None:
            model = self.load_version(version)
            self.holder.remember(model)
        return model


def _identity(model: LoadedModel) -> tuple[str, str, str | None]:
    return model.name, model.version, model.content_digest


def _is_model(model: LoadedModel, found: str | tuple[str, str]) -> bool:
    """Whether the registry's answer (a version, or a version and content digest) is
    ``model``."""
    if isinstance(found, tuple):
        return (model.version, model.content_digest) == found
    return model.version == found
