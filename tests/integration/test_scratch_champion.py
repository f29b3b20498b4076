"""The pipeline trains and registers riskloop's own (from-scratch) models as champion, and the
registered scorer loads back and scores identically."""

import json

import pandas as pd
import pytest

from riskloop import registry
from riskloop.pipelines.datasets import ScorerDataset
from riskloop.pipelines.runner import run_pipeline
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.slow

# One linear and one tree ensemble through the whole pipeline (every scratch model also competes
# in tests/pipelines/test_selection.py and is stored/loaded by the scorer tests).
SCRATCH_MODELS = {
    "scratch_logistic_regression": {"C": 1.0},
    "scratch_hist_gradient_boosting": {"max_iter": 50, "learning_rate": 0.1, "random_state": 0},
}


@pytest.fixture()
def own_registry(tmp_path, monkeypatch, trained_project):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("RISKLOOP_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    yield tmp_path
    registry.configure(trained_project.tracking_uri)  # give the session's registry back


@pytest.mark.parametrize("model_type", sorted(SCRATCH_MODELS))
def test_scratch_model_becomes_a_loadable_champion(own_registry, model_type):
    data_dir = own_registry / "data"
    run_pipeline(
        PROJECT_DIR,
        data_dir=data_dir,
        params={
            "model": {"type": model_type},
            "candidates": {model_type: SCRATCH_MODELS[model_type]},
        },
    )
    report = json.loads((data_dir / "08_reporting" / "registration.json").read_text())
    assert report["promoted"]
    metrics = json.loads((data_dir / "08_reporting" / "metrics.json").read_text())
    assert metrics["test"]["auc"] > 0.70
    scorer, info = registry.load_champion("credit-risk")
    assert type(scorer.estimator).__module__.startswith("riskloop.scratch")
    assert info.tags["model_type"] == model_type
    test = pd.read_parquet(data_dir / "05_model_input" / "test.parquet")
    trained = ScorerDataset(str(data_dir / "06_models" / "scorer")).load()
    pd.testing.assert_series_equal(
        pd.Series(scorer.predict_proba(test)), pd.Series(trained.predict_proba(test))
    )
