"""The monitor on hand-made prediction logs: windows, delayed labels attributed to the window of
the decision, label-free estimates against realised figures, fairness per window against
``fairness_report``, alert rules with hysteresis and their audit events, the API's gauges and
route, and the ``riskloop monitor --every`` loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from riskloop.evaluation.drift import drift_by_feature, numeric_profile, reference_profile
from riskloop.evaluation.fairness import fairness_report, sensitive_groups
from riskloop.monitoring.alerts import AlertRule
from riskloop.monitoring.config import MonitorConfig, WindowSpec
from riskloop.monitoring.log_drift import EmptyPredictionLogError
from riskloop.monitoring.monitor import (
    EarlyDrift,
    MonitorRun,
    parse_interval,
    run_monitor,
    run_monitor_or_early_drift,
)
from riskloop.monitoring.service_health import scrape_service_health
from riskloop.monitoring.windows import cut_windows
from riskloop.store import PredictionRecord, PredictionStore, RetrainingStore

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def toy_scorer(seed: int = 0, n: int = 5000) -> SimpleNamespace:
    """Just what the monitor reads of a scorer: a reference profile of one input ``x`` and of
    the score, a threshold and the training date."""
    from riskloop.data.schema import InputSchema

    rng = np.random.default_rng(seed)
    train = pd.DataFrame({"x": rng.normal(size=n)})
    schema = InputSchema.from_dict(
        {"features": [{"name": "x", "kind": "numeric", "nullable": True}]}
    )
    reference = reference_profile(train, schema)
    reference["score"] = numeric_profile(1 / (1 + np.exp(-train["x"].to_numpy())))
    return SimpleNamespace(
        reference=reference,
        threshold=0.5,
        metadata={"trained_at": "2026-01-01T00:00:00+00:00"},
    )


def log_rows(store, start: int, xs, probability, at, version="1", latency=2.0) -> None:
    store.append(
        [
            PredictionRecord(
                f"a{start + i}",
                at[i] if isinstance(at, list) else at,
                "m",
                version,
                {"x": float(x)},
                float(p),
                "approve" if p < 0.5 else "decline",
                0.5,
                latency_ms=latency,
            )
            for i, (x, p) in enumerate(zip(xs, probability, strict=True))
        ]
    )


def test_count_windows_are_consecutive_rows_and_the_unfinished_one_waits_for_min_rows():
    times = pd.DataFrame(
        {"id": np.arange(1, 26), "received_at": [T0 + timedelta(minutes=i) for i in range(25)]}
    )
    config = MonitorConfig(windows=WindowSpec(by="count", size=10, min_rows=6))
    windows = cut_windows(times, config)
    assert [w.window_id for w in windows] == ["count:10:#0", "count:10:#1"]  # 5 rows < 6: wait
    assert windows[1].row_ids.tolist() == list(range(11, 21))
    assert windows[1].start == T0 + timedelta(minutes=10)
    assert windows[1].end == T0 + timedelta(minutes=19)
    config = config.with_windows(min_rows=5)
    assert [len(w.row_ids) for w in cut_windows(times, config)] == [10, 10, 5]


def test_time_windows_are_calendar_bins_and_keep_their_ids():
    stamps = [T0 + timedelta(hours=h) for h in (0, 1, 23, 24, 50, 51, 52)]
    times = pd.DataFrame({"id": np.arange(1, 8), "received_at": stamps})
    config = MonitorConfig(windows=WindowSpec(by="time", size="1D", min_rows=3))
    now = T0 + timedelta(hours=53)
    windows = cut_windows(times, config, now)
    # day 1: 3 rows; day 2: 1 row (finished, kept); day 3 (unfinished): 3 rows >= 3: kept
    assert [len(w.row_ids) for w in windows] == [3, 1, 3]
    assert windows[0].window_id == f"time:1D:{pd.Timestamp(T0).isoformat()}"
    assert windows[1].start == T0 + timedelta(days=1) and windows[1].end == T0 + timedelta(days=2)
    config = config.with_windows(min_rows=4)
    assert [len(w.row_ids) for w in cut_windows(times, config, now)] == [3, 1]


def test_intervals_are_parsed():
    assert [parse_interval(t) for t in ("30s", "5m", "1h", "2d", "45")] == [
        30,
        300,
        3600,
        172800,
        45,
    ]
    with pytest.raises(ValueError, match="5 minutes"):
        parse_interval("5 minutes")


def test_an_empty_log_is_explained(store):
    with pytest.raises(EmptyPredictionLogError, match="empty"):
        run_monitor(store, toy_scorer(), "m", "1", MonitorConfig())


def test_a_log_too_short_for_a_first_window_still_shows_its_drift(store):
    scorer = toy_scorer()
    config = MonitorConfig(windows=WindowSpec(size=100, min_rows=50))
    with pytest.raises(EmptyPredictionLogError, match="empty"):
        run_monitor_or_early_drift(store, scorer, "m", "1", config)
    rng = np.random.default_rng(3)
    shifted = rng.normal(loc=2.0, size=30)  # the training reference is N(0, 1)
    log_rows(store, 0, shifted, rng.uniform(0.1, 0.9, 30), T0)
    early = run_monitor_or_early_drift(store, scorer, "m", "1", config)
    assert isinstance(early, EarlyDrift) and early.n_logged == 30
    expected = drift_by_feature(scorer.reference, pd.DataFrame({"x": shifted}))
    assert early.drift["psi"].tolist() == pytest.approx(expected["psi"].tolist())
    assert early.drift["psi"].iloc[0] > 0.25
    assert "holds 30 applications, fewer than the 50" in early.reason
    assert store.monitoring.results() == []  # no window is stored before the first one fills
    log_rows(store, 30, rng.normal(size=30), rng.uniform(0.1, 0.9, 30), T0)
    run = run_monitor_or_early_drift(store, scorer, "m", "1", config)
    assert isinstance(run, MonitorRun) and [w["n"] for w in run.windows] == [60]


def test_delayed_labels_count_in_the_window_of_the_decision(store):
    scorer = toy_scorer()
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, 200)
    log_rows(store, 0, rng.normal(size=200), p, [T0 + timedelta(hours=i) for i in range(200)])
    config = MonitorConfig(windows=WindowSpec(size=100), min_labelled=20)
    first = run_monitor(store, scorer, "m", "1", config, now=T0 + timedelta(days=9))
    assert [w["n_labelled"] for w in first.windows] == [0, 0]
    assert first.windows[0]["realised_auc"] is None

    # outcomes of the first 60 decisions arrive much later (in the second window's time)
    y = (rng.uniform(size=200) < p).astype(int)
    for i in range(60):
        store.add_label(f"a{i}", int(y[i]), T0 + timedelta(days=30))
    second = run_monitor(store, scorer, "m", "1", config, now=T0 + timedelta(days=31))
    old, new = second.windows
    assert (old["n_labelled"], new["n_labelled"]) == (60, 0)
    assert old["realised_auc"] == pytest.approx(roc_auc_score(y[:60], p[:60]), abs=1e-12)
    assert old["realised_brier"] == pytest.approx(brier_score_loss(y[:60], p[:60]), abs=1e-12)
    approved = p[:60] < 0.5
    assert old["bad_rate_approved"] == pytest.approx(y[:60][approved].mean())
    assert old["sample_sizes"]["bad_rate_approved"] == approved.sum()
    # the stored value was replaced by the newest computation, with its sample size
    stored = store.monitoring.results("m", "1", ["realised_auc"])
    assert [(r["window_id"], r["n"]) for r in stored] == [("count:100:#0", 60), ("count:100:#1", 0)]
    assert stored[0]["value"] == pytest.approx(old["realised_auc"])
    # outcomes that arrived since this version started scoring
    assert second.windows[-1]["new_labels"] == 60


def test_label_free_estimates_match_realised_figures_on_a_calibrated_log(store):
    scorer = toy_scorer()
    rng = np.random.default_rng(7)
    n = 4000
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(x * 1.5 - 1)))
    y = (rng.uniform(size=n) < p).astype(int)  # outcomes drawn from the probabilities: calibrated
    log_rows(store, 0, x, p, T0)
    outcomes = [{"application_id": f"a{i}", "outcome": int(y[i])} for i in range(n)]
    RetrainingStore(store.engine).add_labels(outcomes, T0 + timedelta(days=90))  # one batch
    run = run_monitor(store, scorer, "m", "1", MonitorConfig(windows=WindowSpec(size=n)), now=T0)
    (window,) = run.windows
    assert window["realised_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert window["expected_auc"] == pytest.approx(window["realised_auc"], abs=0.02)
    assert window["expected_bad_rate"] == pytest.approx(window["bad_rate_approved"], abs=0.01)
    assert window["expected_auc_labelled"] == pytest.approx(window["expected_auc"])


def test_fairness_per_window_equals_fairness_report_on_the_same_rows(
    store, credit_scorer, credit_scenario, credit_frame
):
    rows = credit_frame.head(300).reset_index(drop=True)
    inputs = rows[credit_scorer.input_schema.names + credit_scorer.analysed_schema.names]
    p = credit_scorer.predict_proba(inputs)
    records = inputs.astype(object).where(inputs.notna(), None).to_dict("records")
    store.append(
        [
            PredictionRecord(f"a{i}", T0, "credit-risk", "1", r, float(p[i]), "x", 0.5)
            for i, r in enumerate(records)
        ]
    )
    y = (rows["Status"] == "bad").astype(int).to_numpy()
    labelled = np.arange(300) % 3 != 0  # two thirds of the outcomes have arrived
    for i in np.flatnonzero(labelled):
        store.add_label(f"a{i}", int(y[i]), T0 + timedelta(days=60))
    run = run_monitor(
        store,
        credit_scorer,
        "credit-risk",
        "1",
        MonitorConfig(windows=WindowSpec(size=300)),
        now=T0,
        scenario=credit_scenario,
    )
    (window,) = run.windows
    approved = p < credit_scorer.threshold
    groups = sensitive_groups(inputs, credit_scenario)
    expected = fairness_report(
        y[labelled],
        approved[labelled],
        p[labelled],
        groups[labelled].reset_index(drop=True),
        n_bootstrap=0,
    )
    for attribute in ("Age", "Marital"):
        for measure in ("demographic_parity_ratio", "equalized_odds_difference"):
            assert window[f"{measure}:{attribute}"] == pytest.approx(
                expected[attribute][measure], abs=1e-12
            )
        # selection-rate parity needs no outcomes: all 300 rows
        rates = pd.Series(approved).groupby(groups[attribute]).mean()
        assert window[f"selection_rate_parity:{attribute}"] == pytest.approx(
            rates.min() / rates.max()
        )
        assert window["sample_sizes"][f"selection_rate_parity:{attribute}"] == 300


def test_sustained_drift_fires_with_hysteresis_and_is_audited_once(store):
    scorer = toy_scorer()
    rng = np.random.default_rng(3)
    rule = AlertRule("sustained_drift", "max_feature_psi", above=0.25, k=2, n=5)
    config = MonitorConfig(windows=WindowSpec(size=400), rules=[rule])
    fired_per_window = []
    shifts = [0.0, 0.0, 1.5, 0.0, 1.5, 1.5]  # one drifted window, a calm one, then two in a row
    for index, shift in enumerate(shifts):
        x = rng.normal(loc=shift, size=400)
        log_rows(store, 400 * index, x, 1 / (1 + np.exp(-x)), T0 + timedelta(days=index))
        run = run_monitor(store, scorer, "m", "1", config, now=T0 + timedelta(days=index))
        fired_per_window.append(bool(run.fired))
    # a single drifted window (the 3rd) does not fire; the 5th is the second breach in 5: fires
    assert fired_per_window == [False, False, False, False, True, True]
    history = store.monitoring.history("m", "1", "max_feature_psi", "count:400:")
    assert [v > 0.25 for v in history] == [s > 0 for s in shifts]
    events = store.monitoring.audit_events("trigger")
    assert [e["payload"]["window_id"] for e in events] == ["count:400:#4", "count:400:#5"]
    payload = events[-1]["payload"]
    assert payload["rule"] == "sustained_drift" and payload["breaches"] == 3
    assert payload["latest"] == pytest.approx(history[-1])
    assert payload["sample_size"] == 400 and payload["bound"] == "> 0.25"
    # the loop runs again on the same data: still firing, but no second event for that window
    again = run_monitor(store, scorer, "m", "1", config, now=T0 + timedelta(days=6))
    assert again.fired and len(store.monitoring.audit_events("trigger")) == 2
    # prediction drift follows the scores
    assert again.windows[-1]["prediction_psi"] > 0.25


def test_service_health_from_the_api_exposition():
    text = (
        'riskloop_http_requests_total{route="/v1/score",method="POST",status="200"} 95.0\n'
        'riskloop_http_requests_total{route="/v1/score",method="POST",status="503"} 5.0\n'
        "riskloop_prediction_log_write_failures_total 2.0\n"
    )
    assert scrape_service_health(text) == {"api_error_rate": 0.05, "api_log_write_failures": 2.0}


def test_gauges_and_route_show_the_newest_window(store, credit_scorer):
    from fastapi.testclient import TestClient

    from riskloop.serving.app import ServiceConfig, create_app
    from riskloop.serving.model_holder import LoadedModel, ModelHolder
    from tests.credentials import authorized

    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="4"))
    rule = {"name": "sustained_drift", "metric": "max_feature_psi", "above": 0.25, "k": 2, "n": 5}
    app = create_app(holder, store, config=ServiceConfig(monitor_rules=(rule,)))
    with TestClient(app, headers=authorized(store)) as client:
        assert client.get("/v1/monitoring").json()["windows"] == []
        body = client.get("/metrics").text
        assert "riskloop_model_trained_timestamp_seconds " in body
        assert "riskloop_feature_psi{" not in body  # no monitor results yet
        store.monitoring.save_window(
            "credit-risk",
            "4",
            "count:500:#0",
            T0,
            T0 + timedelta(hours=1),
            {"psi:Income": (0.31, 500), "realised_auc": (0.81, 120), "prediction_psi": (0.02, 500)},
            T0 + timedelta(hours=2),
        )
        assert "riskloop_feature_psi{" not in client.get("/metrics").text  # cached: not yet
        app.state.monitor_gauges.refresh_s = 0.0  # the test does not wait for the cache
        body = client.get("/metrics").text
        assert 'riskloop_feature_psi{feature="Income"} 0.31' in body
        assert "riskloop_realised_auc 0.81" in body
        assert "riskloop_prediction_psi 0.02" in body
        document = client.get("/v1/monitoring").json()
        assert document["model_version"] == "4" and document["rules"] == [rule]
        assert document["windows"][0]["metrics"]["realised_auc"] == 0.81
        assert document["windows"][0]["n"]["realised_auc"] == 120


def test_the_loop_runs_twice_and_stops(monkeypatch, database_url, credit_scorer, credit_frame):
    from typer.testing import CliRunner

    from riskloop import registry
    from riskloop.cli import app

    url = database_url
    monkeypatch.setenv("RISKLOOP_DATABASE_URL", url)
    monkeypatch.setattr(registry, "configure", lambda uri: None)
    monkeypatch.setattr(
        registry, "load_champion", lambda name: (credit_scorer, SimpleNamespace(version="2"))
    )
    inputs = credit_frame.head(150)[credit_scorer.input_schema.names]
    records = inputs.astype(object).where(inputs.notna(), None).to_dict("records")
    p = credit_scorer.predict_proba(inputs)
    PredictionStore(url).append(
        [
            PredictionRecord(f"a{i}", T0, "credit-risk", "2", r, float(p[i]), "x", 0.5)
            for i, r in enumerate(records)
        ]
    )
    result = CliRunner().invoke(
        app, ["monitor", "--every", "0.1s", "--max-runs", "2", "--window", "100"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("monitor run") == 2
    assert "Monitor stopped after 2 runs." in result.output
    assert "PSI" in result.output and "Income" in result.output
    assert "sustained_drift: quiet" in result.output
    # the second window (50 rows) is still filling: fewer than windows.min_rows = 100
    stored = PredictionStore(url).monitoring.results("credit-risk", "2", ["rows"])
    assert [(r["window_id"], r["value"]) for r in stored] == [("count:100:#0", 100)]


def test_windows_whose_inputs_were_purged_keep_their_stored_results(store):
    from riskloop.store.privacy import PrivacyStore, RetentionPolicy

    scorer = toy_scorer()
    rng = np.random.default_rng(3)
    log_rows(store, 0, rng.normal(size=100), rng.uniform(size=100), T0)
    log_rows(store, 100, rng.normal(size=100), rng.uniform(size=100), T0 + timedelta(days=30))
    config = MonitorConfig(windows=WindowSpec(size=100))
    run_monitor(store, scorer, "m", "1", config, now=T0 + timedelta(days=31))
    before = store.monitoring.results("m", "1", ["psi:x"])
    policy = RetentionPolicy(inputs_retention_days=20, record_retention_days=400)
    assert PrivacyStore(store.engine).purge(policy, T0 + timedelta(days=31)).inputs_purged == 100

    again = run_monitor(store, scorer, "m", "1", config, now=T0 + timedelta(days=32))

    assert [w["window_id"] for w in again.windows] == ["count:100:#1"]
    after = store.monitoring.results("m", "1", ["psi:x"])
    assert (after[0]["value"], after[0]["computed_at"]) == (
        before[0]["value"],
        before[0]["computed_at"],
    )
    assert len(store.recent_inputs()) == 100
