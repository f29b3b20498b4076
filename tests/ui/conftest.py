"""Fixtures for the UI tests: a live API in a thread (the real app, and a stand-in for the
routes other parts of the service add), realistic report documents, free loopback ports."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from riskloop.scorer import Scorer
from riskloop.serving.app import create_app
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn in a daemon thread on a free loopback port; yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/health", timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def realistic_reports() -> dict[str, Any]:
    """Report documents shaped like the pipeline's (interface of ``Scorer.reports``)."""
    thresholds = [round(0.05 * i, 2) for i in range(1, 20)]
    # Approval rises with the threshold, so does the bad rate among the approved; profit peaks
    # at 0.40 (hand-made, monotone where it should be).
    approval = [round(0.10 + 0.045 * i, 3) for i in range(19)]
    bad_rate = [round(0.03 + 0.012 * i, 3) for i in range(19)]
    profit = [round(9000 - 110 * (t - 0.40) ** 2 * 1000, 1) for t in thresholds]
    return {
        "model_card": "# Model card: credit-risk\n\n**Intended use**: consumer-loan screening.",
        "comparison": [
            {
                "name": "logistic",
                "cv_auc_mean": 0.851,
                "cv_auc_sd": 0.012,
                "validation_profit": 81234.0,
                "validation_auc": 0.846,
                "fit_seconds": 0.4,
            },
            {
                "name": "gbdt",
                "cv_auc_mean": 0.862,
                "cv_auc_sd": 0.010,
                "validation_profit": 88710.0,
                "validation_auc": 0.858,
                "fit_seconds": 3.1,
            },
        ],
        "calibration": {
            "method": "isotonic",
            "bins": [
                {"predicted": 0.05, "observed": 0.04, "count": 310},
                {"predicted": 0.25, "observed": 0.27, "count": 180},
                {"predicted": 0.55, "observed": 0.52, "count": 120},
                {"predicted": 0.85, "observed": 0.88, "count": 80},
            ],
        },
        "profit_curve": {
            "thresholds": thresholds,
            "profit_per_1000": profit,
            "approval_rate": approval,
            "bad_rate_approved": bad_rate,
            "chosen_threshold": 0.4,
        },
        "business": {
            "threshold": 0.4,
            "profit_per_1000": {"estimate": 9000.0, "low": 7400.0, "high": 10600.0},
            "approval_rate": 0.46,
        },
        "fairness": {
            "Age": {
                "demographic_parity_ratio": 0.83,
                "equalized_odds_difference": 0.07,
                "groups": [
                    {
                        "group": "under 25",
                        "count": 96,
                        "approval_rate": {"estimate": 0.52, "low": 0.42, "high": 0.62},
                    },
                    {
                        "group": "25-60",
                        "count": 700,
                        "approval_rate": {"estimate": 0.63, "low": 0.59, "high": 0.66},
                    },
                    {
                        "group": "over 60",
                        "count": 40,
                        "approval_rate": {"estimate": 0.60, "low": 0.45, "high": 0.74},
                    },
                ],
            },
        },
    }


# What the stand-in answers while the scorer in this tree cannot explain itself yet.
CANNED_REASONS = [
    {"feature": "Records", "text": "Past arrears on record", "contribution": 0.3},
    {"feature": "Income", "text": "Low or unreported income", "contribution": 0.15},
]


@dataclass
class LiveAPI:
    url: str
    store: PredictionStore


def _memory_store() -> PredictionStore:
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    return PredictionStore("sqlite://", engine=engine)


class ExplainingScorer(Scorer):
    """The fixture scorer, answering the canned reasons while the scorer in this tree gives
    none (its own reasons are used as soon as it has them)."""

    def score_records(self, records):
        decisions = super().score_records(records)
        if decisions.reasons is None:
            decisions.reasons = [list(CANNED_REASONS) for _ in records]
        return decisions


def explaining(scorer: Scorer, reports: dict | None) -> Scorer:
    values = {f.name: getattr(scorer, f.name) for f in dataclasses.fields(scorer) if f.init}
    if reports is not None:
        values["reports"] = reports
    return ExplainingScorer(**values)


def start_api(scorer: Scorer | None, reports: dict | None) -> tuple[FastAPI, PredictionStore]:
    if scorer is not None:
        scorer = explaining(scorer, reports)
    holder = ModelHolder(
        LoadedModel(scorer, name="credit-risk", version="3", alias="champion")
        if scorer is not None
        else None
    )
    store = _memory_store()
    return create_app(holder, store), store


@pytest.fixture()
def live_api(credit_scorer) -> Iterator[LiveAPI]:
    """The real scoring app with the bundled-data scorer and realistic reports."""
    app, store = start_api(credit_scorer, realistic_reports())
    with serve(app) as url:
        yield LiveAPI(url, store)


@pytest.fixture()
def bare_api(credit_scorer) -> Iterator[LiveAPI]:
    """The real scoring app with a scorer that carries no reports."""
    app, store = start_api(credit_scorer, {})
    with serve(app) as url:
        yield LiveAPI(url, store)


@pytest.fixture()
def empty_api() -> Iterator[LiveAPI]:
    """The real scoring app before any model is loaded (every model route answers 503)."""
    app, store = start_api(None, None)
    with serve(app) as url:
        yield LiveAPI(url, store)
