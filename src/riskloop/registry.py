"""MLflow: tracking runs, the model registry, aliases and lineage.

Every training run logs its parameters, metrics, the data file's SHA-256 and the git commit.
Every trained scorer becomes a new version of the scenario's registered model; the alias
``champion`` marks the one the service must load. The scorer is stored as an MLflow pyfunc
whose loader is the installed :mod:`riskloop.mlflow_model` (the artifact holds no code) and whose
data is the safe JSON + npz directory.

Model trust (:mod:`riskloop.provenance`): :func:`register_scorer` signs the manifest of every
file of the stored model with the trainer's key; :func:`load_scorer` refuses a model whose
artifact lies outside the trusted artifact roots *before* downloading anything, then verifies
the signature and every file before the scorer is read. The keys and roots are a
:class:`ModelTrust` handed in, or the one configured for the process at the edge
(:func:`configure_trust`, which the Kedro hook and the CLI call), like the tracking URI.

``mlflow`` is imported inside functions: importing this module is free, as Kedro reads
:class:`MlflowRunHook` from the settings module at start-up. This module reads no settings and
no environment: the hook is handed a settings factory by :mod:`riskloop.settings` (Kedro's
settings module, the edge), and a caller running a pipeline in-process can point the run at
another tracking store with :func:`workspace_params`.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlparse

import pluggy

from riskloop import provenance

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from riskloop.scorer import Scorer

log = logging.getLogger(__name__)

CHAMPION = "champion"
SHA_TAG = "scorer_sha256"
# hints only (whoever writes the registry writes tags): the signed artifact is what counts
MANIFEST_TAG = "manifest_sha256"
SIGNING_KEY_TAG = "signing_key_id"
LOADER_MODULE = "riskloop.mlflow_model"
SCORER_DATA = "data/scorer"  # where MLflow puts the scorer folder inside the model
# Kedro's hook marker (kedro.framework.hooks.hook_impl is exactly this), made without importing
# Kedro: the API imports this module and its image carries no Kedro.
hook_impl = pluggy.HookimplMarker("kedro")


# The runtime parameter under which an in-process caller names the run's tracking store.
WORKSPACE_PARAM = "mlflow_workspace"


class TrackingSettings(Protocol):
    """What the hook needs of the settings (:class:`riskloop.settings.Settings` has it)."""

    project_dir: Path

    @property
    def resolved_tracking_uri(self) -> str: ...

    @property
    def resolved_artifact_dir(self) -> Path: ...

    @property
    def resolved_signing_key_file(self) -> Path: ...

    def model_trust(self, extra_artifact_roots: tuple[str, ...] = ()) -> ModelTrust: ...


@dataclass(frozen=True)
class ModelTrust:
    """What a registered model must satisfy before any of it is read.

    Parameters
    ----------
    key_sources : tuple of str
        Trusted public keys: PEM files, folders of them, or base64 raw keys
        (:func:`riskloop.provenance.load_trusted_keys`); read at each load, so a key added to a
        folder is trusted without a restart.
    artifact_roots : tuple of str
        Folders (or ``file:``/remote URI prefixes) a model's artifact must lie under.
    local_key_file : Path, optional
        The local public key, trusted when it exists (the zero-configuration default; None as
        soon as keys are configured).
    """

    key_sources: tuple[str, ...]
    artifact_roots: tuple[str, ...]
    local_key_file: Path | None = None

    def trusted_keys(self) -> dict[str, Ed25519PublicKey]:
        sources = list(self.key_sources)
        if self.local_key_file is not None and self.local_key_file.is_file():
            sources.append(str(self.local_key_file))
        return provenance.load_trusted_keys(sources)

    def check_artifact_root(self, artifact_uri: str) -> None:
        """Refuse ``artifact_uri`` unless it lies under one of the roots (reads no file)."""
        if not any(_is_under(artifact_uri, root) for root in self.artifact_roots):
            raise ArtifactRootError(
                f"the model's artifacts are at {artifact_uri}, outside the trusted artifact roots"
                f" ({', '.join(self.artifact_roots) or 'none configured'}); refusing to read"
                " them (set RISKLOOP_ARTIFACT_ROOTS to trust another location)"
            )


class ArtifactRootError(provenance.ProvenanceError):
    """A registered model whose artifacts lie outside the trusted artifact roots."""


def _local_path(uri: str) -> Path | None:
    """The local path of a plain path or ``file:`` URI; None for a remote location."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(uri)
    return None


