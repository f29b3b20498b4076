"""The scorer keeps its calibration map and a LightGBM booster without pickle, and scores the
same after a save/load round trip."""

import dataclasses

import numpy as np
import pandas as pd

from riskloop.evaluation.calibration import IsotonicCalibrator, PlattCalibrator
from riskloop.scorer import Scorer
from tests.conftest import train_one_candidate


def test_calibrator_is_applied_and_survives_save_load(credit_scorer, credit_frame, tmp_path):
    frame = credit_frame.head(50)
    raw = dataclasses.replace(credit_scorer, calibrator=None).predict_proba(frame)
    for calibrator in (
        PlattCalibrator(0.5, -0.2),
        IsotonicCalibrator((0.0, 0.5, 1.0), (0.1, 0.2, 0.9)),
    ):
        scorer = dataclasses.replace(credit_scorer, calibrator=calibrator)
        np.testing.assert_allclose(scorer.predict_proba(frame), calibrator.transform(raw))
        scorer.save(tmp_path / calibrator.method)
        again = Scorer.load(tmp_path / calibrator.method)
        assert again.calibrator == calibrator
        records = frame[scorer.input_schema.names].astype(object).where(frame.notna(), None)
        np.testing.assert_allclose(
            again.score_records(records.to_dict("records")).probability,
            calibrator.transform(raw),
            atol=1e-12,
        )
    assert not any(p.suffix == ".pkl" for p in tmp_path.rglob("*"))


def test_lightgbm_scorer_round_trips_as_text(credit_scenario, credit_splits, tmp_path):
    train, validation, test = credit_splits
    scorer = train_one_candidate(
        credit_scenario, train, validation, "lightgbm",
        {"n_estimators": 30, "num_leaves": 7, "random_state": 0},
    )  # fmt: skip
    test = test.head(300)
    before = scorer.predict_proba(test)
    scorer.save(tmp_path / "s")
    assert (tmp_path / "s" / "estimator" / "model.txt").read_text().startswith("tree")
    again = Scorer.load(tmp_path / "s")
    np.testing.assert_allclose(again.predict_proba(test), before, atol=1e-12)
    assert isinstance(before, np.ndarray) and pd.Series(before).between(0, 1).all()
