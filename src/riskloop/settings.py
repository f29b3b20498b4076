"""Settings: one typed object for riskloop (environment ``RISKLOOP_*`` over defaults), and the
constants Kedro reads from this module (``HOOKS``, config loader).

Nothing is created or connected here: :class:`Settings` only computes values; callers decide
what to open. MLflow's own ``MLFLOW_TRACKING_URI`` is honoured as MLflow users expect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from riskloop.registry import MlflowRunHook


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding riskloop's ``pyproject.toml``: upwards from ``start`` (default cwd)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "[tool.kedro]" in candidate.read_text():
            return folder
    return here


class Settings(BaseSettings):
    """Runtime settings. Every field can be set with ``RISKLOOP_<FIELD>`` in the environment."""

    # validate_by_name: Settings(tracking_uri=...) works although the field has env aliases
    model_config = SettingsConfigDict(env_prefix="RISKLOOP_", extra="ignore", validate_by_name=True)

    project_dir: Path = Field(default_factory=find_project_dir)
    scenario_file: Path = Path("conf/base/scenarios/credit.yml")
    data_dir: Path = Path("data")
    database_url: str | None = Field(
        None, description="prediction log; default: SQLite file in the data folder"
    )
    tracking_uri: str | None = Field(
        None,
        # MLflow users set MLFLOW_TRACKING_URI; riskloop's own name wins when both are set
        validation_alias=AliasChoices("RISKLOOP_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        description="MLflow tracking/registry; default: SQLite file in the project folder",
    )
    model_alias: str = "champion"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    ui_port: int = 8501
    api_url: str | None = Field(None, description="where the UI finds the API")
    artifact_dir: Path | None = Field(
        None, description="artifact folder of experiments riskloop creates; default mlartifacts/"
    )
    # ---- scoring service (riskloop serve)
    admin_token: SecretStr | None = Field(
        None, description="bearer token of the admin routes; unset: admin routes are disabled"
    )
    max_body_bytes: int = Field(1_000_000, gt=0, description="larger request bodies get 413")
    max_batch_rows: int = Field(1_000, gt=0, description="most applications per batch request")
    reload_interval_s: float = Field(
        60.0, ge=0, description="how often to check whether the champion moved; 0 = never"
    )
    shadow_alias: str | None = Field(
        None,
        description="registry alias of a shadow model scoring live traffic (logged, never"
        " returned), e.g. challenger; unset: no shadow scoring",
    )
    log_max_batch_rows: int = Field(512, gt=0, description="most rows per prediction-log commit")
    log_linger_ms: float = Field(
        0.0, ge=0, description="how long the log writer waits to fill a commit"
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL", description="SQLite prediction log: NORMAL survives kill -9, FULL power loss"
    )

    def path(self, value: Path) -> Path:
        return value if value.is_absolute() else self.project_dir / value

    @property
    def scenario_path(self) -> Path:
        return self.path(self.scenario_file)

    @property
    def conf_dir(self) -> Path:
        """Kedro's base configuration folder: every YAML file riskloop reads lives here."""
        return self.project_dir / "conf" / "base"

    @property
    def monitoring_config_path(self) -> Path:
        """The monitor's windows and alert rules (:mod:`riskloop.monitoring.config`)."""
        return self.conf_dir / "monitoring.yml"

    @property
    def retraining_config_path(self) -> Path:
        """The retraining policy and simulation defaults (:mod:`riskloop.retraining.config`)."""
        return self.conf_dir / "retraining.yml"

    @property
    def gate_thresholds_path(self) -> Path:
        """The promotion gate's thresholds (registration and retraining share them)."""
        return self.conf_dir / "parameters_promotion.yml"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.path(self.data_dir) / 'predictions.db'}"

    @property
    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or f"sqlite:///{self.project_dir / 'mlflow.db'}"

    @property
    def resolved_artifact_dir(self) -> Path:
        """Where MLflow experiments created by riskloop keep their artifacts."""
        return self.path(self.artifact_dir or Path("mlartifacts"))

    @property
    def resolved_api_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"


# ---- read by Kedro (kedro.framework.project.settings) -----------------------------------
# The hook builds the settings when a run starts (the class is the factory): the environment is
# read at the edge, when Kedro runs, never when this module is imported.
HOOKS = (MlflowRunHook(Settings),)
# CONFIG_LOADER_CLASS stays Kedro's default (OmegaConfigLoader): importing Kedro here would put
# it on the API's import path, and the API image carries no Kedro.
CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}
