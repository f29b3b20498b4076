"""``riskloop keys``: a key is printed once and works, the list never shows a secret or a
hash, revocation is recorded, bad input is one line and exit 2, and each change is an audit
event by ``cli:<os user>``."""

from __future__ import annotations

import getpass
import stat

import pytest
import typer
from typer.testing import CliRunner

from riskloop.cli import app
from riskloop.cli.keys import ensure_local_admin_key, refuse_without_credentials
from riskloop.serving.auth import ApiKeyVerifier
from riskloop.serving.identity import InvalidCredential, Role
from riskloop.store import ApiKeyStore, MonitoringStore, PredictionStore


@pytest.fixture()
def run(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    monkeypatch.setenv("RISKLOOP_DATABASE_URL", url)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["keys", *args], terminal_width=200)

    invoke.url = url
    return invoke


def test_create_prints_the_key_once_and_it_verifies(run):
    created = run("create", "--name", "origination", "--role", "scorer", "--role", "outcomes")
    assert created.exit_code == 0, created.output
    key = next(word for word in created.output.split() if word.startswith("rlk_"))
    engine = PredictionStore(run.url).engine
    principal = ApiKeyVerifier(ApiKeyStore(engine)).verify(key)
    assert principal.name == "key:origination"
    assert principal.roles == {Role.SCORER, Role.OUTCOMES}
    listed = run("list")
    assert "origination" in listed.output and "active" in listed.output
    assert key.split("_")[-1] not in listed.output and "rlk_" not in listed.output
    assert ApiKeyStore(engine).list()[0].secret_sha256 not in listed.output
    revoked = run("revoke", "origination")
    assert revoked.exit_code == 0 and "revoked" in run("list").output
    with pytest.raises(InvalidCredential, match="revoked"):
        ApiKeyVerifier(ApiKeyStore(engine)).verify(key)
    events = MonitoringStore(engine).audit_events()
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("api_key_created", f"cli:{getpass.getuser()}"),
        ("api_key_revoked", f"cli:{getpass.getuser()}"),
    ]
    assert key not in str(events)


def test_an_expiry_is_stored(run):
    assert run("create", "--name", "temp", "--role", "analyst", "--expires", "12h").exit_code == 0
    (record,) = ApiKeyStore(PredictionStore(run.url).engine).list()
    assert (record.expires_at - record.created_at).total_seconds() == 12 * 3600


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["create", "--name", "a", "--role", "boss"], "--role must be one of"),
        (["create", "--name", "a", "--role", "scorer", "--expires", "5y"], "received '5y'"),
        (["create", "--name", "a b", "--role", "scorer"], "--name must be"),
        (["revoke", "nobody"], "no key is named 'nobody'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(run, args, says):
    result = run(*args)
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output


def test_a_duplicate_name_is_refused(run):
    assert run("create", "--name", "dup", "--role", "scorer").exit_code == 0
    again = run("create", "--name", "dup", "--role", "admin")
    assert again.exit_code == 2 and "'dup' already exists" in again.output


def test_the_local_admin_key_is_created_once_owner_only_and_reused(tmp_path):
    keys = ApiKeyStore(PredictionStore(f"sqlite:///{tmp_path / 'p.db'}").engine)
    path = tmp_path / "data" / "local-admin.key"
    key, created = ensure_local_admin_key(path, keys)
    assert created and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ApiKeyVerifier(keys).verify(key).roles == {Role.ADMIN}  # admin opens every route
    assert ensure_local_admin_key(path, keys) == (key, False)
    keys.revoke("local-admin")  # a revoked (or foreign) key in the file is replaced
    path.chmod(0o644)
    fresh, created = ensure_local_admin_key(path, keys)
    assert created and fresh != key and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_beyond_loopback_serve_refuses_to_start_without_any_credential(run, tmp_path, monkeypatch):
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"], terminal_width=200)
    assert result.exit_code == 2, result.output
    assert "riskloop keys create" in result.output and "Traceback" not in result.output
    keys = ApiKeyStore(PredictionStore(run.url).engine)
    with pytest.raises(typer.Exit):
        refuse_without_credentials(keys, admin_token=False, oidc_issuer=False)
    refuse_without_credentials(keys, admin_token=True, oidc_issuer=False)
    keys.create("ops", ["admin"])
    refuse_without_credentials(keys, admin_token=False, oidc_issuer=False)


def test_the_local_key_file_is_in_the_data_folder_unless_set(tmp_path):
    from riskloop.settings import Settings

    data = tmp_path / "data"
    assert Settings(data_dir=data).resolved_local_key_file == data / "local-admin.key"
    chosen = tmp_path / "elsewhere.key"
    assert Settings(data_dir=data, local_key_file=chosen).resolved_local_key_file == chosen
    assert Settings(api_host="0.0.0.0").listens_on_loopback is False
    assert all(Settings(api_host=h).listens_on_loopback for h in ("127.0.0.1", "::1", "localhost"))
