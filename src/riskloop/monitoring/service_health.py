"""The scoring service's health as the monitor records it, read from the API's Prometheus
exposition (``GET /metrics``)."""

from __future__ import annotations


def scrape_service_health(metrics_text: str) -> dict[str, float | None]:
    """Error rate and prediction-log write failures from the API's Prometheus exposition.

    Counters are totals since the API process started: ``api_error_rate`` is the share of all
    requests it answered with a 5xx since then (Prometheus' ``rate()`` gives the recent rate;
    see deploy/prometheus/alerts.yml).
    """
    from prometheus_client.parser import text_string_to_metric_families

    total = errors = failures = 0.0
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "riskloop_http_requests_total":
                total += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    errors += sample.value
            elif sample.name == "riskloop_prediction_log_write_failures_total":
                failures += sample.value
    return {
        "api_error_rate": errors / total if total else None,
        "api_log_write_failures": failures,
    }
