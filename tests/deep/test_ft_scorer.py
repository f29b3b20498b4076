"""An FT-Transformer scorer is stored as arrays and served in NumPy: saved, loaded and scored
without PyTorch, with the probabilities it had in training."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd

from riskloop.data.scenario import load_scenario
from riskloop.data.schema import infer_input_schema
from riskloop.deep.estimator import FTTransformerClassifier
from riskloop.features.preprocessing import TabularPreprocessor
from riskloop.scorer import Scorer, artifact_digest
from riskloop.scratch.ft_transformer import FTTransformerNetwork
from tests.conftest import PROJECT_DIR


def _scorer() -> tuple[Scorer, pd.DataFrame]:
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
    scorer = Scorer(schema, features, model, 0.5, scenario.data.positive_class)
    return scorer, frame[schema.names]


def test_saved_scorer_scores_the_same_without_torch(tmp_path):
    scorer, frame = _scorer()
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
