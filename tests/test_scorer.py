import json

import numpy as np
import pytest

from riskloop.scorer import Scorer, ScorerIntegrityError, artifact_digest, codec_name
from tests.conftest import CREDIT_CSV


@pytest.fixture()
def credit_rows():
    import pandas as pd

    return pd.read_csv(CREDIT_CSV).sample(200, random_state=3)


def test_save_load_round_trip_gives_identical_scores(tmp_path, credit_scorer, credit_rows):
    digest = credit_scorer.save(tmp_path / "s")
    loaded = Scorer.load(tmp_path / "s", expected_sha256=digest)
    np.testing.assert_array_equal(
        loaded.predict_proba(credit_rows), credit_scorer.predict_proba(credit_rows)
    )
    assert loaded.input_schema == credit_scorer.input_schema
    assert loaded.threshold == credit_scorer.threshold


def test_storage_has_no_pickle(tmp_path, credit_scorer):
    credit_scorer.save(tmp_path / "s")
    suffixes = {p.suffix for p in (tmp_path / "s").rglob("*") if p.is_file()}
    assert suffixes == {".json", ".npz"}


def test_tampered_artifact_is_refused(tmp_path, credit_scorer):
    digest = credit_scorer.save(tmp_path / "s")
    document = json.loads((tmp_path / "s" / "scorer.json").read_text())
    document["threshold"] = 0.99
    (tmp_path / "s" / "scorer.json").write_text(json.dumps(document))
    assert artifact_digest(tmp_path / "s") != digest
    with pytest.raises(ScorerIntegrityError, match="refusing to load"):
        Scorer.load(tmp_path / "s", expected_sha256=digest)


def test_record_path_equals_dataframe_path(credit_scorer, credit_rows):
    records = credit_rows.astype(object).where(credit_rows.notna(), None).to_dict("records")
    fast = credit_scorer.score_records(records)
    np.testing.assert_allclose(
        fast.probability, credit_scorer.predict_proba(credit_rows), atol=1e-12
    )
    assert fast.decision == credit_scorer.decide(fast.probability)


def test_decision_is_decline_at_or_above_threshold(credit_scorer):
    t = credit_scorer.threshold
    assert credit_scorer.decide(np.array([t - 1e-9, t, t + 0.1])) == [
        "approve",
        "decline",
        "decline",
    ]


def test_unknown_estimator_has_no_storage_format():
    with pytest.raises(TypeError, match="no safe storage format"):
        codec_name(object())
