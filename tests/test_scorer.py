import json

import numpy as np
import pytest

from riskloop.scorer import Scorer, ScorerIntegrityError, artifact_digest, codec_name
from tests.conftest import CREDIT_CSV, train_one_candidate


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


# --------------------------------------------------------------------------- explanations
def _records(frame):
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def test_explanations_add_up_per_original_feature(credit_scorer, credit_rows):
    records = _records(credit_rows.head(30))
    explained = credit_scorer.explain_records(records)
    features = credit_scorer.input_schema.numeric + credit_scorer.input_schema.categorical
    probability = credit_scorer.estimator.predict_proba(
        credit_scorer.preprocessor.transform_records(records)
    )[:, 1]
    for row, p in zip(explained, probability, strict=True):
        assert row["output_space"] == "log_odds"
        assert sorted(row["contributions"]) == sorted(features)  # one entry per input, not column
        total = row["base_value"] + sum(row["contributions"].values())
        assert total == pytest.approx(row["output"], abs=1e-6)
        assert 1 / (1 + np.exp(-row["output"])) == pytest.approx(p, abs=1e-9)


def test_linear_scorer_contribution_of_a_category_is_its_weight_minus_the_mean(credit_scorer):
    """Home = owner: w_owner·(1 − E[owner]) + Σ_other levels w_l·(0 − E[l])."""
    pre, est = credit_scorer.preprocessor, credit_scorer.estimator
    record = {name: None for name in credit_scorer.input_schema.names}
    record.update(Seniority=5, Time=36, Age=40, Records="no", Expenses=60, Amount=1000,
                  Price=1200, Home="owner")  # fmt: skip
    names = list(pre.get_feature_names_out())
    home = [i for i, n in enumerate(names) if n.startswith("Home=")]
    w, mean = np.ravel(est.coef_), credit_scorer.explanation.background_mean
    x = np.array([1.0 if names[i] == "Home=owner" else 0.0 for i in home])
    expected = float(np.sum(w[home] * (x - mean[home])))
    got = credit_scorer.explain_records([record])[0]["contributions"]["Home"]
    assert got == pytest.approx(expected, abs=1e-12)


def test_score_records_gives_positive_ordered_reasons_with_scenario_texts(
    credit_scorer, credit_rows, credit_scenario
):
    records = _records(credit_rows.head(40))
    decisions = credit_scorer.score_records(records)
    explained = credit_scorer.explain_records(records)
    texts = credit_scenario.explanations.reason_texts
    assert len(decisions.reasons) == 40
    for reasons, row in zip(decisions.reasons, explained, strict=True):
        assert len(reasons) <= credit_scenario.explanations.top_k
        values = [r["contribution"] for r in reasons]
        assert all(v > 0 for v in values) and values == sorted(values, reverse=True)
        assert [r["text"] for r in reasons] == [texts[r["feature"]] for r in reasons]
        positive = sorted((v for v in row["contributions"].values() if v > 0), reverse=True)
        assert values == pytest.approx(positive[: len(values)], abs=1e-12)


def test_explanations_survive_save_and_load(tmp_path, credit_scorer, credit_rows):
    records = _records(credit_rows.head(20))
    digest = credit_scorer.save(tmp_path / "s")
    loaded = Scorer.load(tmp_path / "s", expected_sha256=digest)
    assert loaded.explain_records(records) == credit_scorer.explain_records(records)
    assert loaded.score_records(records).reasons == credit_scorer.score_records(records).reasons


def test_scorer_saved_without_explanation_state_loads_without_reasons(
    tmp_path, credit_scorer, credit_rows
):
    credit_scorer.save(tmp_path / "s")
    document = json.loads((tmp_path / "s" / "scorer.json").read_text())
    del document["explanation"]
    (tmp_path / "s" / "scorer.json").write_text(json.dumps(document))
    (tmp_path / "s" / "explanation.npz").unlink()
    loaded = Scorer.load(tmp_path / "s")
    records = _records(credit_rows.head(5))
    assert loaded.explanation is None
    decisions = loaded.score_records(records)
    assert decisions.reasons is None
    np.testing.assert_array_equal(
        decisions.probability, credit_scorer.score_records(records).probability
    )
    with pytest.raises(ValueError, match="without explanation state"):
        loaded.explain_records(records)


def test_tree_scorer_explains_in_probability_and_survives_save_and_load(
    tmp_path, credit_scenario, credit_splits, credit_rows
):
    train, validation, _ = credit_splits
    scorer = train_one_candidate(
        credit_scenario, train.head(600), validation.head(300), "scratch_decision_tree",
        {"max_depth": 4, "random_state": 0},
    )  # fmt: skip
    records = _records(credit_rows.head(10))
    explained = scorer.explain_records(records)
    # explanations are of the uncalibrated tree's probability, not the calibrated score
    tree = scorer.estimator.predict_proba(scorer.preprocessor.transform_records(records))[:, 1]
    for row, p in zip(explained, tree, strict=True):
        assert row["output_space"] == "probability"
        assert row["base_value"] + sum(row["contributions"].values()) == pytest.approx(p, abs=1e-6)
    scorer.save(tmp_path / "tree")
    assert Scorer.load(tmp_path / "tree").explain_records(records) == explained
