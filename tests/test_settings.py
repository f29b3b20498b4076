"""The settings read the environment once, at the edge, and the Kedro hook takes the tracking
store it is handed: the settings' one, or the workspace a caller names for its run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from riskloop import registry
from riskloop.registry import WORKSPACE_PARAM, MlflowRunHook, workspace_params
from riskloop.settings import HOOKS, Settings


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, None),
        ({"MLFLOW_TRACKING_URI": "http://mlflow:5000"}, "http://mlflow:5000"),
        ({"RISKLOOP_TRACKING_URI": "sqlite:///r.db"}, "sqlite:///r.db"),
        (
            {"RISKLOOP_TRACKING_URI": "sqlite:///r.db", "MLFLOW_TRACKING_URI": "http://m"},
            "sqlite:///r.db",
        ),
    ],
)
def test_the_tracking_uri_comes_from_riskloop_or_mlflow_names(
    monkeypatch, tmp_path, environment, expected
):
    for name in ("MLFLOW_TRACKING_URI", "RISKLOOP_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings(project_dir=tmp_path)
    assert settings.tracking_uri == expected
    assert settings.resolved_tracking_uri == (expected or f"sqlite:///{tmp_path / 'mlflow.db'}")


def test_a_value_passed_by_name_wins_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://from-the-environment")
    assert Settings(tracking_uri="sqlite:///given.db").tracking_uri == "sqlite:///given.db"


def test_the_configuration_files_are_named_once(tmp_path):
    settings = Settings(project_dir=tmp_path)
    conf = tmp_path / "conf" / "base"
    assert settings.monitoring_config_path == conf / "monitoring.yml"
    assert settings.retraining_config_path == conf / "retraining.yml"
    assert settings.gate_thresholds_path == conf / "parameters_promotion.yml"


def test_kedro_gets_a_hook_that_builds_the_settings_when_a_run_starts():
    [hook] = HOOKS
    assert isinstance(hook, MlflowRunHook) and hook._settings is Settings


class _Catalog:
    def __init__(self, parameters: dict) -> None:
        self.datasets = {"scenario": SimpleNamespace(name="toy"), "parameters": parameters}

    def load(self, name: str):
        return self.datasets[name]


@pytest.mark.parametrize("given", [True, False], ids=["workspace", "settings"])
def test_the_hook_sends_the_run_where_it_is_told(tmp_path, given):
    import mlflow
    from mlflow.tracking import MlflowClient

    def settings():
        return Settings(
            project_dir=tmp_path,
            data_dir=tmp_path / "data",
            tracking_uri=f"sqlite:///{tmp_path / 'settings.db'}",
            artifact_dir=tmp_path / "settings-artifacts",
        )

    workspace = workspace_params(f"sqlite:///{tmp_path / 'workspace.db'}", tmp_path / "ws")
    runtime = workspace if given else {}
    hook = MlflowRunHook(settings)
    previous = registry.current_tracking_uri()
    try:
        with registry.restoring_trust():
            hook.before_pipeline_run(
                {"runtime_params": runtime, "pipeline_name": "p"},
                None,
                _Catalog({"a": 1, **runtime}),
            )
            run = mlflow.active_run()
            assert run is not None
            logged = MlflowClient().get_run(run.info.run_id).data.params
            # the run signs with the settings' key (made on first use) and trusts it and its
            # workspace's artifacts
            trust = registry.configured_trust()
            assert (tmp_path / "data/keys/signing_key.pem").is_file()
            assert len(trust.trusted_keys()) == 1
            assert str(tmp_path / "ws") in trust.artifact_roots or not given
            hook.after_pipeline_run({}, None, None)
    finally:
        registry.configure(previous)
    # the workspace is where the run goes, never a logged parameter (a URI may hold a password)
    assert logged == {"a": "1", "scenario": "toy"}
    used, unused = ("workspace", "settings") if given else ("settings", "workspace")
    assert (tmp_path / f"{used}.db").exists() and not (tmp_path / f"{unused}.db").exists()
    assert WORKSPACE_PARAM not in logged
