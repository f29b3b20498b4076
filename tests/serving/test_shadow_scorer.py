"""The shadow scorer on its own, without HTTP: it loads the model behind its alias only when the
alias moved, scores logged rows with it into ``shadow_predictions``, and never raises."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from riskloop.serving.metrics import ServiceMetrics
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.shadow import ShadowScorer
from riskloop.store import PredictionRecord, PredictionStore, ShadowStore
from tests.serving.test_api import APPLICANT
from tests.serving.test_shadow import SquaredScorer


@pytest.fixture()
def store(tmp_path):
    return PredictionStore(f"sqlite:///{tmp_path / 'store.db'}")


def _logged(store: PredictionStore, scorer, ids: list[str]) -> list[PredictionRecord]:
    """Champion rows as the service logs them (the shadow rows refer to them)."""
    inputs = [{**APPLICANT, "Age": 20 + 10 * i} for i in range(len(ids))]
    decisions = scorer.score_records(inputs)
    rows = [
        PredictionRecord(
            application_id, datetime.now(UTC), "credit-risk", "7", record, float(p), d, 0.5
        )
        for application_id, record, p, d in zip(
            ids, inputs, decisions.probability, decisions.decision, strict=True
        )
    ]
    store.append(rows)
    return rows


def _count(metrics: ServiceMetrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


def _shadow(store, holder, metrics=None, **loaders) -> ShadowScorer:
    return ShadowScorer(
        holder, ShadowStore(store.engine), metrics or ServiceMetrics(), "challenger", **loaders
    )


def test_refresh_loads_only_when_the_alias_moved_and_stops_when_it_is_removed(credit_scorer, store):
    alias: dict[str, str | None] = {"version": "8"}
    loads: list[str] = []

    def load(name: str) -> LoadedModel:
        loads.append(name)
        return LoadedModel(credit_scorer, name="credit-risk", version=str(alias["version"]))

    holder = ModelHolder()
    shadow = _shadow(store, holder, load_shadow=load, shadow_version=lambda _: alias["version"])
    shadow.refresh()
    shadow.refresh()
    assert loads == ["challenger"] and holder.shadow.version == "8"
    alias["version"] = "9"
    shadow.refresh()
    assert len(loads) == 2 and holder.shadow.version == "9"
    alias["version"] = None
    shadow.refresh()
    assert holder.shadow is None and len(loads) == 2


def test_a_failing_load_keeps_the_previous_shadow_model(credit_scorer, store):
    previous = LoadedModel(credit_scorer, name="credit-risk", version="8")
    holder = ModelHolder()
    holder.shadow = previous

    def broken(name: str) -> LoadedModel:
        raise RuntimeError("registry down")

    _shadow(store, holder, load_shadow=broken).refresh()  # does not raise
    assert holder.shadow is previous


def test_no_alias_means_nothing_is_loaded(credit_scorer, store):
    loads: list[str] = []
    holder = ModelHolder()
    shadow = ShadowScorer(
        holder, ShadowStore(store.engine), ServiceMetrics(), None, load_shadow=loads.append
    )
    shadow.refresh()
    assert loads == [] and holder.shadow is None


def test_score_writes_the_shadow_models_scores(credit_scorer, store):
    rows = _logged(store, credit_scorer, ["a", "b"])
    shadow_model = LoadedModel(SquaredScorer(credit_scorer), name="credit-risk", version="8")
    metrics = ServiceMetrics()
    _shadow(store, ModelHolder(), metrics).score(shadow_model, rows)
    written = ShadowStore(store.engine).rows("8")
    assert [r["application_id"] for r in written] == ["a", "b"]
    expected = credit_scorer.score_records([r.inputs for r in rows]).probability ** 2
    assert [r["probability"] for r in written] == pytest.approx(list(expected), abs=1e-12)
    assert [r["decision"] for r in written] == credit_scorer.decide(expected)
    assert _count(metrics, "riskloop_shadow_rows_total") == 2.0
    assert _count(metrics, "riskloop_shadow_failures_total") == 0.0


def test_a_failing_shadow_model_is_counted_and_raises_nothing(credit_scorer, store):
    rows = _logged(store, credit_scorer, ["a"])
    failing = SquaredScorer(credit_scorer, fail=True)
    failing.calls = 1  # past its warm-up: the next score raises
    metrics = ServiceMetrics()
    _shadow(store, ModelHolder(), metrics).score(
        LoadedModel(failing, name="credit-risk", version="8"), rows
    )
    assert _count(metrics, "riskloop_shadow_failures_total") == 1.0
    assert ShadowStore(store.engine).rows() == []


def test_submitted_rows_are_written_by_the_time_drain_returns(credit_scorer, store):
    rows = _logged(store, credit_scorer, ["a", "b", "c"])
    holder = ModelHolder()
    shadow = _shadow(store, holder)

    async def submit_then_drain(with_model: bool) -> None:
        holder.shadow = (
            LoadedModel(SquaredScorer(credit_scorer), name="credit-risk", version="8")
            if with_model
            else None
        )
        shadow.submit(rows)
        await shadow.drain()

    asyncio.run(submit_then_drain(with_model=False))
    assert ShadowStore(store.engine).rows() == []  # no shadow model, no shadow scoring
    asyncio.run(submit_then_drain(with_model=True))
    assert [r["application_id"] for r in ShadowStore(store.engine).rows("8")] == ["a", "b", "c"]
