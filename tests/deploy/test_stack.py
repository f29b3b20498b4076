"""The compose stack, up for real: deploy/compose.yaml plus deploy/compose.test.yaml (host
network, the machine's PostgreSQL) starts the MLflow server, trains and registers a first
champion (bootstrap; signed, the API trusting only the public key), serves it (API), runs the
UI (people sign in at an OpenID Connect provider the test runs on loopback, oidc-provider-mock)
and the monitor loop. Through it: score, post outcomes, run the monitor, read the result in
/v1/monitoring. Then Debian's Caddy with the project's Caddyfile in front, on a test certificate
authority (Caddy's own local CA, kept in a temporary folder): HTTPS works, HTTP redirects, only
the public routes pass (no key: 401; the docs and metrics stay closed although the API listens
on loopback), MLflow stays out, a key made with `riskloop keys create` scores under its name,
and the UI shows nothing but its sign-in until a person signs in at the provider.

Needs a Docker engine and RISKLOOP_TEST_DATABASE_URL (.ci/run provides both); skips otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from tests.conftest import CREDIT_CSV, SMALL_BUDGET
from tests.deploy.conftest import DEPLOY_DIR, PROJECT_DIR, compose_binary, libpq_environment, stop
from tests.deploy.containers import answers, shared_folder, wait_for
from tests.serving._live import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

POSTGRES_URL = os.environ.get("RISKLOOP_TEST_DATABASE_URL")
SERVICES = ("mlflow", "bootstrap", "api", "ui", "monitor")
# the stack's admin token (every role): the test's requests send it as a bearer token
ADMIN_TOKEN = "stack-test-admin-token-of-32-bytes-or-more"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# the UI's registration at the test's identity provider, and the person who signs in
OIDC_CLIENT_ID = "riskloop-ui"
SCORER = "sam@example.com"


@dataclass
class Stack:
    project: str
    env_file: Path
    api_url: str
    ui_port: int
    mlflow_url: str
    model_name: str
    databases: dict[str, str]
    https_port: int  # where the test's Caddy will listen (the UI's public address)
    http_port: int

    def compose(self, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                compose_binary(),
                "-p",
                self.project,
                "-f",
                str(DEPLOY_DIR / "compose.yaml"),
                "-f",
                str(DEPLOY_DIR / "compose.test.yaml"),
                "--env-file",
                str(self.env_file),
                *arguments,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=DEPLOY_DIR,
            # only the env file sets the stack's variables: compose prefers the caller's
            # environment, and the test suite's own (RISKLOOP_*) must not leak into the stack
            env={k: v for k, v in os.environ.items() if not k.startswith(("RISKLOOP_", "MLFLOW_"))},
        )


def small_training_budget(folder: Path) -> None:
    """conf/local parameters for the stack's first training: one candidate, no tuning, the
    tests' small evaluation budget (Kedro replaces whole top-level keys, so each is complete)."""
    overrides = {
        "model": {"type": "sklearn_logistic_regression"},
        "evaluation": SMALL_BUDGET["evaluation"],
    }
    merged = {}
    for path in sorted((PROJECT_DIR / "conf" / "base").glob("parameters_*.yml")):
        for key, value in (yaml.safe_load(path.read_text()) or {}).items():
            if key in overrides:
                merged[key] = {**value, **overrides[key]}
    assert set(merged) == set(overrides), "conf/base no longer has these parameter keys"
    (folder / "parameters_stack_test.yml").write_text(yaml.safe_dump(merged))
    (folder / "parameters_stack_test.yml").chmod(0o644)


def _psql_environment() -> dict[str, str]:
    return libpq_environment(POSTGRES_URL or "")


def _database_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(POSTGRES_URL or "").set(database=name).render_as_string(hide_password=False)


@contextlib.contextmanager
def identity_provider() -> Iterator[str]:
    """An OpenID Connect provider on loopback (oidc-provider-mock) that knows one scorer; its
    issuer URL (plain http: allowed for a loopback issuer, told to Authlib as a test)."""
    from oidc_provider_mock import User, run_server_in_thread

    person = User(sub=SCORER, claims={"email": SCORER, "roles": ["scorer"]})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
        with run_server_in_thread(user_claims=[person]) as server:
            yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def stack(built_images, credit_scenario) -> Iterator[Stack]:
    if not POSTGRES_URL:
        pytest.skip("RISKLOOP_TEST_DATABASE_URL not set: the stack needs the machine's PostgreSQL")
    with identity_provider() as issuer:
        yield from _stack(built_images, credit_scenario, issuer)