def _is_under(uri: str, root: str) -> bool:
    path, root_path = _local_path(uri), _local_path(root)
    if path is not None and root_path is not None:
        # resolved: no ``..`` and no symbolic link leads out of the root
        return path.resolve().is_relative_to(root_path.resolve())
    if path is None and root_path is None:
        segments = urlparse(uri).path.split("/")
        prefix = root.rstrip("/") + "/"
        return ".." not in segments and (uri.rstrip("/") + "/").startswith(prefix)
    return False


# The trust and signing key of this process, configured at the edge (CLI, Kedro hook).
_configured: dict[str, Any] = {"trust": None, "signing_key": None}


def configure_trust(
    trust: ModelTrust | None, signing_key: provenance.SigningKey | None = None
) -> None:
    """Set the :class:`ModelTrust` loads use and the key registrations sign with, when a caller
    passes none (the edge calls this, as it calls :func:`configure`)."""
    _configured.update(trust=trust, signing_key=signing_key)


@contextmanager
def restoring_trust() -> Iterator[None]:
    """Put the process's trust and signing key back as they were when the block ends (around a
    pipeline run, whose hook configures its own)."""
    saved = dict(_configured)
    try:
        yield
    finally:
        _configured.update(saved)


def current_trust() -> ModelTrust | None:
    """The trust configured for this process, or None when the edge configured none."""
    trust: ModelTrust | None = _configured["trust"]
    return trust


def configured_trust() -> ModelTrust:
    """The trust configured for this process; refuses to go on without one."""
    trust = current_trust()
    if trust is None:
        raise provenance.UnknownKeyError(
            "no trusted model keys are configured in this process; refusing to load a model"
            " (riskloop's commands configure them from RISKLOOP_TRUSTED_KEYS or the local key)"
        )
    return trust


def workspace_params(tracking_uri: str, artifact_dir: Path) -> dict[str, Any]:
    """Runtime parameters that send a pipeline run's MLflow run, registered versions and
    artifacts to ``tracking_uri`` / ``artifact_dir`` instead of the settings' (the simulator's
    own workspace). :class:`MlflowRunHook` reads them; they are not logged as parameters.

    Parameters
    ----------
    tracking_uri : str
        MLflow tracking and registry URI of the run.
    artifact_dir : Path
        Artifact folder of the experiment, if the run has to create it.
    """
    return {WORKSPACE_PARAM: {"tracking_uri": tracking_uri, "artifact_dir": str(artifact_dir)}}


def current_tracking_uri() -> str:
    """The tracking URI MLflow is pointed at now (to restore it after a detour)."""
    import mlflow

    return mlflow.get_tracking_uri()


