"""The ``riskloop`` command as a person runs it: real processes, real exit codes and messages."""

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd
import pytest

from riskloop.store import PredictionRecord, PredictionStore
from tests.conftest import CREDIT_CSV, PROJECT_DIR

pytestmark = pytest.mark.slow
RISKLOOP = [str(Path(sys.executable).with_name("riskloop"))]  # the installed entry point


def _run(args, env, timeout=180):
    return subprocess.run(
        RISKLOOP + args,
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_broken_data_file_stops_the_run_with_a_clear_message(tmp_path):
    frame = pd.read_csv(CREDIT_CSV)
    frame.loc[[2, 5], "Age"] = [-3, 240]
    frame.to_csv(tmp_path / "broken.csv", index=False)
    text = (PROJECT_DIR / "conf/base/scenarios/credit.yml").read_text()
    scenario = tmp_path / "broken.yml"
    scenario.write_text(text.replace("data/01_raw/credit_data.csv", str(tmp_path / "broken.csv")))
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'm.db'}",
        "RISKLOOP_ARTIFACT_DIR": str(tmp_path / "a"),
    }
    result = _run(["run", "--scenario", str(scenario), "--data-dir", str(tmp_path / "d")], env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "column 'Age'" in result.stderr and "-3.0" in result.stderr and "240.0" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_monitor_explains_an_empty_log_then_prints_psi(trained_project, tmp_path):
    env = {**trained_project.env(), "RISKLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    empty = _run(["monitor"], env)
    assert empty.returncode == 1 and "empty" in empty.stderr and "Traceback" not in empty.stderr
    test = pd.read_parquet(trained_project.data_dir / "05_model_input" / "test.parquet")
    inputs = test.drop(columns="Status").astype(object).where(test.notna(), None)
    records = [
        PredictionRecord(f"a{i}", datetime.now(UTC), "credit-risk", "1", row, 0.2, "approve", 0.5)
        for i, row in enumerate(inputs.to_dict("records"))
    ]
    store = PredictionStore(env["RISKLOOP_DATABASE_URL"])
    store.append(records[:1])  # the tour: one curl, then `riskloop monitor`
    one = _run(["monitor"], env)
    assert one.returncode == 0, one.stderr[-2000:]
    assert "PSI" in one.stdout and "Only 1 logged" in one.stdout and "min_rows" in one.stdout
    store.append(records[1:])
    table = _run(["monitor"], env)
    assert table.returncode == 0, table.stderr[-2000:]
    assert "PSI" in table.stdout and "Income" in table.stdout and "stable" in table.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_curl_and_logs_the_row(trained_project, tmp_path: Path):
    port = _free_port()
    db = tmp_path / "served.db"
    env = {**os.environ, **trained_project.env(), "RISKLOOP_DATABASE_URL": f"sqlite:///{db}"}
    server = subprocess.Popen(
        RISKLOOP + ["serve", "--port", str(port)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read()
            time.sleep(0.5)
        applicant = pd.read_csv(CREDIT_CSV).drop(columns="Status").iloc[0].to_dict()
        # as the README's tour does: the local admin key `riskloop serve` made on loopback
        assert httpx.post(f"{url}/v1/score", json=applicant, timeout=10).status_code == 401
        key = (trained_project.data_dir / "local-admin.key").read_text().strip()
        response = httpx.post(
            f"{url}/v1/score",
            json=applicant,
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        application_id = response.json()["application_id"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert PredictionStore(f"sqlite:///{db}").get(application_id)["decision"] in {
        "approve",
        "decline",
    }
