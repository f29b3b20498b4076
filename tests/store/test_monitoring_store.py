"""Monitor results and audit events on SQLite and PostgreSQL: a window's metrics are replaced,
never duplicated, when the monitor recomputes them; reads filter and order as documented; times
come back aware (UTC) on both backends."""

from datetime import UTC, datetime, timedelta

from riskloop.store import MonitoringStore, PredictionStore

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _save(monitoring: MonitoringStore, version: str, index: int, metrics: dict, computed: int):
    monitoring.save_window(
        "credit-risk",
        version,
        f"count:100:#{index}",
        T0 + timedelta(days=index),
        T0 + timedelta(days=index + 1),
        metrics,
        computed_at=T0 + timedelta(days=10, minutes=computed),
    )


def test_recomputing_a_window_replaces_its_metrics(store: PredictionStore):
    monitoring = store.monitoring
    _save(monitoring, "1", 0, {"auc": (None, 3), "psi:Age": (0.02, 100)}, computed=0)
    _save(monitoring, "1", 1, {"auc": (0.71, 40), "psi:Age": (0.30, 100)}, computed=1)
    # labels arrived for window 0: its figures move, the old ones go
    _save(monitoring, "1", 0, {"auc": (0.78, 35), "psi:Age": (0.02, 100)}, computed=2)

    rows = monitoring.results("credit-risk", "1")
    assert [(r["window_id"], r["metric"], r["value"], r["n"]) for r in rows] == [
        ("count:100:#0", "auc", 0.78, 35),
        ("count:100:#0", "psi:Age", 0.02, 100),
        ("count:100:#1", "auc", 0.71, 40),
        ("count:100:#1", "psi:Age", 0.30, 100),
    ]
    assert rows[0]["window_start"] == T0 and rows[0]["window_end"] == T0 + timedelta(days=1)
    assert rows[0]["computed_at"] == T0 + timedelta(days=10, minutes=2)
    assert monitoring.history("credit-risk", "1", "auc") == [0.78, 0.71]


def test_results_filter_by_model_metric_and_windowing(store: PredictionStore):
    monitoring = MonitoringStore(store.engine)
    _save(monitoring, "1", 0, {"auc": (0.70, 50)}, computed=0)
    _save(monitoring, "2", 1, {"auc": (0.80, 50), "rows": (100, 100)}, computed=1)
    monitoring.save_window(
        "credit-risk",
        "2",
        "time:7D:2026-01-05T00:00:00+00:00",
        T0,
        T0 + timedelta(days=7),
        {"auc": (None, 2)},
        computed_at=T0 + timedelta(days=10),
    )
    assert [r["value"] for r in monitoring.results(model_version="2", metrics=["auc"])] == [
        None,
        0.80,
    ]
    assert monitoring.history("credit-risk", "2", "auc", window_prefix="count:") == [0.80]
    assert monitoring.results(model_name="another-model") == []
    assert monitoring.latest_model_version("credit-risk") == "2"
    assert monitoring.latest_model_version("another-model") is None


def test_audit_events_keep_their_order_payload_and_time(store: PredictionStore):
    monitoring = store.monitoring
    ids = [
        monitoring.record_audit_event(
            kind, {"rule": kind, "values": [0.1, None], "n": i}, at=T0 + timedelta(hours=i)
        )
        for i, kind in enumerate(["trigger", "retrain", "trigger", "promotion"])
    ]
    assert ids == sorted(ids) and len(set(ids)) == 4
    events = monitoring.audit_events()
    assert [e["kind"] for e in events] == ["trigger", "retrain", "trigger", "promotion"]
    assert events[3]["payload"] == {"rule": "promotion", "values": [0.1, None], "n": 3}
    assert events[3]["at"] == T0 + timedelta(hours=3)
    triggers = monitoring.audit_events(kind="trigger")
    assert [e["payload"]["n"] for e in triggers] == [0, 2]
    assert [e["kind"] for e in monitoring.audit_events(limit=2)] == ["trigger", "promotion"]
