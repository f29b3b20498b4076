"""Settings: one typed object for riskloop (environment ``RISKLOOP_*`` over defaults), and the
constants Kedro reads from this module (``HOOKS``, config loader).

Nothing is created or connected here: :class:`Settings` only computes values; callers decide
what to open. MLflow's own ``MLFLOW_TRACKING_URI`` is honoured as MLflow users expect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from riskloop.provenance import PRIVATE_KEY_FILE as PRIVATE_KEY
from riskloop.provenance import PUBLIC_KEY_FILE as PUBLIC_KEY
from riskloop.registry import MlflowRunHook, ModelTrust

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


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
    # ---- model trust (riskloop.provenance)
    signing_key_file: Path | None = Field(
        None,
        description="the trainer's Ed25519 private key (PEM, mode 0600) that signs registered"
        " models; default data/keys/signing_key.pem, created by the first `riskloop run`",
    )
    trusted_keys: list[str] = Field(
        default_factory=list,
        description="public keys whose signed models load (PEM files, folders of them, base64"
        " raw keys; JSON list in the environment); empty: the local key of data/keys/",
    )
    artifact_roots: list[str] = Field(
        default_factory=list,
        description="folders/URI prefixes models may be loaded from; default: the artifact dir",
    )
    # ---- scoring service (riskloop serve)
    admin_token: SecretStr | None = Field(
        None, description="bearer token holding every role (32 bytes or more); unset: keys only"
    )
    api_key: SecretStr | None = Field(
        None, description="the key the UI and other clients send; default: the local key file"
    )
    local_key_file: Path | None = Field(
        None,
        description="the local admin key `riskloop serve` creates on loopback (owner-only);"
        " default: local-admin.key in the data folder",
    )
    auth_failure_limit: int = Field(
        20, gt=0, description="credential failures per client and window before 429"
    )
    auth_failure_window_s: float = Field(
        60.0, gt=0, description="the window of auth_failure_limit, in seconds"
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="proxies whose X-Forwarded-For names the client (comma-separated addresses"
        " or networks, * for any): the failure throttle counts that client; from other peers"
        " the header is ignored",
    )
    # ---- people signing in through OpenID Connect (riskloop.serving.oidc, the UI's st.login)
    oidc_issuer: str | None = Field(
        None,
        description="the identity provider's issuer URL (https); set: the UI requires sign-in"
        " and the API accepts its users' ID tokens; unset: no sign-in (the embedded default)",
    )
    oidc_client_id: str | None = Field(
        None, description="the UI's client id at the provider (the ID tokens' audience)"
    )
    oidc_client_secret: SecretStr | None = Field(
        None, description="the UI's client secret at the provider (the UI's sign-in only)"
    )
    oidc_roles_claim: str = Field(
        "roles", description="the ID token claim listing riskloop roles (dots reach nested)"
    )
    ui_url: str | None = Field(
        None,
        description="the UI's address as browsers reach it; sign-in returns to"
        " <ui_url>/oauth2callback; default http://localhost:<ui_port>",
    )
    ui_cookie_secret: SecretStr | None = Field(
        None,
        description="signs the UI's sign-in cookie; unset: a new random one at each start"
        " (people sign in again after a restart)",
    )
    max_body_bytes: int = Field(1_000_000, gt=0, description="larger request bodies get 413")
    max_batch_rows: int = Field(1_000, gt=0, description="most applications per batch request")
    # ---- overload and slow clients (riskloop.serving.admission, riskloop.serving.server)
    max_in_flight: int = Field(
        3, gt=0, description="requests processed at once; more wait (max_waiting) or get 503"
    )
    max_waiting: int = Field(
        16, ge=0, description="requests that may wait for a slot; beyond them: 503 at once"
    )
    max_wait_s: float = Field(
        0.01,
        ge=0,
        description="the longest a request waits, from when the server reads it to when its"
        " processing starts, before its 503",
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="a request's headers must arrive within this (else 408, closed)"
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="a request's body must arrive within this of its headers (408)"
    )
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
    # ---- personal data (riskloop.store.privacy, docs/privacy.md)
    applicant_ref_key: SecretStr | None = Field(
        None,
        description="the key (32 bytes or more) of the applicants' pseudonymous references"
        " (HMAC-SHA-256 of the lender's applicant id); unset: the local key file",
    )
    applicant_ref_key_file: Path | None = Field(
        None,
        description="where the local applicant reference key is created (owner-only) when"
        " RISKLOOP_APPLICANT_REF_KEY is unset; default: applicant-ref.key in the data folder",
    )

    @field_validator("admin_token")
    @classmethod
    def _admin_token_is_long(cls, token: SecretStr | None) -> SecretStr | None:
        """A guessable admin token would open every door: 32 bytes at least."""
        if token is not None and 0 < len(token.get_secret_value().encode()) < 32:
            raise ValueError(
                f"RISKLOOP_ADMIN_TOKEN must be at least 32 bytes (received"
                f" {len(token.get_secret_value().encode())}); make one with"
                " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return token

    @field_validator("applicant_ref_key")
    @classmethod
    def _applicant_ref_key_is_long(cls, key: SecretStr | None) -> SecretStr | None:
        """A short key would let anyone holding applicant ids recompute the references."""
        if key is not None and len(key.get_secret_value().encode()) < 32:
            raise ValueError(
                f"RISKLOOP_APPLICANT_REF_KEY must be at least 32 bytes (received"
                f" {len(key.get_secret_value().encode())}); make one with"
                " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return key

    @property
    def resolved_applicant_ref_key_file(self) -> Path:
        if self.applicant_ref_key_file is not None:
            return self.path(self.applicant_ref_key_file)
        return self.path(self.data_dir) / "applicant-ref.key"

    @property
    def privacy_config_path(self) -> Path:
        """The retention policy (:class:`riskloop.store.privacy.RetentionPolicy`)."""
        return self.conf_dir / "privacy.yml"

    @property
    def listens_on_loopback(self) -> bool:
        """The API binds to this machine only (nobody else can reach it)."""
        return self.api_host in LOOPBACK_HOSTS

    @property
    def resolved_local_key_file(self) -> Path:
        if self.local_key_file is not None:
            return self.path(self.local_key_file)
        return self.path(self.data_dir) / "local-admin.key"

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
    def resolved_signing_key_file(self) -> Path:
        return self.path(self.signing_key_file or self.path(self.data_dir) / "keys" / PRIVATE_KEY)

    def model_trust(self, extra_artifact_roots: tuple[str, ...] = ()) -> ModelTrust:
        """The keys and artifact roots a model must satisfy to load. Without configured keys,
        the local public key beside the default signing key is trusted (zero configuration);
        configured keys replace it."""
        local = self.path(self.data_dir) / "keys" / PUBLIC_KEY
        roots = self.artifact_roots or [str(self.resolved_artifact_dir)]
        return ModelTrust(
            key_sources=tuple(self.trusted_keys),
            artifact_roots=(*roots, *extra_artifact_roots),
            local_key_file=None if self.trusted_keys else local,
        )

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
