"""The simulated origination system sends an outcome shed by admission control (503) again after
its Retry-After, as a client of the real service should; other refusals stop the simulation."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from riskloop.retraining import simulator


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""


class SheddingService:
    """Answers 503 (Retry-After: 1) to the first ``shed`` requests per application, then
    ``final``."""

    def __init__(self, shed: int, final: int = 200):
        self.shed, self.final = shed, final
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()

    def post(self, path, json, headers):
        with self.lock:
            self.seen[json["application_id"]] = self.seen.get(json["application_id"], 0) + 1
            if self.seen[json["application_id"]] <= self.shed:
                return Answer(503, {"Retry-After": "1"}, "overloaded")
        return Answer(self.final, text="refused")


@pytest.fixture
def waits(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(simulator.time, "sleep", slept.append)
    return slept


ROWS = [{"application_id": f"a{i}", "outcome": i % 2} for i in range(5)]


def test_a_shed_outcome_is_sent_again_after_its_retry_after(waits):
    service = SheddingService(shed=2)
    simulator.send_outcomes(service, ROWS, {})
    assert service.seen == {row["application_id"]: 3 for row in ROWS}
    assert waits == [1.0] * 10


def test_an_outcome_shed_every_time_or_refused_stops_the_simulation(waits):
    with pytest.raises(RuntimeError, match="refused 5 of 5 outcomes; the first, a0: HTTP 503"):
        simulator.send_outcomes(SheddingService(shed=100), ROWS, {})
    with pytest.raises(RuntimeError, match="refused 5 of 5 outcomes; the first, a0: HTTP 422"):
        simulator.send_outcomes(SheddingService(shed=0, final=422), ROWS, {})
