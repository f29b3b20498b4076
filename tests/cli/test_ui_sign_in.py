"""Sign-in for ``riskloop ui`` and ``riskloop serve``: the Streamlit ``[auth]`` secrets the UI
gets (owner-only, what st.login needs, the ID token kept for the API), the verifier the API
gets, and the one-line refusals when sign-in is half configured or unusable, or the UI would
listen beyond loopback without it."""

from __future__ import annotations

import stat
import tomllib

import pytest
import typer
from typer.testing import CliRunner

from riskloop.cli import app, service
from riskloop.cli.service import _sign_in_options, _user_verifiers
from riskloop.serving.oidc import OIDCTokenVerifier
from riskloop.settings import Settings
from riskloop.ui.login import SignInConfig, write_auth_secrets

ISSUER = "https://login.example.com/realms/riskloop"


def _settings(tmp_path, **values) -> Settings:
    return Settings(project_dir=tmp_path, data_dir=tmp_path / "data", **values)


def test_the_secrets_hold_what_st_login_needs_owner_only(tmp_path):
    config = SignInConfig(
        issuer=ISSUER,
        client_id="riskloop-ui",
        client_secret='s3cr"et\\with quotes',
        ui_url="https://risk.example.com/",
        cookie_secret="a-cookie-secret",
    )
    path = write_auth_secrets(config, tmp_path / "sign-in")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert tomllib.loads(path.read_text()) == {
        "auth": {
            "redirect_uri": "https://risk.example.com/oauth2callback",
            "cookie_secret": "a-cookie-secret",
            "client_id": "riskloop-ui",
            "client_secret": 's3cr"et\\with quotes',
            "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration",
            "expose_tokens": ["id"],
        }
    }


def test_without_a_cookie_secret_each_start_gets_a_new_random_one(tmp_path):
    config = SignInConfig(ISSUER, "riskloop-ui", "secret", "http://localhost:8501")
    first = tomllib.loads(write_auth_secrets(config, tmp_path / "a").read_text())["auth"]
    second = tomllib.loads(write_auth_secrets(config, tmp_path / "b").read_text())["auth"]
    assert first["cookie_secret"] != second["cookie_secret"]
    assert len(first["cookie_secret"]) >= 32


def test_a_secrets_file_left_readable_is_made_owner_only_again(tmp_path):
    folder = tmp_path / "sign-in"
    folder.mkdir()
    (folder / "secrets.toml").write_text("old")
    (folder / "secrets.toml").chmod(0o644)
    config = SignInConfig(ISSUER, "riskloop-ui", "secret", "http://localhost:8501")
    assert stat.S_IMODE(write_auth_secrets(config, folder).stat().st_mode) == 0o600


def test_riskloop_ui_hands_streamlit_the_secrets_and_the_interface(tmp_path):
    settings = _settings(
        tmp_path,
        oidc_issuer=ISSUER,
        oidc_client_id="riskloop-ui",
        oidc_client_secret="secret",
        ui_url="https://risk.example.com",
    )
    options = _sign_in_options(settings, 8501, host="0.0.0.0")
    secrets_file = tmp_path / "data" / "ui-sign-in" / "secrets.toml"
    assert options == ["--secrets.files", str(secrets_file), "--server.address", "0.0.0.0"]
    auth = tomllib.loads(secrets_file.read_text())["auth"]
    assert auth["redirect_uri"] == "https://risk.example.com/oauth2callback"


def test_without_an_issuer_the_ui_adds_nothing_and_stays_on_loopback(tmp_path):
    assert _sign_in_options(_settings(tmp_path), 8501) == []
    assert _sign_in_options(_settings(tmp_path), 8501, host="127.0.0.1") == []
    assert not (tmp_path / "data" / "ui-sign-in").exists()


def test_half_configured_sign_in_is_refused_naming_what_is_missing(tmp_path, capsys):
    settings = _settings(tmp_path, oidc_issuer=ISSUER, oidc_client_id="riskloop-ui")
    with pytest.raises(typer.Exit) as refused:
        _sign_in_options(settings, 8501)
    assert refused.value.exit_code == 2
    said = capsys.readouterr().err
    assert "RISKLOOP_OIDC_CLIENT_SECRET" in said and "RISKLOOP_OIDC_CLIENT_ID" not in said


def test_the_ui_beyond_loopback_without_sign_in_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKLOOP_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("RISKLOOP_OIDC_ISSUER", raising=False)

    def must_not_start(*args, **kwargs):
        raise AssertionError("the UI was started beyond loopback without sign-in")

    # should the refusal regress, fail here instead of starting Streamlit and waiting on it
    monkeypatch.setattr(service, "_start_ui", must_not_start)
    result = CliRunner().invoke(app, ["ui", "--host", "0.0.0.0"], terminal_width=200)
    assert result.exit_code == 2
    assert "would listen on 0.0.0.0 without sign-in" in result.output
    assert "RISKLOOP_OIDC_ISSUER" in result.output


def test_riskloop_serve_accepts_the_issuers_tokens_for_the_ui_client(tmp_path):
    settings = _settings(
        tmp_path, oidc_issuer=ISSUER, oidc_client_id="riskloop-ui", oidc_roles_claim="groups"
    )
    (verifier,) = _user_verifiers(settings)
    assert isinstance(verifier, OIDCTokenVerifier)
    assert (verifier.issuer, verifier.audience, verifier.roles_claim) == (
        ISSUER,
        "riskloop-ui",
        "groups",
    )
    assert _user_verifiers(_settings(tmp_path)) == []


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"oidc_issuer": "http://login.example.com", "oidc_client_id": "ui"}, "https://"),
        ({"oidc_issuer": ISSUER}, "oidc_client_id"),
    ],
)
def test_riskloop_serve_refuses_an_unusable_issuer_in_one_line(tmp_path, capsys, values, named):
    with pytest.raises(typer.Exit) as refused:
        _user_verifiers(_settings(tmp_path, **values))
    assert refused.value.exit_code == 2
    assert named in capsys.readouterr().err


def test_with_sign_in_the_ui_process_holds_no_key_of_its_own(tmp_path, monkeypatch):
    """People act as themselves: the local admin key is not handed to a UI that signs in."""
    key_file = tmp_path / "local-admin.key"
    key_file.write_text("rlk_local_" + "k" * 43)
    for name, value in {
        "RISKLOOP_PROJECT_DIR": str(tmp_path),
        "RISKLOOP_DATA_DIR": str(tmp_path / "data"),
        "RISKLOOP_LOCAL_KEY_FILE": str(key_file),
        "RISKLOOP_OIDC_ISSUER": ISSUER,
        "RISKLOOP_OIDC_CLIENT_ID": "riskloop-ui",
        "RISKLOOP_OIDC_CLIENT_SECRET": "secret",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RISKLOOP_API_KEY", raising=False)
    started: list[dict] = []

    class FinishedProcess:
        def __init__(self, command, env):
            started.append({"command": command, "env": env})

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(service.subprocess, "Popen", FinishedProcess)
    result = CliRunner().invoke(app, ["ui", "--port", "8601"], terminal_width=200)
    assert result.exit_code == 0, result.output
    (process,) = started
    assert "RISKLOOP_API_KEY" not in process["env"]
    assert "--secrets.files" in process["command"]

    monkeypatch.delenv("RISKLOOP_OIDC_ISSUER")
    assert CliRunner().invoke(app, ["ui", "--port", "8601"]).exit_code == 0
    assert started[1]["env"]["RISKLOOP_API_KEY"] == "rlk_local_" + "k" * 43