def configure(tracking_uri: str) -> None:
    """Point MLflow at the tracking/registry store (no connection is opened here)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)


def use_experiment(name: str, artifact_dir: Path) -> str:
    """Create the experiment (artifacts under ``artifact_dir``) if needed; make it active."""
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        artifact_dir.mkdir(parents=True, exist_ok=True)
        experiment_id = mlflow.create_experiment(name, artifact_location=artifact_dir.as_uri())
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def current_git_commit(folder: Path) -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = value
    return out


class MlflowRunHook:
    """Kedro hook: one MLflow run per pipeline run, with parameters and lineage tags.

    Parameters
    ----------
    settings : callable
        Builds the settings when a run starts (``riskloop.settings.Settings``: read then, not
        when Kedro imports its settings module). The run's ``mlflow_workspace`` runtime
        parameter (:func:`workspace_params`), when given, overrides their tracking store.
    """

    def __init__(self, settings: Callable[[], TrackingSettings]) -> None:
        self._settings = settings
        self._owns_run = False

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        import mlflow

        settings = self._settings()
        workspace = (run_params.get("runtime_params") or {}).get(WORKSPACE_PARAM) or {}
        configure(workspace.get("tracking_uri") or settings.resolved_tracking_uri)
        artifact_dir = workspace.get("artifact_dir")
        # the run signs what it registers (a local key pair is made on first use) and trusts
        # what its own settings trust, plus the workspace it writes to
        configure_trust(
            settings.model_trust((str(artifact_dir),) if artifact_dir else ()),
            provenance.ensure_signing_key(settings.resolved_signing_key_file),
        )
        scenario = catalog.load("scenario")
        use_experiment(
            scenario.name, Path(artifact_dir) if artifact_dir else settings.resolved_artifact_dir
        )
        self._owns_run = mlflow.active_run() is None
        if self._owns_run:
            mlflow.start_run(run_name=run_params.get("pipeline_name") or "__default__")
        # the workspace is where the run goes, not how the model was made (and a tracking URI
        # may carry a password)
        parameters = {k: v for k, v in catalog.load("parameters").items() if k != WORKSPACE_PARAM}
        params = _flatten("", parameters, {})
        params["scenario"] = scenario.name
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.set_tags(
            {"git_commit": current_git_commit(settings.project_dir), "scenario": scenario.name}
        )

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        """Reports go to the run as artifacts; the candidate table also as nested runs."""
        import mlflow

        if dataset_name not in REPORT_ARTIFACTS or mlflow.active_run() is None:
            return
        if dataset_name == "model_comparison":
            log_candidate_runs(data)
        log_report(REPORT_ARTIFACTS[dataset_name], data)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._end("FINISHED")

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        self._end("FAILED")

    def _end(self, status: str) -> None:
        import mlflow

        if self._owns_run and mlflow.active_run() is not None:
            mlflow.end_run(status=status)
        self._owns_run = False


# Catalog datasets logged to the run as artifacts when saved, by artifact file name.
REPORT_ARTIFACTS = {
    "model_comparison": "reports/model_comparison.csv",
    "business_impact": "reports/business_impact.json",
    "business_impact_plot": "reports/business_impact.png",
    "fairness_report": "reports/fairness.json",
    "explanation_report": "reports/explanations.json",
    "shap_importance_plot": "reports/shap_importance.png",
    "model_card": "reports/model_card.md",
    "test_predictions": "reports/test_predictions.csv",
    "baseline_policies": "reports/baseline_policies.json",
}


def log_report(artifact_file: str, data: Any) -> None:
    """Log one report (DataFrame, dict, text or matplotlib figure) to the active run."""
    import mlflow
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        mlflow.log_text(data.to_csv(index=False), artifact_file)
    elif isinstance(data, dict | list):
        # what mlflow.log_dict writes for a .json file, for lists too (its signature says dict)
        mlflow.log_text(json.dumps(data, indent=2, default=str), artifact_file)
    elif isinstance(data, str):
        mlflow.log_text(data, artifact_file)
    elif hasattr(data, "savefig"):
        mlflow.log_figure(data, artifact_file)
    else:
        log.warning("not logging %s: unsupported type %s", artifact_file, type(data).__name__)


def log_candidate_runs(comparison: Any) -> None:
    """One nested run per compared candidate or baseline: its parameters and metrics."""
    import math

    import mlflow

    for row in comparison.to_dict("records"):
        with mlflow.start_run(run_name=str(row["name"]), nested=True):
            mlflow.set_tags({"kind": str(row.get("kind")), "selected": str(row.get("selected"))})
            params = row.get("params")
            if isinstance(params, dict) and params:
                mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            mlflow.log_metrics(
                {
                    k: float(v)
                    for k, v in row.items()
                    if isinstance(v, int | float)
                    and not isinstance(v, bool)
                    and math.isfinite(float(v))
                }
            )


@dataclass(frozen=True)
class ModelVersionInfo:
    name: str
    version: str
    aliases: list[str]
    run_id: str | None
    tags: dict[str, str]


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def log_metrics(metrics: dict[str, float], prefix: str = "") -> None:
    import mlflow

    mlflow.log_metrics({f"{prefix}{k}": float(v) for k, v in metrics.items()})


def register_scorer(
    scorer: Scorer,
    model_name: str,
    tags: dict[str, str],
    signing_key: provenance.SigningKey | None = None,
) -> ModelVersionInfo:
    """Log ``scorer`` as a pyfunc model in the active run, sign it and register it as a new
    version.

    The model is logged first; what the store then holds is downloaded, every file listed in
    the manifest and signed (:func:`riskloop.provenance.sign_model`), and the manifest and its
    signature are added to the same model before it is registered. So the signature covers
    exactly the stored bytes, ``MLmodel`` included.

    Parameters
    ----------
    scorer : Scorer
        The scorer to register.
    model_name : str
        The registered model it becomes a version of.
    tags : dict of str to str
        Tags of the new version.
    signing_key : SigningKey, optional
        The trainer's key; default: the one configured for the process
        (:func:`configure_trust`; a ``riskloop run`` configures its own).
    """
    import mlflow

    key = signing_key or _configured["signing_key"]
    if key is None:
        raise provenance.KeyFileError(
            f"no signing key to register {model_name} with: register inside `riskloop run`"
            " (it makes a local key) or set RISKLOOP_SIGNING_KEY_FILE"
        )
    with tempfile.TemporaryDirectory() as tmp:
        scorer_dir = Path(tmp) / "scorer"
        digest = scorer.save(scorer_dir)
        info = mlflow.pyfunc.log_model(
            name="scorer",
            loader_module=LOADER_MODULE,
            data_path=str(scorer_dir),
            pip_requirements=_requirements(),
        )
        # the files exactly as stored (a models:/ download would add MLflow's own metadata)
        location = _client().get_logged_model(info.model_id).artifact_location
        stored = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=location, dst_path=str(Path(tmp) / "stored")
            )
        )
        content_digest = provenance.sign_model(stored, key)
        signature_dir = Path(tmp) / "signature"
        signature_dir.mkdir()
        for name in (provenance.MANIFEST_FILE, provenance.SIGNATURE_FILE):
            (signature_dir / name).write_bytes((stored / name).read_bytes())
        _client().log_model_artifacts(info.model_id, str(signature_dir))
    version = str(mlflow.register_model(info.model_uri, model_name).version)
    client = _client()
    hints = {SHA_TAG: digest, MANIFEST_TAG: content_digest, SIGNING_KEY_TAG: key.key_id}
    for tag, value in {**tags, **hints}.items():
        client.set_model_version_tag(model_name, version, tag, str(value))
    return get_version(model_name, version)


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("mlflow", "numpy", "pandas", "scikit-learn")]


def get_version(model_name: str, version: str) -> ModelVersionInfo:
    """A registered version; :class:`RegistryError` when the model or version does not exist."""
    with _refusals_as_registry_errors():
        mv = _client().get_model_version(model_name, version)
    return ModelVersionInfo(model_name, str(mv.version), list(mv.aliases), mv.run_id, dict(mv.tags))


def version_for_alias(model_name: str, alias: str = CHAMPION) -> ModelVersionInfo | None:
    """The version behind ``alias``, or None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        mv = _client().get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None
    return ModelVersionInfo(model_name, str(mv.version), list(mv.aliases), mv.run_id, dict(mv.tags))


