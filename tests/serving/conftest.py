"""Fixtures the serving tests share."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from riskloop.store import PredictionStore


@pytest.fixture()
def store() -> PredictionStore:
    """An in-memory prediction store, one connection shared by the app's threads."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    return PredictionStore("sqlite://", engine=engine)
