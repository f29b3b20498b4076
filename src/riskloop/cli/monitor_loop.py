"""``riskloop monitor``: one monitor run, or one every interval until stopped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from riskloop.cli import render
from riskloop.cli.common import (
    ScenarioOption,
    build_settings,
    fail,
    load_scenario_or_fail,
    loop_store,
)
from riskloop.cli.privacy import apply_retention, describe_purge
from riskloop.cli.render import console, err

if TYPE_CHECKING:
    from riskloop.data.scenario import Scenario
    from riskloop.monitoring.config import MonitorConfig
    from riskloop.settings import Settings


def monitor(
    every: Annotated[
        str | None,
        typer.Option(help="run again every interval (30s, 5m, 1h) until Ctrl-C or SIGTERM"),
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option(help="with --every: stop after this many runs")
    ] = None,
    window: Annotated[
        int | None, typer.Option(help="windows of N logged applications (overrides the config)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="monitor configuration (default conf/base/monitoring.yml)")
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(help="the API to read error rate and log failures from (its /metrics)"),
    ] = None,
    scenario: ScenarioOption = None,
    retrain_on_alerts: Annotated[
        bool,
        typer.Option(
            help="retrain a challenger when an alert of retraining.yml alerts.retrain_on fires"
            " (at most once per alerts.min_interval_hours), then ask --api-url to reload"
        ),
    ] = False,
) -> None:
    """Drift, delayed-label performance, label-free estimates, fairness and service health per
    window of the prediction log; alert rules with hysteresis (docs/monitoring.md). With
    --every, each run also applies the retention policy (conf/base/privacy.yml)."""
    import signal
    import threading

    from riskloop.monitoring.config import load_monitor_config
    from riskloop.monitoring.monitor import parse_interval

    settings = build_settings(scenario)
    scenario_ = load_scenario_or_fail(settings)
    try:
        interval = parse_interval(every) if every is not None else None
        monitor_config = load_monitor_config(config or settings.monitoring_config_path)
        if window is not None:
            monitor_config = monitor_config.with_windows(by="count", size=window)
    except ValueError as error:
        fail(str(error))
    if interval is None:
        fired = _monitor_once(settings, scenario_, monitor_config, api_url, quiet_empty=False)
        if fired is None:
            raise typer.Exit(1)
        if retrain_on_alerts:
            _retrain_on_alerts(settings, scenario, fired, api_url)
        return
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runs = 0
    try:
        while not stop.is_set():
            console.print(f"[dim]{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC — monitor run[/]")
            fired = _monitor_once(settings, scenario_, monitor_config, api_url, quiet_empty=True)
            if retrain_on_alerts and fired is not None:
                _retrain_on_alerts(settings, scenario, fired, api_url)
            # the loop runs the retention policy (conf/base/privacy.yml) after each measure
            console.print(describe_purge(apply_retention(settings, actor=None)))
            runs += 1
            if max_runs is not None and runs >= max_runs:
                break
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    console.print(f"Monitor stopped after {runs} run{'s' if runs != 1 else ''}.")


def _monitor_once(
    settings: Settings,
    scenario: Scenario,
    monitor_config: MonitorConfig,
    api_url: str | None,
    quiet_empty: bool,
) -> list[str] | None:
    """One monitor run with its printout; the names of the rules that fire (None when there
    was nothing to measure)."""
    from riskloop import registry
    from riskloop.monitoring.log_drift import EmptyPredictionLogError
    from riskloop.monitoring.monitor import MonitorRun, run_monitor_or_early_drift

    model_name = scenario.model_name
    registry.configure(settings.resolved_tracking_uri)
    registry.configure_trust(settings.model_trust())
    champion = registry.load_champion(model_name)
    if champion is None:
        fail(f"no champion registered for {model_name!r}: run `riskloop run` first")
    scorer, info = champion
    health = _service_health(api_url, _scrape_key(settings)) if api_url else None
    with loop_store(settings) as store:
        try:
            measured = run_monitor_or_early_drift(
                store, scorer, model_name, info.version, monitor_config,
                scenario=scenario, service_health=health,
            )  # fmt: skip
        except EmptyPredictionLogError as error:
            (console.print if quiet_empty else err.print)(f"[yellow]{error}[/]", highlight=False)
            return None
    if isinstance(measured, MonitorRun):
        render.print_monitor_run(measured)
        return sorted({outcome.rule.name for outcome in measured.fired})
    render.print_early_drift(measured)
    return []


def _retrain_on_alerts(
    settings: Settings, scenario: Path | None, fired: list[str], api_url: str | None
) -> None:
    """Retrain when ``fired`` holds an alert that asks for it and the rate limit allows
    (:func:`riskloop.retraining.alert_trigger.alert_retrain`); then reload the API. A failed
    retrain is printed, never stops the loop."""
    import httpx

    from riskloop.cli.common import load_retraining_config_or_fail
    from riskloop.cli.models import retrain
    from riskloop.retraining.alert_trigger import alert_retrain

    try:
        spec = load_retraining_config_or_fail(settings).alerts
        with loop_store(settings) as store:
            verdict = alert_retrain(
                fired, store.monitoring, load_scenario_or_fail(settings).model_name, spec,
                datetime.now(UTC),
            )  # fmt: skip
        if not verdict.alerts:
            return
        console.print(f"[bold]{verdict.reason}[/]", highlight=False)
        if not verdict.due:
            return
        retrain(scenario=scenario, trigger="alerts: " + ",".join(verdict.alerts))
    except (typer.Exit, SystemExit) as stopped:
        err.print(f"[yellow]the alert-driven retrain did not finish ({stopped!r}); next run[/]")
        return
    if api_url:
        secret = settings.api_key or settings.admin_token
        headers = {"Authorization": f"Bearer {secret.get_secret_value()}"} if secret else {}
        try:
            reply = httpx.post(f"{api_url}/v1/admin/reload", headers=headers, timeout=60)
            console.print(f"API reload: {reply.status_code}")
        except httpx.HTTPError as error:
            err.print(f"[yellow]could not reload {api_url} ({error}); restart the API[/]")


def _scrape_key(settings: Settings) -> str | None:
    """The credential for the API's /metrics beyond loopback: ``RISKLOOP_API_KEY``, else the
    admin token."""
    secret = settings.api_key or settings.admin_token
    return secret.get_secret_value() if secret else None


def _service_health(api_url: str, key: str | None = None) -> dict[str, float | None] | None:
    """Error rate and log failures from the API's /metrics (sent ``key`` as its credential);
    None (with a warning) when the API cannot be read: the monitor still measures the log."""
    import httpx

    from riskloop.monitoring.service_health import scrape_service_health

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(f"{api_url}/metrics", headers=headers, timeout=10)
        response.raise_for_status()
        return scrape_service_health(response.text)
    except httpx.HTTPError as error:
        err.print(f"[yellow]could not read {api_url}/metrics ({error}); no service health[/]")
        return None