def set_alias(model_name: str, version: str, alias: str = CHAMPION) -> None:
    """Point ``alias`` of ``model_name`` at ``version``."""
    with _refusals_as_registry_errors():
        _client().set_registered_model_alias(model_name, alias, version)


def delete_alias(model_name: str, alias: str) -> None:
    """Remove ``alias`` from ``model_name`` (the version it pointed at stays registered)."""
    with _refusals_as_registry_errors():
        _client().delete_registered_model_alias(model_name, alias)


def set_version_tags(model_name: str, version: str, tags: dict[str, str]) -> None:
    """Set ``tags`` (name → text) on a registered version, over any of the same name."""
    with _refusals_as_registry_errors():
        client = _client()
        for key, value in tags.items():
            client.set_model_version_tag(model_name, version, key, value)


def log_decision_run(
    experiment: str,
    artifact_dir: Path,
    run_name: str,
    tags: dict[str, str],
    metrics: dict[str, float],
) -> None:
    """Record a decision taken outside a pipeline run as one finished MLflow run of its own in
    ``experiment`` (created with artifacts under ``artifact_dir`` if needed).

    Parameters
    ----------
    experiment : str
        Experiment name (the scenario's).
    artifact_dir : Path
        Where the experiment keeps artifacts, if this call creates it.
    run_name : str
        Name of the run in the MLflow UI.
    tags : dict of str to str
        Tags of the run (what was decided and why).
    metrics : dict of str to float
        Figures the decision was taken on.
    """
    import mlflow

    use_experiment(experiment, artifact_dir)
    with mlflow.start_run(run_name=run_name):
        mlflow.set_tags(tags)
        mlflow.log_metrics(metrics)


class RegistryError(Exception):
    """The model registry refused an operation (no such model, version or alias; the store is
    unreachable); the message is the registry's own and names what was asked for."""


