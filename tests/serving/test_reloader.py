"""The model reloader on its own, without HTTP: it publishes a new version only once it scores,
counts every reload by result, runs one reload at a time and checks the alias periodically."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from riskloop.serving.metrics import ServiceMetrics
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.reloader import ModelReloader, ReloadError


class BrokenScorer:
    """A scorer that loads but cannot score (its warm-up fails)."""

    def __init__(self, scorer):
        self._scorer = scorer

    def __getattr__(self, name):
        return getattr(self._scorer, name)

    def score_records(self, records):
        raise RuntimeError("artifact is corrupt")


def _model(scorer, version: str) -> LoadedModel:
    return LoadedModel(scorer, name="credit-risk", version=version)


def _reloads(metrics: ServiceMetrics, result: str) -> float:
    value = metrics.registry.get_sample_value("riskloop_model_reloads_total", {"result": result})
    return value or 0.0


def _serving(metrics: ServiceMetrics) -> list[str]:
    """The versions riskloop_model_info says are in service."""
    return [
        sample.labels["model_version"]
        for family in metrics.registry.collect()
        if family.name == "riskloop_model_info"
        for sample in family.samples
        if sample.value == 1.0
    ]


def test_reload_publishes_the_new_version_and_names_it_in_the_metrics(credit_scorer):
    old, new = _model(credit_scorer, "7"), _model(credit_scorer, "8")
    holder, metrics = ModelHolder(old), ServiceMetrics()
    reloader = ModelReloader(holder, metrics, load_model=lambda: new)
    answer = asyncio.run(reloader.reload())
    assert (answer.changed, answer.model_version, answer.previous_version) == (True, "8", "7")
    assert holder.current is new and holder.version("7") is old  # the old one stays explainable
    assert _reloads(metrics, "swapped") == 1.0 and _serving(metrics) == ["8"]


def test_reloading_the_version_in_service_keeps_the_object_in_service(credit_scorer):
    serving = _model(credit_scorer, "7")
    holder, metrics = ModelHolder(serving), ServiceMetrics()
    reloader = ModelReloader(holder, metrics, load_model=lambda: _model(credit_scorer, "7"))
    answer = asyncio.run(reloader.reload())
    assert (answer.changed, answer.model_version, answer.previous_version) == (False, "7", "7")
    assert holder.current is serving and _reloads(metrics, "unchanged") == 1.0


def test_a_model_that_cannot_score_is_never_published(credit_scorer):
    serving = _model(credit_scorer, "7")
    holder, metrics = ModelHolder(serving), ServiceMetrics()
    broken = _model(BrokenScorer(credit_scorer), "8")
    reloader = ModelReloader(holder, metrics, load_model=lambda: broken)
    with pytest.raises(ReloadError) as raised:
        asyncio.run(reloader.reload())
    assert raised.value.code == "reload_failed" and "artifact is corrupt" in raised.value.message
    assert holder.current is serving and holder.version("8") is None
    assert _reloads(metrics, "failed") == 1.0 and _reloads(metrics, "swapped") == 0.0


def test_no_registered_champion_is_a_reload_error(credit_scorer):
    holder = ModelHolder(_model(credit_scorer, "7"))
    reloader = ModelReloader(holder, ServiceMetrics(), load_model=lambda: None)
    with pytest.raises(ReloadError) as raised:
        asyncio.run(reloader.reload())
    assert raised.value.code == "no_champion" and holder.current.version == "7"


def test_reloads_run_one_at_a_time(credit_scorer):
    running, most = [0], [0]
    lock = threading.Lock()
    versions = iter(["8", "9", "10"])

    def slow_load() -> LoadedModel:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return _model(credit_scorer, next(versions))

    holder = ModelHolder(_model(credit_scorer, "7"))
    reloader = ModelReloader(holder, ServiceMetrics(), load_model=slow_load)

    async def three_at_once():
        return await asyncio.gather(*(reloader.reload() for _ in range(3)))

    answers = asyncio.run(three_at_once())
    assert most[0] == 1, "two reloads loaded at the same time"
    # serialised, each one saw the version the previous one published
    assert [a.previous_version for a in answers] == ["7", "8", "9"]
    assert holder.current.version == "10"


def test_the_periodic_check_loads_only_when_the_alias_moved(credit_scorer):
    alias = {"version": "7"}
    loads: list[str] = []
    checks: list[int] = []

    def load() -> LoadedModel:
        loads.append(alias["version"])
        return _model(credit_scorer, alias["version"])

    holder = ModelHolder(_model(credit_scorer, "7"))
    reloader = ModelReloader(
        holder,
        ServiceMetrics(),
        load_model=load,
        champion_version=lambda: alias["version"],
        before_check=lambda: checks.append(1),
    )
    asyncio.run(reloader.check())
    assert loads == [] and holder.current.version == "7"
    alias["version"] = "9"
    asyncio.run(reloader.check())
    assert loads == ["9"] and holder.current.version == "9"
    assert len(checks) == 2  # the shadow model is refreshed on every check


def test_a_failing_check_is_logged_and_the_service_keeps_its_model(credit_scorer, caplog):
    def registry_down() -> str:
        raise ConnectionError("registry unreachable")

    holder = ModelHolder(_model(credit_scorer, "7"))
    reloader = ModelReloader(
        holder, ServiceMetrics(), load_model=lambda: None, champion_version=registry_down
    )
    asyncio.run(reloader.check())  # does not raise
    assert holder.current.version == "7" and "registry unreachable" in caplog.text


def test_start_loads_into_an_empty_holder_and_survives_a_failing_loader(credit_scorer):
    holder, metrics = ModelHolder(), ServiceMetrics()
    asyncio.run(
        ModelReloader(holder, metrics, load_model=lambda: _model(credit_scorer, "3")).start()
    )
    assert holder.current.version == "3" and _serving(metrics) == ["3"]

    def broken() -> LoadedModel:
        raise RuntimeError("no registry")

    empty = ModelHolder()
    asyncio.run(ModelReloader(empty, ServiceMetrics(), load_model=broken).start())
    assert empty.current is None  # the service starts; /ready says 503


def test_start_keeps_a_given_model_and_names_it(credit_scorer):
    given = _model(credit_scorer, "5")
    holder, metrics = ModelHolder(given), ServiceMetrics()
    asyncio.run(
        ModelReloader(holder, metrics, load_model=lambda: _model(credit_scorer, "6")).start()
    )
    assert holder.current is given and _serving(metrics) == ["5"]


def test_watch_swaps_when_the_alias_moves_and_stop_ends_it(credit_scorer):
    alias = {"version": "7"}
    holder = ModelHolder(_model(credit_scorer, "7"))
    reloader = ModelReloader(
        holder,
        ServiceMetrics(),
        load_model=lambda: _model(credit_scorer, alias["version"]),
        champion_version=lambda: alias["version"],
    )

    async def scenario() -> asyncio.Task:
        reloader.watch(0.01)
        alias["version"] = "9"
        deadline = time.monotonic() + 10
        while holder.current.version != "9":
            assert time.monotonic() < deadline, "the periodic check never swapped"
            await asyncio.sleep(0.01)
        watcher = reloader._watcher
        await reloader.stop()
        return watcher

    watcher = asyncio.run(scenario())
    assert watcher is not None and watcher.cancelled() and reloader._watcher is None


def test_no_watch_without_an_interval_or_a_loader(credit_scorer):
    async def watchers() -> list:
        without_interval = ModelReloader(ModelHolder(), ServiceMetrics(), load_model=lambda: None)
        without_loader = ModelReloader(ModelHolder(), ServiceMetrics())
        without_interval.watch(0)
        without_loader.watch(1.0)
        return [without_interval._watcher, without_loader._watcher]

    assert asyncio.run(watchers()) == [None, None]


def test_a_former_version_is_loaded_once_and_then_kept(credit_scorer):
    loads: list[str] = []

    def load_version(version: str) -> LoadedModel:
        loads.append(version)
        return _model(credit_scorer, version)

    holder = ModelHolder(_model(credit_scorer, "7"))
    reloader = ModelReloader(holder, ServiceMetrics(), load_version=load_version)
    first = reloader.scored_by("4")
    assert first is not None and first.version == "4"
    assert reloader.scored_by("4") is first and loads == ["4"]
    assert reloader.scored_by("7") is holder.current
    assert ModelReloader(holder, ServiceMetrics()).scored_by("2") is None  # cannot load


def test_the_reload_answer_names_no_previous_version_for_a_first_load(credit_scorer):
    reloader = ModelReloader(
        ModelHolder(), ServiceMetrics(), load_model=lambda: _model(credit_scorer, "1")
    )
    answer = asyncio.run(reloader.reload())
    assert answer.changed is True and answer.previous_version is None


def test_the_periodic_check_notices_a_model_changed_in_place(credit_scorer):
    """Same version number, another signed manifest: the check loads it (the digest tells)."""
    stored = {"digest": "a" * 64}
    loads: list[str] = []

    def load() -> LoadedModel:
        loads.append(stored["digest"])
        return LoadedModel(
            credit_scorer, name="credit-risk", version="7", content_digest=stored["digest"]
        )

    holder = ModelHolder(load())
    reloader = ModelReloader(
        holder, ServiceMetrics(), load_model=load, champion_version=lambda: ("7", stored["digest"])
    )
    asyncio.run(reloader.check())
    assert len(loads) == 1  # unchanged: nothing loaded
    stored["digest"] = "b" * 64
    asyncio.run(reloader.check())
    assert holder.current.content_digest == "b" * 64 and holder.current.version == "7"


def test_an_integrity_refusal_keeps_the_model_in_service_and_says_why(credit_scorer):
    from riskloop.provenance import ManifestMismatchError

    offered: dict = {"model": None}

    def load() -> LoadedModel:
        if offered["model"] is None:
            raise ManifestMismatchError("manifest mismatch: data/scorer/scorer.json was changed")
        return offered["model"]

    holder = ModelHolder(_model(credit_scorer, "7"))
    reloader = ModelReloader(holder, ServiceMetrics(), load_model=load)
    with pytest.raises(ReloadError, match="scorer.json was changed"):
        asyncio.run(reloader.reload())
    assert holder.current.version == "7"
    assert reloader.last_refusal == "manifest mismatch: data/scorer/scorer.json was changed"
    offered["model"] = _model(credit_scorer, "8")
    asyncio.run(reloader.reload())
    assert holder.current.version == "8" and reloader.last_refusal is None


def test_a_refused_model_is_not_loaded_again_until_the_registry_offers_another(credit_scorer):
    from riskloop.provenance import UnknownKeyError

    offered = {"identity": ("8", "a" * 64)}
    loads: list[tuple[str, str]] = []

    def load() -> LoadedModel:
        loads.append(offered["identity"])
        if offered["identity"][1] == "a" * 64:
            raise UnknownKeyError(
                "the model is signed by key 0123456789abcdef, which is not trusted"
            )
        version, digest = offered["identity"]
        return LoadedModel(
            credit_scorer, name="credit-risk", version=version, content_digest=digest
        )

    holder = ModelHolder(_model(credit_scorer, "7"))
    reloader = ModelReloader(
        holder, ServiceMetrics(), load_model=load, champion_version=lambda: offered["identity"]
    )
    asyncio.run(reloader.check())
    asyncio.run(reloader.check())
    assert loads == [("8", "a" * 64)] and holder.current.version == "7"  # tried once
    assert "not trusted" in reloader.last_refusal
    offered["identity"] = ("8", "b" * 64)  # re-signed by a trusted key
    asyncio.run(reloader.check())
    assert holder.current.content_digest == "b" * 64 and reloader.last_refusal is None
