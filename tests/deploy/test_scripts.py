"""The deployment scripts and templates, exercised as far as this machine allows: shellcheck,
the deploy script's dry run (it connects nowhere), the cloud-init file, the Caddyfile, the
systemd units, and a backup → drop → restore round trip on the local PostgreSQL."""

from __future__ import annotations

import os
import re
import shutil
import uuid

import pytest
import yaml

from tests.deploy.conftest import DEPLOY_DIR, PROJECT_DIR, libpq_environment, run, venv_tool

SCRIPTS = sorted([*DEPLOY_DIR.glob("*.sh"), *DEPLOY_DIR.glob("docker/*.sh")])
POSTGRES_URL = os.environ.get("RISKLOOP_TEST_DATABASE_URL")


def test_every_shell_script_passes_shellcheck():
    assert {p.name for p in SCRIPTS} >= {"backup.sh", "restore.sh", "deploy.sh", "monitor-loop.sh"}
    result = run([venv_tool("shellcheck"), "--severity=style", *map(str, SCRIPTS)])
    assert result.returncode == 0, result.stdout


def test_shellcheck_is_really_checking(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\nrm -rf $1/*\n")
    result = run([venv_tool("shellcheck"), str(bad)])
    assert result.returncode != 0 and "SC2086" in result.stdout


def _deploy(*arguments: str, env_file) -> object:
    return run([str(DEPLOY_DIR / "deploy.sh"), *arguments, "--env-file", str(env_file)])


IDENTITY_PLACEHOLDER = "from-your-identity-provider"


def _with_identity_provider(env_file):
    """Fill in the UI's registration at an identity provider, as the operator does."""
    env_file.write_text(env_file.read_text().replace(IDENTITY_PLACEHOLDER, "idp-registration"))
    return env_file


def test_deploy_dry_run_prints_every_step_and_creates_secrets_once(tmp_path):
    env_file = tmp_path / "deploy.env"
    arguments = ("--host", "riskloop@203.0.113.10", "--domain", "risk.example.com", "--dry-run")
    first = _deploy(*arguments, env_file=env_file)
    # the secrets are made, the identity provider's settings only the operator can give
    assert first.returncode == 1 and f"{IDENTITY_PLACEHOLDER} placeholder" in first.stderr
    assert "RISKLOOP_OIDC_CLIENT_SECRET" in first.stderr
    result = _deploy(*arguments, env_file=_with_identity_provider(env_file))
    assert result.returncode == 0, result.stderr
    steps = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert len(steps) == 6
    assert all("riskloop@203.0.113.10" in step for step in steps)
    assert "tar -C" in steps[1] and "data/01_raw" in steps[1] and ".env" not in steps[1]
    assert "umask 077" in steps[2]
    assert "docker compose --env-file .env build" in steps[3]
    assert "systemctl enable riskloop.service riskloop-backup.timer" in steps[4]
    assert "/ready" in steps[5]
    assert "https://risk.example.com" not in result.stderr  # a dry run claims nothing is up
    # secrets: generated once (48 hex digits each), private, and kept for the next deployment
    secrets = dict(re.findall(r"(?m)^(\w+)=(.*)$", env_file.read_text()))
    for name in (
        "POSTGRES_PASSWORD",
        "RISKLOOP_ADMIN_TOKEN",
        "RISKLOOP_APPLICANT_REF_KEY",
        "GRAFANA_ADMIN_PASSWORD",
        "RISKLOOP_UI_COOKIE_SECRET",
    ):
        assert re.fullmatch(r"[0-9a-f]{48}", secrets[name]), name
    assert env_file.stat().st_mode & 0o077 == 0
    again = _deploy("--host", "riskloop@203.0.113.10", "--dry-run", env_file=env_file)
    assert (
        again.returncode == 0
        and dict(re.findall(r"(?m)^(\w+)=(.*)$", env_file.read_text()))["POSTGRES_PASSWORD"]
        == secrets["POSTGRES_PASSWORD"]
    )
    assert "--image" not in again.stdout and "compose --env-file .env build" in again.stdout


def test_deploy_with_a_published_image_pulls_instead_of_building(tmp_path):
    arguments = ("--host", "ops@192.0.2.7", "--image", "ghcr.io/acme/riskloop:v1", "--dry-run")
    _deploy(*arguments, env_file=tmp_path / "e.env")  # creates the secrets
    result = _deploy(*arguments, env_file=_with_identity_provider(tmp_path / "e.env"))
    assert result.returncode == 0, result.stderr
    assert "compose --env-file .env pull" in result.stdout
    assert "compose --env-file .env build" not in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--host", "203.0.113.10"], "--host must be user@address (received '203.0.113.10')"),
        (["--host", "a@b", "--domain", "bad domain"], "--domain must be a DNS name"),
        (["--host", "a@b", "--port", "22"], "unknown argument --port"),
    ],
)
def test_deploy_refuses_bad_arguments_with_a_message(tmp_path, arguments, message):
    result = _deploy(*arguments, "--dry-run", env_file=tmp_path / "e.env")
    assert result.returncode == 2 and message in result.stderr


def test_deploy_refuses_placeholder_secrets(tmp_path):
    env_file = tmp_path / "e.env"
    shutil.copy(DEPLOY_DIR / ".env.example", env_file)  # placeholders, as committed
    result = _deploy("--host", "a@192.0.2.1", "--dry-run", env_file=env_file)
    assert result.returncode == 1 and "change-me placeholder" in result.stderr


def test_riskloop_deploy_command_wraps_the_script():
    result = run(
        [venv_tool("riskloop"), "deploy", "--host", "bad-host", "--dry-run"], cwd=PROJECT_DIR
    )
    assert result.returncode == 2 and "--host must be user@address" in result.stderr


def test_cloud_init_is_a_cloud_config_that_prepares_docker_firewall_and_user():
    text = (DEPLOY_DIR / "cloud-init.yaml").read_text()
    assert text.startswith("#cloud-config\n")
    config = yaml.safe_load(text)
    assert {"packages", "users", "runcmd", "write_files"} <= set(config)
    assert "ufw" in config["packages"]
    (user,) = [u for u in config["users"] if isinstance(u, dict)]
    assert user["name"] == "riskloop" and user["lock_passwd"] is True
    commands = "\n".join(c if isinstance(c, str) else " ".join(c) for c in config["runcmd"])
    for expected in ("get.docker.com", "usermod -aG docker riskloop", "ufw allow 443/tcp",
                     "ufw allow 80/tcp", "ufw allow OpenSSH", "ufw --force enable"):  # fmt: skip
        assert expected in commands, expected
    assert config["ssh_pwauth"] is False
    for item in config["write_files"]:
        if item["path"].endswith(".json"):
            yaml.safe_load(item["content"])  # the daemon.json written is valid JSON/YAML


def test_cloud_init_passes_cloud_inits_own_schema_check(tmp_path):
    """`cloud-init schema` from Debian's cloud-init (.ci/run installs it): what a VM would run."""
    binary = shutil.which("cloud-init")
    if binary is None:
        pytest.skip("Debian's cloud-init is not installed (.ci/run installs it)")
    command = [binary, "schema", "--config-file"]
    result = run([*command, str(DEPLOY_DIR / "cloud-init.yaml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout
    # the check bites: a user entry cloud-init cannot apply is refused, naming it
    broken = tmp_path / "cloud-init.yaml"
    broken.write_text(
        (DEPLOY_DIR / "cloud-init.yaml").read_text().replace("lock_passwd: true", "lock_passwd: 3")
    )
    refused = run([*command, str(broken)])
    assert refused.returncode != 0 and "users.1" in refused.stdout + refused.stderr


def _render_caddyfile(environment: dict[str, str]) -> str:
    """Caddy's own substitution of ``{$NAME}`` / ``{$NAME:default}`` placeholders."""

    def substitute(match: re.Match) -> str:
        name, _, default = match.group(1).partition(":")
        return environment.get(name) or default

    return re.sub(
        r"\{\$([A-Z_]+(?::[^}]*)?)\}", substitute, (DEPLOY_DIR / "caddy/Caddyfile").read_text()
    )


@pytest.mark.parametrize(
    ("site", "expected_address"), [("risk.example.com", "risk.example.com"), ("", ":80")]
)
def test_caddyfile_renders_for_a_domain_and_without_one(site, expected_address):
    rendered = _render_caddyfile(
        {"RISKLOOP_SITE_ADDRESS": site, "RISKLOOP_ACME_EMAIL_OPTION": "email a@b.c"}
    )
    assert "{$" not in rendered
    assert re.search(rf"(?m)^{re.escape(expected_address)} \{{$", rendered)
    assert rendered.count("{") == rendered.count("}")
    for upstream in ("api:8000", "ui:8501", "grafana:3000"):
        assert f"reverse_proxy {upstream}" in rendered
    # the metrics stay on the internal network (test_stack.py checks it through Caddy)
    assert re.search(r"handle /metrics \{\s*respond 404\s*\}", rendered)
    if shutil.which("caddy"):  # Debian's caddy (.ci/run installs it)
        path = DEPLOY_DIR / "caddy" / "Caddyfile"
        # with and without an ACME e-mail (.env.example leaves it empty)
        for option in ("email a@b.c", ""):
            env = {
                **os.environ,
                "RISKLOOP_SITE_ADDRESS": site or ":80",
                "RISKLOOP_ACME_EMAIL_OPTION": option,
            }
            command = ["caddy", "adapt", "--config", str(path), "--adapter", "caddyfile"]
            result = run(command, env=env)
            assert result.returncode == 0, (option, result.stderr)
            if site:  # the e-mail goes to the ACME issuer, which only a domain gets
                assert ('"email":"a@b.c"' in result.stdout) == bool(option)


def test_systemd_units_start_the_stack_and_the_nightly_backup():
    service = (DEPLOY_DIR / "systemd/riskloop.service").read_text()
    assert "WorkingDirectory=/opt/riskloop/deploy" in service
    assert "ExecStart=/usr/bin/docker compose --env-file .env up -d" in service
    assert "WantedBy=multi-user.target" in service
    timer = (DEPLOY_DIR / "systemd/riskloop-backup.timer").read_text()
    assert "OnCalendar=*-*-* 02:30:00" in timer and "Persistent=true" in timer
    backup = (DEPLOY_DIR / "systemd/riskloop-backup.service").read_text()
    assert "--profile tools run --rm backup" in backup


# ---- backup and restore on the local PostgreSQL ------------------------------------------------


@pytest.fixture()
def scratch_database():
    """A throw-away database on the test server (dropped afterwards) and libpq variables."""
    if not POSTGRES_URL:
        pytest.skip("RISKLOOP_TEST_DATABASE_URL not set (no PostgreSQL for the round trip)")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore are not installed")
    environment = libpq_environment(POSTGRES_URL)
    name = f"riskloop_backup_{uuid.uuid4().hex[:10]}"
    created = run(["createdb", name], env=environment)
    assert created.returncode == 0, created.stderr
    yield name, environment
    run(["dropdb", "--if-exists", "--force", name], env=environment)


def _psql(database: str, sql: str, environment) -> str:
    result = run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql],
                 env=environment)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.postgres
def test_backup_then_restore_gives_back_the_same_rows_and_artifacts(scratch_database, tmp_path):
    database, environment = scratch_database
    _psql(database, "CREATE TABLE t (id int PRIMARY KEY, note text, at timestamptz);"
          " INSERT INTO t SELECT i, md5(i::text), now() FROM generate_series(1, 500) i;",
          environment)  # fmt: skip
    before = _psql(database, "SELECT count(*), md5(string_agg(note, ',' ORDER BY id)) FROM t",
                   environment)  # fmt: skip
    artifacts = tmp_path / "mlartifacts"
    (artifacts / "1" / "models").mkdir(parents=True)
    (artifacts / "1" / "models" / "scorer.json").write_text('{"version": 3}')
    environment = {**environment, "RISKLOOP_BACKUP_DATABASES": database}

    made = run([str(DEPLOY_DIR / "backup.sh"), str(tmp_path / "backups"), str(artifacts)],
               env=environment)  # fmt: skip
    assert made.returncode == 0, made.stderr
    folder = made.stdout.strip().splitlines()[-1]
    assert re.search(r"/riskloop-\d{8}T\d{6}Z$", folder)
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == [folder.rsplit("/", 1)[1]]

    # disaster: the database is gone and the artifacts are damaged
    assert run(["dropdb", "--force", database], env=environment).returncode == 0
    (artifacts / "1" / "models" / "scorer.json").write_text("damaged")
    (artifacts / "stray.txt").write_text("not in the backup")

    restored = run([str(DEPLOY_DIR / "restore.sh"), folder, str(artifacts)], env=environment)
    assert restored.returncode == 0, restored.stderr
    assert _psql(database, "SELECT count(*), md5(string_agg(note, ',' ORDER BY id)) FROM t",
                 environment) == before  # fmt: skip
    assert before.startswith("500|")
    assert (artifacts / "1" / "models" / "scorer.json").read_text() == '{"version": 3}'
    assert not (artifacts / "stray.txt").exists()


@pytest.mark.postgres
def test_restore_refuses_a_damaged_backup_and_touches_nothing(scratch_database, tmp_path):
    database, environment = scratch_database
    _psql(database, "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);", environment)
    environment = {**environment, "RISKLOOP_BACKUP_DATABASES": database}
    made = run([str(DEPLOY_DIR / "backup.sh"), str(tmp_path)], env=environment)
    folder = made.stdout.strip().splitlines()[-1]
    dump = next(p for p in (tmp_path).glob("riskloop-*/*.dump"))
    dump.write_bytes(dump.read_bytes()[:-10])  # truncated
    _psql(database, "INSERT INTO t VALUES (3)", environment)
    result = run([str(DEPLOY_DIR / "restore.sh"), folder], env=environment)
    assert result.returncode == 1 and "checksums" in result.stderr and "damaged" in result.stderr
    assert _psql(database, "SELECT count(*) FROM t", environment) == "3"  # database untouched