@contextmanager
def _refusals_as_registry_errors() -> Iterator[None]:
    """MLflow's refusals as :class:`RegistryError`, so callers catch them without MLflow."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as error:
        raise RegistryError(error.message) from error


def artifact_location(model_name: str, version: str, trust: ModelTrust) -> str:
    """Where a version's files are, checked against the trusted roots (nothing is read)."""
    with _refusals_as_registry_errors():
        uri = str(_client().get_model_version_download_uri(model_name, version))
    trust.check_artifact_root(uri)
    return uri


def download_verified(
    model_name: str, version: str, destination: Path, trust: ModelTrust | None = None
) -> tuple[Path, str]:
    """Download a registered model into ``destination`` and prove its origin.

    Returns
    -------
    (Path, str)
        The local model folder and its content digest (SHA-256 of the signed manifest).

    Raises
    ------
    ArtifactRootError
        The artifacts lie outside the trusted roots (raised before anything is downloaded).
    riskloop.provenance.ProvenanceError
        Unsigned, signed by an untrusted key, a bad signature, or a file missing, added or
        changed (named).
    """
    import mlflow

    trust = trust or configured_trust()
    uri = artifact_location(model_name, version, trust)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(destination)))
    return local, provenance.verify_model(local, trust.trusted_keys())


def content_digest(model_name: str, version: str, trust: ModelTrust | None = None) -> str:
    """The content digest of the version's stored manifest and signature
    (:func:`riskloop.provenance.content_digest`): the cheap check for a model changed in place
    (two small files are downloaded, from inside the trusted roots; nothing is verified — a load
    verifies). An artifact without them gives ``"unsigned"``."""
    import mlflow
    from mlflow.exceptions import MlflowException

    uri = artifact_location(model_name, version, trust or configured_trust())
    with tempfile.TemporaryDirectory() as tmp:
        try:
            manifest, signature = (
                Path(
                    mlflow.artifacts.download_artifacts(
                        artifact_uri=f"{uri.rstrip('/')}/{name}", dst_path=tmp
                    )
                ).read_bytes()
                for name in (provenance.MANIFEST_FILE, provenance.SIGNATURE_FILE)
            )
        except (MlflowException, OSError):
            return "unsigned"
        return provenance.content_digest(manifest, signature)


def load_scorer(model_name: str, version: str, trust: ModelTrust | None = None) -> Scorer:
    """Download a registered scorer, prove its origin (:func:`download_verified`), then read it.

    Its ``metadata`` gains ``model_version`` and ``content_digest`` (of the signed manifest).
    """
    from riskloop.scorer import Scorer

    with tempfile.TemporaryDirectory() as tmp:
        local, digest = download_verified(model_name, version, Path(tmp), trust)
        scorer = Scorer.load(local / SCORER_DATA)
    scorer.metadata = {**scorer.metadata, "model_version": version, "content_digest": digest}
    return scorer


def load_pyfunc(model_name: str, version: str, trust: ModelTrust | None = None) -> Any:
    """The version as an MLflow pyfunc model, verified *before* MLflow reads any of it.

    ``mlflow.pyfunc.load_model`` on a registry URI reads ``MLmodel`` and imports the loader it
    names before riskloop's code runs; this downloads, checks the root and the signature of
    every file first, and only then hands the verified local copy to MLflow (whose loader,
    :mod:`riskloop.mlflow_model`, verifies once more).
    """
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        local, _ = download_verified(model_name, version, Path(tmp), trust)
        return mlflow.pyfunc.load_model(str(local))


def load_champion(
    model_name: str, alias: str = CHAMPION, trust: ModelTrust | None = None
) -> tuple[Scorer, ModelVersionInfo] | None:
    info = version_for_alias(model_name, alias)
    if info is None:
        return None
    return load_scorer(model_name, info.version, trust), info


def fail_running_runs(experiment: str, started_since: float) -> list[str]:
    """Mark every run of ``experiment`` still RUNNING that started at or after
    ``started_since`` (seconds since the epoch) as FAILED: the process that owned it is gone.
    Returns their ids."""
    client = _client()
    with _refusals_as_registry_errors():
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return []
        runs = client.search_runs(
            [found.experiment_id],
            filter_string="attributes.status = 'RUNNING'"
            f" and attributes.start_time >= {int(started_since * 1000)}",
        )
        for run in runs:
            client.set_terminated(run.info.run_id, status="FAILED")
    return [run.info.run_id for run in runs]