def _stack(built_images, credit_scenario, issuer: str) -> Iterator[Stack]:
    suffix = uuid.uuid4().hex[:8]
    databases = {"riskloop": f"riskloop_stack_{suffix}", "mlflow": f"mlflow_stack_{suffix}"}
    environment = _psql_environment()
    for database in databases.values():
        created = subprocess.run(["createdb", database], env=environment, capture_output=True)
        assert created.returncode == 0, created.stderr
    folder = shared_folder("riskloop-stack")
    conf_local = folder / "conf-local"
    conf_local.mkdir(mode=0o755)
    small_training_budget(conf_local)
    api_port, ui_port, mlflow_port = free_port(), free_port(), free_port()
    https_port, http_port = free_port(), free_port()
    env_file = folder / "stack.env"
    env_file.write_text(
        "\n".join(
            [
                "POSTGRES_PASSWORD=unused-the-test-uses-the-machines-postgresql",
                f"RISKLOOP_ADMIN_TOKEN={ADMIN_TOKEN}",
                "RISKLOOP_APPLICANT_REF_KEY=stack-test-applicant-reference-key-32-bytes",
                "GRAFANA_ADMIN_PASSWORD=unused",
                f"RISKLOOP_IMAGE={built_images['full']}",
                f"RISKLOOP_API_IMAGE={built_images['api']}",
                f"RISKLOOP_RAW_DATA_DIR={CREDIT_CSV.parent}",
                f"RISKLOOP_STACK_API_PORT={api_port}",
                f"RISKLOOP_STACK_UI_PORT={ui_port}",
                f"RISKLOOP_STACK_MLFLOW_PORT={mlflow_port}",
                f"RISKLOOP_STACK_DATABASE_URL={_database_url(databases['riskloop'])}",
                f"RISKLOOP_STACK_MLFLOW_DATABASE_URL={_database_url(databases['mlflow'])}",
                f"RISKLOOP_STACK_CONF_LOCAL={conf_local}",
                f"RISKLOOP_OIDC_ISSUER={issuer}",
                f"RISKLOOP_OIDC_CLIENT_ID={OIDC_CLIENT_ID}",
                "RISKLOOP_OIDC_CLIENT_SECRET=a-client-secret-for-the-test-provider",
                "RISKLOOP_OIDC_ROLES_CLAIM=roles",
                f"RISKLOOP_UI_URL=https://localhost:{https_port}",
                "RISKLOOP_UI_COOKIE_SECRET=a-cookie-secret-for-the-stack-test",
            ]
        )
        + "\n"
    )
    running = Stack(
        project=f"riskloop-test-{suffix}",
        env_file=env_file,
        api_url=f"http://127.0.0.1:{api_port}",
        ui_port=ui_port,
        mlflow_url=f"http://127.0.0.1:{mlflow_port}",
        model_name=credit_scenario.model_name,
        databases=databases,
        https_port=https_port,
        http_port=http_port,
    )
    try:
        up = running.compose("up", "--detach", "--no-build", *SERVICES, timeout=900)
        assert up.returncode == 0, up.stderr[-3000:]
        wait_for(
            lambda: answers(running.api_url + "/ready"),
            "the stack's API ready (bootstrap trains the first champion)",
            900,
        )
        yield running
    finally:
        if "up" in locals() and up.returncode != 0 or not answers(running.api_url + "/ready"):
            print(running.compose("logs", "--tail", "40").stdout[-6000:])
        running.compose("down", "--volumes", "--remove-orphans", "--timeout", "20")
        for database in databases.values():
            subprocess.run(
                ["dropdb", "--if-exists", "--force", database], env=environment, capture_output=True
            )
        shutil.rmtree(folder, ignore_errors=True)


def test_bootstrap_trained_and_registered_a_champion_the_api_serves(stack):
    model = httpx.get(stack.api_url + "/v1/model", headers=AS_ADMIN, timeout=10).json()
    assert model["name"] == stack.model_name and model["version"] == "1"
    # registered on the MLflow server (on PostgreSQL), under the champion alias
    registered = httpx.get(
        stack.mlflow_url + "/api/2.0/mlflow/registered-models/get",
        params={"name": stack.model_name},
        timeout=10,
    ).json()["registered_model"]
    assert {"alias": "champion", "version": "1"} in registered["aliases"]
    ps = stack.compose("ps", "--all", "--format", "{{.Service}} {{.State}} {{.ExitCode}}")
    states = dict(line.split(" ", 1) for line in ps.stdout.splitlines())
    assert states["bootstrap"] == "exited 0", ps.stdout
    assert all(states[s].startswith("running") for s in ("mlflow", "api", "ui", "monitor"))
    assert answers(f"http://127.0.0.1:{stack.ui_port}/_stcore/health")


