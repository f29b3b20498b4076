"""The images, built and run: the API image carries only what serving needs and serves a trained
model (mounted from a pipeline run on this machine) exactly as the code does in process, as the
unprivileged user, turns healthy by its own HEALTHCHECK, and on SIGTERM answers what it
accepted and logs every decision it answered. The full image runs the trainer, UI and MLflow
server. Skipped only where no Docker engine can be had (.ci/run starts one)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from riskloop.provenance import PUBLIC_KEY_FILE
from tests.deploy.containers import (
    answers,
    container,
    docker,
    image_megabytes,
    logs,
    shared_folder,
    wait_for,
)
from tests.serving._live import free_port

pytestmark = pytest.mark.slow

# Libraries only training, the UI, notebooks or the tracking server use (docs/deploy.md).
NOT_IN_API_IMAGE = (
    "kedro",
    "kedro_datasets",
    "streamlit",
    "optuna",
    "lime",
    "fairlearn",
    "matplotlib",
    "pyarrow",
    "nbformat",
    "nbclient",
    "ipykernel",
    "flask",
)


def _applicant(credit_frame, row: int = 0) -> dict:
    record = credit_frame.drop(columns=["Status"]).iloc[row].to_dict()
    return {k: (None if v != v else v) for k, v in record.items()}  # NaN → null


@pytest.fixture(scope="module")
def model_folder(trained_project) -> Iterator[Path]:
    """A copy of the trained project's registry (tracking database and artifacts) that the
    container's user may read and write; mounted where the registry says its artifacts are.
    With it the public half of the key that signed the model, as the compose stack gives the
    API (the private key stays out of the container)."""
    folder = shared_folder("riskloop-model")
    shutil.copy2(trained_project.root / "mlflow.db", folder / "mlflow.db")
    shutil.copytree(trained_project.root / "mlartifacts", folder / "mlartifacts")
    (folder / "trusted-keys").mkdir()
    public_key = trained_project.data_dir / "keys" / PUBLIC_KEY_FILE
    shutil.copy2(public_key, folder / "trusted-keys" / PUBLIC_KEY_FILE)
    subprocess.run(["chmod", "-R", "a+rwX", str(folder)], check=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# the container's credential (it holds every role); requests send it as a bearer token
ADMIN_TOKEN = "container-test-admin-token-of-32-bytes-or-more"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _api_environment(trained_project, port: int, log: str) -> dict[str, str]:
    root = trained_project.root
    return {
        "MLFLOW_TRACKING_URI": trained_project.tracking_uri,
        "RISKLOOP_ARTIFACT_DIR": str(root / "mlartifacts"),
        "RISKLOOP_DATABASE_URL": f"sqlite:///{root / log}",
        "RISKLOOP_DATA_DIR": str(root / "data"),
        "RISKLOOP_API_PORT": str(port),
        "RISKLOOP_ADMIN_TOKEN": ADMIN_TOKEN,
        "RISKLOOP_TRUSTED_KEYS": json.dumps([str(root / "trusted-keys")]),
    }


def _start_api(built_images, trained_project, model_folder, log="predictions.db"):
    port = free_port()
    return port, container(
        str(built_images["api"]),
        environment=_api_environment(trained_project, port, log),
        volumes={model_folder: trained_project.root},
        # the image's own HEALTHCHECK command, polled more often than in production
        options=("--health-interval=2s", "--health-start-period=120s"),
    )


@pytest.fixture(scope="module")
def api(built_images, trained_project, model_folder) -> Iterator[tuple[str, str]]:
    """The API image serving the trained champion: (container name, base URL)."""
    port, running = _start_api(built_images, trained_project, model_folder)
    with running as name:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(url + "/ready"), "GET /ready answering 200", 180, name)
        yield name, url


def test_the_api_image_carries_the_serving_path_and_no_training_library(built_images):
    script = (
        "import importlib.util, riskloop.cli, riskloop.serving.app, riskloop.serving.loading,"
        " riskloop.serving.oidc;"
        f"print([m for m in {NOT_IN_API_IMAGE!r} if importlib.util.find_spec(m)])"
    )
    output = docker(
        "run", "--rm", "--network", "none", str(built_images["api"]), "python", "-c", script
    )
    assert output.splitlines()[-1] == "[]", output
    # and the full image has what the UI, the trainer and the tracking server need
    full = docker(
        "run",
        "--rm",
        "--network",
        "none",
        str(built_images["full"]),
        "python",
        "-c",
        "import kedro, streamlit, optuna, mlflow.server, riskloop.pipelines; print('ok')",
    )
    assert full.splitlines()[-1] == "ok"
    sizes = {image: image_megabytes(str(built_images[image])) for image in ("api", "full")}
    print(f"image sizes (MB): {sizes}; build {built_images['build_s']:.0f} s")
    assert sizes["api"] < sizes["full"]


def test_ready_answers_and_the_process_runs_as_the_unprivileged_user(api):
    name, url = api
    ready = httpx.get(url + "/ready", timeout=5)
    assert ready.status_code == 200
    status = docker("exec", name, "cat", "/proc/1/status")
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert set(uids) == {"10001"}, status  # real, effective, saved and filesystem uid
    assert docker("exec", name, "id", "-un") == "riskloop"


def test_a_score_through_the_container_equals_the_in_process_score(
    api, trained_project, credit_frame
):
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    from riskloop.serving.app import ServiceConfig, create_app
    from riskloop.serving.loading import load_registered_model
    from riskloop.serving.model_holder import ModelHolder
    from riskloop.store import PredictionStore

    _, url = api
    loaded = load_registered_model(trained_project.model_name)
    assert loaded is not None
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    app = create_app(
        ModelHolder(loaded),
        PredictionStore("sqlite://", engine=engine),
        config=ServiceConfig(admin_token=ADMIN_TOKEN),
    )
    with TestClient(app, headers=AS_ADMIN) as client:
        local_answers = [
            # in process, scored the same way; /preview only skips the log
            client.post("/v1/score/preview", json=_applicant(credit_frame, row))
            for row in (0, 7, 42)
        ]
    for row, local in zip((0, 7, 42), local_answers, strict=True):
        remote = httpx.post(
            url + "/v1/score", json=_applicant(credit_frame, row), headers=AS_ADMIN, timeout=30
        )
        assert remote.status_code == 200, remote.text
        assert local.status_code == 200, local.text
        remote_body, local_body = remote.json(), local.json()
        for body in (remote_body, local_body):
            body.pop("application_id")
        assert remote_body["probability_of_default"] == pytest.approx(
            local_body.pop("probability_of_default"), rel=1e-9, abs=1e-12
        )
        remote_body.pop("probability_of_default")
        assert remote_body == local_body  # decision, threshold, model version, reason codes


def test_the_image_healthcheck_turns_healthy(api):
    name, _ = api
    state = lambda: docker("inspect", name, "--format", "{{.State.Health.Status}}")  # noqa: E731
    wait_for(lambda: state() == "healthy", "docker's health status 'healthy'", 60, name)
    checks = json.loads(docker("inspect", name, "--format", "{{json .State.Health.Log}}"))
    assert checks[-1]["ExitCode"] == 0


def test_sigterm_drains_in_flight_requests_and_every_answered_decision_is_logged(
    built_images, trained_project, model_folder, credit_frame
):
    # its own prediction log: the module's other container keeps predictions.db open
    database = model_folder / "drain.db"
    port, running = _start_api(built_images, trained_project, model_folder, log="drain.db")
    url = f"http://127.0.0.1:{port}"
    applicants = [_applicant(credit_frame, row) for row in range(50)]
    acknowledged: list[str] = []
    after_signal: list[str] = []
    signalled = threading.Event()
    stop = threading.Event()

    def client(offset: int) -> None:
        with httpx.Client(timeout=30, headers=AS_ADMIN) as session:
            for i in range(offset, 10_000, 8):
                if stop.is_set():
                    return
                try:
                    sent_before_signal = not signalled.is_set()
                    response = session.post(url + "/v1/score", json=applicants[i % 50])
                except httpx.HTTPError:
                    return  # the server is gone: what it accepted was answered
                if response.status_code != 200:
                    return
                acknowledged.append(response.json()["application_id"])
                if sent_before_signal and signalled.is_set():
                    after_signal.append(response.json()["application_id"])

    with running as name:
        wait_for(lambda: answers(url + "/ready"), "GET /ready answering 200", 180, name)
        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(acknowledged) >= 200, "200 scored applications", 60, name)
        signalled.set()
        docker("kill", "--signal", "TERM", name)
        exit_code = docker("wait", name, timeout=60)
        stop.set()
        for thread in threads:
            thread.join(30)
        log = logs(name)
    assert exit_code == "0", log
    assert after_signal, "no request was in flight when SIGTERM arrived: nothing was drained"
    with sqlite3.connect(database) as connection:
        logged = {row[0] for row in connection.execute("SELECT application_id FROM predictions")}
    print(
        f"SIGTERM: {len(acknowledged)} acknowledged ({len(after_signal)} answered after the"
        f" signal), {len(logged)} logged"
    )
    assert set(acknowledged) <= logged, "an answered decision is missing from the log"
    assert len(logged) == len(acknowledged)
