"""Prometheus for real: the shipped configuration and alert rules pass ``promtool``, the rules'
unit tests pass (deploy/prometheus/alerts_test.yml), and Debian's ``prometheus`` scrapes a live
riskloop API on loopback with that configuration: the target is up, the request counter it
reports equals the requests the test made, and every alert rule evaluates without error."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import httpx
import pytest
import yaml

from tests.deploy.conftest import DEPLOY_DIR, run, stop
from tests.serving._live import free_port, serve_in_thread

PROMETHEUS_DIR = DEPLOY_DIR / "prometheus"


@pytest.fixture(scope="session")
def prometheus_tools() -> dict[str, str]:
    """``prometheus`` and ``promtool``: installed with apt-get (Debian's package) when missing
    and this process may do so; otherwise the test is skipped with the reason."""
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.skip("prometheus is not installed and apt-get cannot install it here (not root)")
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "prometheus"],
            capture_output=True,
            text=True,
            timeout=600,
            env=environment,
        )
        if install.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, timeout=600)
            install = subprocess.run(
                ["apt-get", "install", "-y", "--no-install-recommends", "prometheus"],
                capture_output=True,
                text=True,
                timeout=600,
                env=environment,
            )
        if install.returncode != 0:
            pytest.skip(f"apt-get could not install prometheus: {install.stderr[-500:]}")
    return {"prometheus": shutil.which("prometheus"), "promtool": shutil.which("promtool")}


def test_promtool_accepts_the_config_and_the_rules(prometheus_tools, tmp_path):
    promtool = prometheus_tools["promtool"]
    # promtool opens the scrape credential's file, which compose writes when Prometheus starts
    shipped = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    (api_job,) = [job for job in shipped["scrape_configs"] if job["job_name"] == "riskloop-api"]
    assert api_job["authorization"]["credentials_file"] == "/prometheus/riskloop-api-token"
    api_job["authorization"]["credentials_file"] = str(tmp_path / "riskloop-api-token")
    (tmp_path / "riskloop-api-token").write_text("a-token")
    (tmp_path / "alerts.yml").write_text((PROMETHEUS_DIR / "alerts.yml").read_text())
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(shipped))
    config = run([promtool, "check", "config", str(tmp_path / "prometheus.yml")])
    assert config.returncode == 0, config.stdout + config.stderr
    rules = run([promtool, "check", "rules", str(PROMETHEUS_DIR / "alerts.yml")])
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 8 rules found" in rules.stdout


def test_alert_rules_fire_exactly_as_their_unit_tests_say(prometheus_tools):
    result = run(
        [prometheus_tools["promtool"], "test", "rules", "alerts_test.yml"], cwd=PROMETHEUS_DIR
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_runbook_entry():
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    runbook = (DEPLOY_DIR.parent / "docs" / "runbook.md").read_text()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert f"### {rule['alert']}" in runbook, rule["alert"]
            assert rule["annotations"]["runbook"] == f"docs/runbook.md#{rule['alert'].lower()}"


def _scrape_config(api_url: str, prometheus_port: int, path, api_key: str) -> None:
    """The shipped prometheus.yml, pointed at the test's API and scraping every second with
    ``api_key`` as its credential."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS_DIR / "alerts.yml")]
    targets = {
        "riskloop-api": api_url.removeprefix("http://"),
        "prometheus": f"127.0.0.1:{prometheus_port}",
    }
    for job in config["scrape_configs"]:
        job["static_configs"][0]["targets"] = [targets[job["job_name"]]]
        if "authorization" in job:
            token = path.parent / "riskloop-api-token"
            token.write_text(api_key)
            job["authorization"]["credentials_file"] = str(token)
    path.write_text(yaml.safe_dump(config))


def _poll(url: str, query: dict | None, accept, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, params=query, timeout=2).json()
            if accept(last):
                return last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} {query}: condition not met within {timeout} s; last: {last}")


@pytest.mark.slow
def test_prometheus_scrapes_the_live_api_with_the_shipped_config(
    prometheus_tools, credit_scorer, credit_frame, tmp_path
):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    from riskloop.serving.app import create_app
    from riskloop.serving.identity import Role
    from riskloop.serving.model_holder import LoadedModel, ModelHolder
    from riskloop.store import PredictionStore
    from tests.credentials import api_key, bearer

    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    store = PredictionStore("sqlite://", engine=engine)
    app = create_app(holder, store)  # beyond loopback: Prometheus scrapes with a key
    key = api_key(store, Role.SCORER)
    applicants = credit_frame.drop(columns=["Status"]).head(3).to_dict("records")

    with serve_in_thread(app, ready_path="/ready") as api_url:
        for applicant in applicants:
            clean = {k: (None if v != v else v) for k, v in applicant.items()}  # NaN → null
            assert (
                httpx.post(api_url + "/v1/score", json=clean, headers=bearer(key)).status_code
                == 200
            )
        port = free_port()
        config = tmp_path / "prometheus.yml"
        _scrape_config(api_url, port, config, key)
        process = subprocess.Popen(
            [
                prometheus_tools["prometheus"],
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            targets = _poll(
                base + "/targets",
                None,
                lambda body: any(
                    t["labels"]["job"] == "riskloop-api" and t["health"] == "up"
                    for t in body["data"]["activeTargets"]
                ),
            )
            (api_target,) = [
                t for t in targets["data"]["activeTargets"] if t["labels"]["job"] == "riskloop-api"
            ]
            assert api_target["scrapeUrl"] == api_url + "/metrics"

            scored = 'sum(riskloop_http_requests_total{route="/v1/score",status="200"})'
            result = _poll(base + "/query", {"query": scored}, lambda b: b["data"]["result"])
            assert float(result["data"]["result"][0]["value"][1]) == len(applicants)

            info = _poll(
                base + "/query", {"query": "riskloop_model_info"}, lambda b: b["data"]["result"]
            )
            assert info["data"]["result"][0]["metric"]["model_version"] == "7"

            # every shipped rule is loaded and evaluates without error against real series
            rules = _poll(
                base + "/rules",
                None,
                lambda b: all(
                    rule.get("lastEvaluation", "").startswith("20")
                    for group in b["data"]["groups"]
                    for rule in group["rules"]
                ),
            )
            evaluated = [r for g in rules["data"]["groups"] for r in g["rules"]]
            assert len(evaluated) == 8
            assert all(rule["health"] == "ok" for rule in evaluated), evaluated
            # with a model loaded and no failures, none of the page-level alerts is active
            firing = {r["name"] for r in evaluated if r["state"] != "inactive"}
            assert not firing & {"RiskloopApiDown", "RiskloopNoModelLoaded"}
        finally:
            stop(process)
