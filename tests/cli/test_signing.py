"""``riskloop signing``: keygen writes an owner-only key pair and never overwrites one; verify
checks a registered version the way the service does."""

from __future__ import annotations

import stat

from typer.testing import CliRunner

from riskloop import provenance
from riskloop.cli import app

runner = CliRunner()


def test_keygen_writes_an_owner_only_pair_once(tmp_path):
    made = runner.invoke(app, ["signing", "keygen", "--out", str(tmp_path / "k")])
    assert made.exit_code == 0, made.output
    private = tmp_path / "k" / provenance.PRIVATE_KEY_FILE
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = provenance.load_signing_key(private)
    assert key.key_id in made.output
    trusted = provenance.load_trusted_keys([str(tmp_path / "k" / provenance.PUBLIC_KEY_FILE)])
    assert set(trusted) == {key.key_id}
    again = runner.invoke(app, ["signing", "keygen", "--out", str(tmp_path / "k")])
    assert again.exit_code == 2 and "never overwritten" in again.output
    assert provenance.load_signing_key(private).key_id == key.key_id


def test_verify_accepts_the_champion_and_refuses_an_untrusted_key(
    trained_project, tmp_path, monkeypatch
):
    verified = runner.invoke(app, ["signing", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "signature and every file verified" in verified.output
    other = provenance.write_key_pair(tmp_path)
    monkeypatch.setenv(
        "RISKLOOP_TRUSTED_KEYS", f'["{tmp_path / provenance.PUBLIC_KEY_FILE}"]'
    )  # a deployment that trusts another key only: the local key is no longer trusted
    refused = runner.invoke(app, ["signing", "verify", "--version", "1"])
    assert refused.exit_code == 1, refused.output
    assert "not trusted" in refused.output and other.key_id in refused.output


def test_run_with_a_signing_key_others_can_read_stops_before_training(tmp_path, monkeypatch):
    provenance.write_key_pair(tmp_path / "k")
    private = tmp_path / "k" / provenance.PRIVATE_KEY_FILE
    private.chmod(0o644)
    monkeypatch.setenv("RISKLOOP_SIGNING_KEY_FILE", str(private))
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RISKLOOP_ARTIFACT_DIR", str(tmp_path / "mlartifacts"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2, result.output
    assert "permissions 0644 let others read it" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "data" / "06_models").exists()  # nothing was trained
