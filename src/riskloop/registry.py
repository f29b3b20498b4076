"""MLflow: tracking runs, the model registry, aliases and lineage.

Every training run logs its parameters, metrics, the data file's SHA-256 and the git commit.
Every trained scorer becomes a new version of the scenario's registered model; the alias
``champion`` marks the one the service must load. The scorer is stored as an MLflow pyfunc
(models from code, see :mod:`riskloop.mlflow_model`) whose ``scorer`` artifact is the safe
JSON + npz directory; its SHA-256 is a tag on the model version and is verified before the
service loads it.

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

import pluggy

if TYPE_CHECKING:
    from riskloop.scorer import Scorer

log = logging.getLogger(__name__)

CHAMPION = "champion"
SHA_TAG = "scorer_sha256"
PYFUNC_FILE = Path(__file__).with_name("mlflow_model.py")
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


def register_scorer(scorer: Scorer, model_name: str, tags: dict[str, str]) -> ModelVersionInfo:
    """Log ``scorer`` as a pyfunc model in the active run and register it as a new version."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        scorer_dir = Path(tmp) / "scorer"
        digest = scorer.save(scorer_dir)
        info = mlflow.pyfunc.log_model(
            name="scorer",
            python_model=str(PYFUNC_FILE),
            artifacts={"scorer": str(scorer_dir)},
            model_config={"scorer_sha256": digest},
            registered_model_name=model_name,
            pip_requirements=_requirements(),
        )
    version = str(info.registered_model_version)
    client = _client()
    for key, value in {**tags, SHA_TAG: digest}.items():
        client.set_model_version_tag(model_name, version, key, str(value))
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


def load_scorer(model_name: str, version: str) -> Scorer:
    """Download a registered scorer and load it after checking its SHA-256 against the tag."""
    import mlflow

    from riskloop.scorer import Scorer

    mv = get_version(model_name, version)
    expected = mv.tags.get(SHA_TAG)
    if not expected:
        raise RuntimeError(f"{model_name} version {version} has no {SHA_TAG} tag; not loading it")
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model_name}/{version}", dst_path=tmp
        )
        scorer = Scorer.load(Path(local) / "artifacts" / "scorer", expected_sha256=expected)
    scorer.metadata = {**scorer.metadata, "model_version": version}
    return scorer


def load_champion(model_name: str, alias: str = CHAMPION) -> tuple[Scorer, ModelVersionInfo] | None:
    info = version_for_alias(model_name, alias)
    if info is None:
        return None
    return load_scorer(model_name, info.version), info
