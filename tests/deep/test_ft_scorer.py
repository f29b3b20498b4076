"""An FT-Transformer scorer is stored as arrays and served in NumPy: saved, loaded and scored
without PyTorch, with the probabilities it had in training."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from riskloop.data.scenario import load_scenario
from riskloop.data.schema import infer_input_schema
from riskloop.deep.estimator import FTTransformerClassifier
from riskloop.evaluation.explain import ExplanationSetup
from riskloop.features.preprocessing import TabularPreprocessor
from riskloop.scorer import Scorer, artifact_digest
from riskloop.scratch.ft_transformer import FTTransformerNetwork
from tests.conftest import PROJECT_DIR


@pytest.fixture(scope="module")
def trained() -> tuple[Scorer, pd.DataFrame]:
    """A small FT-Transformer scorer on 600 bundled applicants (trained once per module)."""
    scenario = load_scenario(PROJECT_DIR / "conf/base/scenarios/credit.yml")
    frame = pd.read_csv(PROJECT_DIR / scenario.data.path).head(600)
    y = (frame[scenario.data.target] == scenario.data.positive_class).astype(int).to_numpy()
    schema = infer_input_schema(frame, scenario)
    features = TabularPreprocessor(numeric=schema.numeric, categorical=schema.categorical)
    X = features.fit_transform(frame[schema.names])
    model = FTTransformerClassifier(
        n_numeric=len(schema.numeric),
        category_sizes=tuple(len(levels) for levels in features.categories_),
        d_token=16,
        n_blocks=1,
        n_heads=2,
        max_epochs=3,
    ).fit(X, y)
    scorer = Scorer(
        schema,
        features,
        model,
        0.5,
        scenario.data.positive_class,
        explanation=ExplanationSetup.from_training_matrix(X, n_sample=20),
    )
    return scorer, frame[schema.names]


def test_saved_scorer_scores_the_same_without_torch(tmp_path, trained):
    scorer, frame = trained
    digest = scorer.save(tmp_path / "scorer")
    stored = json.loads((tmp_path / "scorer" / "scorer.json").read_text())
    assert stored["estimator"]["codec"] == "ft_transformer"
    assert not list((tmp_path / "scorer").rglob("*.pkl"))

    loaded = Scorer.load(tmp_path / "scorer", expected_sha256=digest)
    assert isinstance(loaded.estimator, FTTransformerNetwork)
    np.testing.assert_array_equal(loaded.predict_proba(frame), scorer.predict_proba(frame))

    records = frame.head(5).astype(object).where(frame.head(5).notna(), None)
    expected = scorer.score_records(records.to_dict("records")).probability
    script = (
        "import json, sys\n"
        "from riskloop.scorer import Scorer\n"
        f"s = Scorer.load({str(tmp_path / 'scorer')!r}, expected_sha256={digest!r})\n"
        f"p = s.score_records(json.loads({json.dumps(records.to_dict('records'))!r})).probability\n"
        "assert 'torch' not in sys.modules, 'serving imported torch'\n"
        "print(json.dumps(p.tolist()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    np.testing.assert_array_equal(json.loads(result.stdout), expected)
    assert artifact_digest(tmp_path / "scorer") == digest


def test_explain_gives_attention_beside_shap_through_the_api(trained):
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    from riskloop.serving.app import create_app
    from riskloop.serving.model_holder import LoadedModel, ModelHolder
    from riskloop.store import PredictionStore
    from tests.credentials import authorized

    scorer, frame = trained
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    store = PredictionStore("sqlite://", engine=engine)
    holder = ModelHolder(LoadedModel(scorer, name="credit-risk", version="1"))
    application = frame.iloc[0].to_dict()
    application = {k: (None if pd.isna(v) else v) for k, v in application.items()}
    with TestClient(create_app(holder, store), headers=authorized(store)) as client:
        scored = client.post("/v1/score", json={**application, "application_id": "ft-1"})
        assert scored.status_code == 200, scored.text
        explained = client.get("/v1/explain/ft-1").json()["explanation"]

    features = set(scorer.input_schema.names)
    assert set(explained["contributions"]) == features
    for kind in ("last_layer", "rollout"):
        weights = explained["attention"][kind]
        assert set(weights) == features
        assert sum(weights.values()) == pytest.approx(1.0)
        assert min(weights.values()) > 0.0
    expected = scorer.estimator.network_.cls_attention(
        scorer.preprocessor.transform_records([application])
    )["rollout"][0]
    features_in_order = [*scorer.preprocessor.numeric, *scorer.preprocessor.categorical]
    got = [explained["attention"]["rollout"][f] for f in features_in_order]
    np.testing.assert_allclose(got, expected)


def test_evaluation_report_sets_global_attention_beside_shap(trained):
    from riskloop.pipelines.evaluation.nodes import explanation_report

    scorer, frame = trained
    report, _ = explanation_report(scorer, frame, {"importance_sample": 30, "lime_sample": 0})
    attention = report["attention"]
    assert attention["n_explained"] == 20  # the agnostic explainer's row budget
    rows = {row["feature"]: row for row in attention["features"]}
    assert set(rows) == set(scorer.input_schema.names)
    assert sum(r["attention_rollout"] for r in rows.values()) == pytest.approx(1.0)
    for feature, value in report["mean_abs_contribution"].items():
        assert rows[feature]["mean_abs_shap"] == pytest.approx(value)
    assert -1.0 <= attention["spearman_rollout_vs_shap"] <= 1.0
