"""Shared fixtures. Nothing here touches the project's own data/, mlflow.db or mlartifacts/:
every pipeline run writes into a temporary folder with its own tracking database."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
CREDIT_SCENARIO = PROJECT_DIR / "conf" / "base" / "scenarios" / "credit.yml"
CREDIT_CSV = PROJECT_DIR / "data" / "01_raw" / "credit_data.csv"

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("KEDRO_LOGGING_CONFIG", str(PROJECT_DIR / "conf" / "logging.yml"))


@pytest.fixture(autouse=True)
def _process_registry_state_restored() -> Iterator[None]:
    """Every test leaves the process's MLflow tracking URI and model trust as it found them.

    Both are process state that the edge sets (``riskloop`` commands, the Kedro hook), and tests
    call commands in process: without this, one that runs ``riskloop signing verify`` or a
    pipeline in its own workspace would repoint the session's trained project (which later tests
    read through that state) at another registry and other trusted roots.
    """
    from riskloop import registry

    tracking_uri = registry.current_tracking_uri() if "mlflow" in sys.modules else None
    variable = os.environ.get("MLFLOW_TRACKING_URI")
    with registry.restoring_trust():
        yield
    if tracking_uri is not None and registry.current_tracking_uri() != tracking_uri:
        registry.configure(tracking_uri)
    # MLflow's set_tracking_uri also exports MLFLOW_TRACKING_URI (subprocesses inherit it)
    if variable is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = variable


@pytest.fixture(scope="session")
def credit_scenario():
    from riskloop.data.scenario import load_scenario

    return load_scenario(CREDIT_SCENARIO)


@pytest.fixture()
def credit_frame() -> pd.DataFrame:
    return pd.read_csv(CREDIT_CSV)


# A small model-selection budget for pipeline runs in tests (the default config tunes longer):
# four candidates (library references and riskloop's own), two tuning trials each.
SMALL_BUDGET = {
    "model": {
        "candidates": [
            "sklearn_logistic_regression",
            "lightgbm",
            "scratch_logistic_regression",
            "scratch_decision_tree",
        ]
    },
    "tuning": {"folds": 3, "trials": 2, "n_bootstrap": 200},
    "evaluation": {"n_bootstrap": 200, "importance_sample": 50, "lime_sample": 3},
}


@dataclass
class TrainedProject:
    """A pipeline run on the bundled data, in its own folder and tracking database."""

    root: Path
    data_dir: Path
    tracking_uri: str
    model_name: str

    def env(self) -> dict[str, str]:
        return {
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "RISKLOOP_ARTIFACT_DIR": str(self.root / "mlartifacts"),
            "RISKLOOP_DATA_DIR": str(self.data_dir),
            "RISKLOOP_DATABASE_URL": f"sqlite:///{self.root / 'predictions.db'}",
        }


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory, credit_scenario) -> Iterator[TrainedProject]:
    """Run the whole pipeline once on the bundled credit data (the tests share it)."""
    from riskloop import registry
    from riskloop.pipelines.runner import run_pipeline

    root = tmp_path_factory.mktemp("project")
    project = TrainedProject(
        root=root,
        data_dir=root / "data",
        tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        model_name=credit_scenario.model_name,
    )
    saved = {k: os.environ.get(k) for k in project.env()}
    os.environ.update(project.env())
    registry.configure(project.tracking_uri)
    run_pipeline(PROJECT_DIR, data_dir=project.data_dir, params=SMALL_BUDGET)
    yield project
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def credit_splits(credit_scenario) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The bundled data validated, cleaned and split by the data-processing nodes."""
    from riskloop.pipelines.data_processing.nodes import split_applications, validate_and_clean

    raw = pd.read_csv(CREDIT_CSV)
    raw.attrs.update(source=str(CREDIT_CSV), sha256="test")
    clean, _ = validate_and_clean(raw, credit_scenario)
    return split_applications(
        clean, credit_scenario, {"test_size": 0.2, "validation_size": 0.2, "seed": 42}
    )


def train_one_candidate(
    scenario,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    candidate: str,
    params: dict,
    tuning: dict | None = None,
):
    """A scorer of one candidate with fixed ``params`` (no search), built by the training
    pipeline itself — tuning's cross-validation, calibration and the profit threshold on
    ``validation`` — in memory, without MLflow: the same nodes as ``riskloop run``."""
    from riskloop.pipelines.runner import run_in_memory
    from riskloop.pipelines.training.pipeline import create_pipeline

    inputs = {
        "train": train,
        "validation": validation,
        "scenario": scenario,
        "params:model": {"type": candidate},
        "params:tuning": {"folds": 3, "seed": 42, "n_bootstrap": 50, **(tuning or {})},
        "params:candidates": {candidate: params},
        "params:search_spaces": {},
        "data_lineage": {"sha256": "test"},
    }
    return run_in_memory(create_pipeline(), inputs, ["selected_scorer"])["selected_scorer"]


@pytest.fixture(scope="session")
def credit_scorer(credit_scenario, credit_splits):
    """A logistic-regression scorer trained in-process on the bundled data, without MLflow."""
    train, validation, _ = credit_splits
    return train_one_candidate(
        credit_scenario,
        train,
        validation,
        "sklearn_logistic_regression",
        {"C": 1.0, "max_iter": 1000},
    )