def test_score_post_outcomes_run_the_monitor_and_read_it_in_v1_monitoring(stack):
    frame = pd.read_csv(CREDIT_CSV).head(600)
    applications = [
        {k: (None if v != v else v) for k, v in row.items()}
        for row in frame.drop(columns=["Status"]).to_dict("records")
    ]
    scored = httpx.post(
        stack.api_url + "/v1/score/batch",
        json={"applications": applications},
        headers=AS_ADMIN,
        timeout=120,
    )
    assert scored.status_code == 200, scored.text[:500]
    results = scored.json()["results"]
    assert len(results) == 600
    for result, status in list(zip(results, frame["Status"], strict=True))[:150]:
        answer = httpx.post(
            stack.api_url + "/v1/feedback",
            json={"application_id": result["application_id"], "outcome": int(status == "bad")},
            headers=AS_ADMIN,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
    monitored = stack.compose(
        "exec", "-T", "monitor", "riskloop", "monitor", "--api-url", stack.api_url, timeout=600
    )
    assert monitored.returncode in (0, 1), monitored.stderr[-3000:]  # 1: an alert rule fired
    document = httpx.get(stack.api_url + "/v1/monitoring", headers=AS_ADMIN, timeout=10).json()
    assert document["model_version"] == "1"
    # 600 rows: a full window of 500 and the newest, unfinished one of 100 (min_rows)
    window, newest = document["windows"]
    assert window["n"]["approval_rate"] == 500 and newest["n"]["approval_rate"] == 100
    # the 150 outcomes posted are all in the first window: its realised AUC is computed
    assert window["n"]["realised_auc"] == 150
    assert 0.0 < window["metrics"]["realised_auc"] <= 1.0


# ---- Caddy in front -------------------------------------------------------------------------


@dataclass
class Front:
    https: str
    http: str
    ca: Path


@pytest.fixture(scope="module")
def caddy(stack, tmp_path_factory) -> Iterator[Front]:
    binary = shutil.which("caddy")
    if binary is None:
        pytest.skip("Debian's caddy is not installed (.ci/run installs it)")
    folder = tmp_path_factory.mktemp("caddy")
    http_port, https_port = stack.http_port, stack.https_port  # the UI's sign-in returns there
    # The project's Caddyfile, its site block untouched; the test adds global options only:
    # its own ports, Caddy's local CA (never installed into the machine's trust store).
    text = (DEPLOY_DIR / "caddy" / "Caddyfile").read_text()
    head = "{\n\t{$RISKLOOP_ACME_EMAIL_OPTION}\n"
    assert text.count(head) == 1
    test_options = (
        f"\tlocal_certs\n\tskip_install_trust\n\thttp_port {http_port}\n\thttps_port {https_port}\n"
    )
    config = folder / "Caddyfile"
    config.write_text(text.replace(head, head + test_options))
    api = stack.api_url.removeprefix("http://")
    environment = {
        **os.environ,
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "RISKLOOP_SITE_ADDRESS": "localhost",
        "RISKLOOP_ACME_EMAIL_OPTION": "",
        "RISKLOOP_API_UPSTREAM": api,
        "RISKLOOP_UI_UPSTREAM": f"127.0.0.1:{stack.ui_port}",
        "RISKLOOP_GRAFANA_UPSTREAM": f"127.0.0.1:{free_port()}",  # no Grafana in the test
    }
    process = subprocess.Popen(
        [binary, "run", "--config", str(config), "--adapter", "caddyfile"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "caddy.log").open("w"),
    )
    ca = folder / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    try:
        wait_for(lambda: ca.is_file() or process.poll() is not None, "Caddy's local CA", 60)
        assert process.poll() is None, (folder / "caddy.log").read_text()[-3000:]
        front = Front(f"https://localhost:{https_port}", f"http://localhost:{http_port}", ca)
        wait_for(lambda: _https_ready(front), "HTTPS through Caddy", 60)
        yield front
    finally:
        stop(process)


def _https_ready(front: Front) -> bool:
    try:
        return httpx.get(front.https + "/ready", verify=str(front.ca), timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def test_https_through_caddy_with_the_test_ca_and_http_redirects(caddy):
    ready = httpx.get(caddy.https + "/ready", verify=str(caddy.ca), timeout=10)
    assert ready.status_code == 200
    assert ready.headers["strict-transport-security"].startswith("max-age=")
    # without the test CA the certificate is not trusted: it really is TLS, not a pass-through
    with pytest.raises(httpx.ConnectError):
        httpx.get(caddy.https + "/ready", timeout=10)
    redirect = httpx.get(caddy.http + "/ready", timeout=10)
    assert redirect.status_code in (301, 308)
    assert redirect.headers["location"].startswith(caddy.https.rsplit(":", 1)[0])


def _applicant(credit_frame: pd.DataFrame, row: int) -> dict:
    return {
        k: (None if v != v else v)
        for k, v in credit_frame.drop(columns=["Status"]).iloc[row].to_dict().items()
    }


def test_only_the_public_routes_pass_and_mlflow_stays_out(caddy, stack, credit_frame):
    def get(path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.get(caddy.https + path, headers=headers, verify=str(caddy.ca), timeout=20)

    def score(headers: dict[str, str]) -> httpx.Response:
        return httpx.post(
            caddy.https + "/v1/score",
            json=_applicant(credit_frame, 3),
            headers=headers,
            verify=str(caddy.ca),
            timeout=20,
        )

    scored = score(AS_ADMIN)
    assert scored.status_code == 200 and "probability_of_default" in scored.json()
    assert score({}).status_code == 401  # no credential, no score
    # The API listens on loopback, where its docs and metrics need no key; Caddy forwards for
    # someone else (X-Forwarded-For), so through it they are closed like any other route.
    for path in ("/openapi.json", "/docs"):
        assert httpx.get(stack.api_url + path, timeout=10).status_code == 200, path
        assert get(path).status_code == 401, path
        assert get(path, AS_ADMIN).status_code == 200, path
    assert get("/").status_code == 200 and "<title>" in get("/").text.lower()  # the UI
    # the metrics stay internal: Caddy answers 404 itself although the API serves them
    assert get("/metrics").status_code == 404
    assert httpx.get(stack.api_url + "/metrics", timeout=10).status_code == 200
    # MLflow's REST API answers on the machine, never through the front door
    mlflow_path = f"/api/2.0/mlflow/registered-models/get?name={stack.model_name}"
    assert httpx.get(stack.mlflow_url + mlflow_path, timeout=10).status_code == 200
    through = get(mlflow_path)
    assert "registered_model" not in through.text


def test_a_key_made_in_the_api_container_scores_through_caddy_under_its_name(
    caddy, stack, credit_frame
):
    created = stack.compose(
        "exec", "-T", "api", "riskloop", "keys", "create", "--name", "branch-7", "--role", "scorer"
    )
    assert created.returncode == 0, created.stderr[-2000:]
    key = created.stdout.splitlines()[1].strip()  # printed once, on a line of its own
    application_id = f"stack-caddy-{uuid.uuid4().hex[:8]}"
    scored = httpx.post(
        caddy.https + "/v1/score",
        json={**_applicant(credit_frame, 5), "application_id": application_id},
        headers={"Authorization": f"Bearer {key}"},
        verify=str(caddy.ca),
        timeout=20,
    )
    assert scored.status_code == 200, scored.text[:500]
    logged = subprocess.run(
        [
            "psql",
            "-X",
            "-A",
            "-t",
            "-d",
            stack.databases["riskloop"],
            "-c",
            f"SELECT actor FROM predictions WHERE application_id = '{application_id}'",
        ],
        env=_psql_environment(),
        capture_output=True,
        text=True,
    )
    assert logged.returncode == 0, logged.stderr
    assert logged.stdout.strip() == "key:branch-7"
    # a scorer's key opens no analyst route
    monitoring = httpx.get(
        caddy.https + "/v1/monitoring",
        headers={"Authorization": f"Bearer {key}"},
        verify=str(caddy.ca),
        timeout=20,
    )
    assert monitoring.status_code == 403


def test_the_api_serves_a_signed_champion_with_the_public_key_alone(stack):
    def shell(service: str, script: str) -> str:
        result = stack.compose("exec", "-T", service, "sh", "-c", script)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    # the trainer (monitor loop, the same data volume bootstrap signed with) holds the key pair
    trainer_public = shell("monitor", "cat /app/data/keys/signing_key.pub.pem")
    assert "PRIVATE KEY" in shell("monitor", "cat /app/data/keys/signing_key.pem")
    # the API trusts the published public key and has no private key anywhere
    assert shell("api", "cat /app/trusted-keys/signing_key.pub.pem") == trainer_public
    assert shell("api", "echo $RISKLOOP_TRUSTED_KEYS").strip() == '["/app/trusted-keys"]'
    private = "find / -path /proc -prune -o -name '*.pem' -print | xargs -r grep -l 'PRIVATE KEY'"
    assert shell("api", private + " || true") == ""
    assert answers(stack.api_url + "/ready")  # the champion it serves passed the check


def test_the_ui_through_caddy_shows_only_its_sign_in_until_a_person_signs_in(caddy):
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import CHROMIUM, LAUNCH_ARGS, MISSING

    if not CHROMIUM.exists():
        pytest.skip(MISSING)
    wait_ms = 60_000
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            # the test CA is not in the browser's store: the certificate is checked by httpx
            page = browser.new_page(ignore_https_errors=True)
            page.goto(caddy.https + "/", wait_until="domcontentloaded")
            sign_in = page.get_by_role("button", name="Sign in")
            sign_in.wait_for(timeout=wait_ms)
            assert page.get_by_role("heading", name="Score an applicant").count() == 0
            # to the provider and back through Caddy (the sign-in returns to RISKLOOP_UI_URL)
            sign_in.click()
            page.get_by_role("button", name=SCORER).click(timeout=wait_ms)
            page.get_by_text(f"Signed in as user:{SCORER}").wait_for(timeout=wait_ms)
            # the API accepted the person's own ID token and read the roles claim
            page.get_by_text("Roles: scorer").wait_for(timeout=wait_ms)
            assert page.url.startswith(caddy.https)
        finally:
            browser.close()


# ---- backup and restore of the running stack ---------------------------------------------------


def _counts(database: str) -> dict[str, str]:
    environment = _psql_environment()
    counts = {}
    for table in ("predictions", "labels", "monitor_results", "audit_events"):
        result = subprocess.run(
            ["psql", "-X", "-A", "-t", "-d", database, "-c", f"SELECT count(*) FROM {table}"],
            env=environment,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        counts[table] = result.stdout.strip()
    return counts


def _champion(stack: Stack) -> tuple[str, str]:
    """(version, run id) behind the champion alias, from the MLflow server."""
    version = httpx.get(
        stack.mlflow_url + "/api/2.0/mlflow/registered-models/alias",
        params={"name": stack.model_name, "alias": "champion"},
        timeout=10,
    ).json()["model_version"]
    return version["version"], version["run_id"]


def test_backup_then_restore_into_empty_databases_gives_the_same_rows_and_champion(
    stack, tmp_path, credit_frame
):
    before = _counts(stack.databases["riskloop"])
    assert int(before["predictions"]) >= 600 and int(before["labels"]) >= 150
    champion = _champion(stack)
    volume = f"{stack.project}_mlflow-artifacts"
    inspected = subprocess.run(
        ["docker", "volume", "inspect", volume, "--format", "{{.Mountpoint}}"],
        capture_output=True,
        text=True,
    )
    assert inspected.returncode == 0, inspected.stderr
    artifacts = inspected.stdout.strip()
    environment = {
        **_psql_environment(),
        "RISKLOOP_BACKUP_DATABASES": " ".join(stack.databases.values()),
    }
    made = subprocess.run(
        [str(DEPLOY_DIR / "backup.sh"), str(tmp_path), artifacts],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    folder = made.stdout.strip().splitlines()[-1]

    # the machine is lost: services stopped, both databases and the artifacts gone
    stopped = stack.compose("stop", "api", "ui", "monitor", "mlflow")
    assert stopped.returncode == 0, stopped.stderr
    for database in stack.databases.values():
        dropped = subprocess.run(
            ["dropdb", "--force", database], env=environment, capture_output=True, text=True
        )
        assert dropped.returncode == 0, dropped.stderr
    for child in Path(artifacts).iterdir():  # an empty artifact volume
        shutil.rmtree(child) if child.is_dir() else child.unlink()

    restored = subprocess.run(
        [str(DEPLOY_DIR / "restore.sh"), folder, artifacts],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert restored.returncode == 0, restored.stderr
    # the same rows, before any service could write again
    assert _counts(stack.databases["riskloop"]) == before
    started = stack.compose("start", "mlflow", "api")
    assert started.returncode == 0, started.stderr
    wait_for(lambda: answers(stack.api_url + "/ready"), "the restored stack ready", 180)

    assert _champion(stack) == champion
    model = httpx.get(stack.api_url + "/v1/model", headers=AS_ADMIN, timeout=10).json()
    assert model["version"] == champion[0]
    # the champion's artifacts came back too: the API loaded it and scores with it
    applicant = {
        k: (None if v != v else v)
        for k, v in credit_frame.drop(columns=["Status"]).iloc[9].to_dict().items()
    }
    scored = httpx.post(stack.api_url + "/v1/score", json=applicant, headers=AS_ADMIN, timeout=30)
    assert scored.status_code == 200
