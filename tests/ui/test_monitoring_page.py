"""The Monitoring page against a live API: a clear message before the monitor has run, then the
stored windows as charts with their thresholds and the fired triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.ui.test_pages import open_page, texts

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def test_monitoring_page_before_and_after_the_monitor_runs(live_api, monkeypatch):
    app = open_page(monkeypatch, live_api.url, "views/monitoring.py", key=live_api.key)
    assert "No monitor results for this model yet" in app.info[0].value

    monitoring = live_api.store.monitoring
    for index, (psi, auc) in enumerate([(0.05, 0.84), (0.31, None), (0.40, 0.78)]):
        metrics = {
            "rows": (500.0, 500),
            "psi:Income": (psi, 500),
            "psi:Age": (0.02, 500),
            "max_feature_psi": (psi, 500),
            "expected_auc": (0.83, 500),
            "n_labelled": (0.0 if auc is None else 120.0, 120),
            "selection_rate_parity:Age": (0.9, 500),
        }
        if auc is not None:
            metrics["realised_auc"] = (auc, 120)
        start = T0 + timedelta(days=index)
        monitoring.save_window(
            "credit-risk", "3", f"count:500:#{index}", start, start + timedelta(hours=5),
            metrics, start + timedelta(hours=6),
        )  # fmt: skip
    monitoring.record_audit_event(
        "trigger",
        {
            "rule": "sustained_drift",
            "metric": "max_feature_psi",
            "bound": "> 0.25",
            "latest": 0.40,
            "model_name": "credit-risk",
            "model_version": "3",
            "window_id": "count:500:#2",
        },
    )
    app = open_page(monkeypatch, live_api.url, "views/monitoring.py", key=live_api.key)
    shown = texts(app)
    assert "Fired triggers" in shown and "Input drift" in shown
    assert "Ranking: realised vs label-free" in shown and "Fairness per window" in shown
    assert "newest count:500:#2 (500 applications, 120 outcomes arrived)" in shown
    # score PSI, bad rate, approval and latency have no data in these windows: said, not drawn
    assert shown.count("Not available yet") == 4
    triggers = app.dataframe[0].value
    assert triggers["rule"].tolist() == ["sustained_drift"] and triggers["latest"][0] == 0.40
    drift = app.dataframe[1].value
    assert drift["feature"].tolist() == ["Income", "Age"] and drift["PSI"].iloc[0] == 0.40
