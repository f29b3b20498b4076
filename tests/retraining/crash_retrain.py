"""A retrain step killed with SIGKILL, for tests/retraining/test_simulation.py.

``python -m tests.retraining.crash_retrain WORK_DIR POINT [VERSION]`` runs in the workspace of
a simulation (its tracking database and prediction log) and kills itself at ``POINT``:

* ``training``: inside the challenger's pipeline run, when tuning starts (its MLflow run is
  open, its training set written);
* ``before_alias``: promoting ``VERSION``, just before the champion alias is written;
* ``after_alias``: promoting ``VERSION``, just after the alias is written and before the
  journal records it.

The kill is injected by replacing a function in this process only: production code reads no
test switch.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from pathlib import Path


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def main(work_dir: Path, point: str, version: str | None) -> None:
    import pandas as pd

    from riskloop import registry
    from riskloop.data.scenario import load_scenario
    from riskloop.retraining.config import load_retraining_config
    from riskloop.store import MonitoringStore, PredictionStore
    from tests.conftest import CREDIT_SCENARIO, PROJECT_DIR

    tracking_uri = f"sqlite:///{work_dir / 'mlflow.db'}"
    registry.configure(tracking_uri)
    scenario = load_scenario(CREDIT_SCENARIO)
    store = PredictionStore(f"sqlite:///{work_dir / 'predictions.db'}")
    if point == "training":
        import riskloop.pipelines.training.pipeline as training

        # the name the pipeline's node is built from (create_pipeline runs at the session)
        training.tune_candidates = functools.wraps(training.tune_candidates)(die)
        from riskloop.retraining.workflow import retrain_challenger

        conf = PROJECT_DIR / "conf" / "base"
        config = load_retraining_config(conf / "retraining.yml", conf / "parameters_promotion.yml")
        workspace = registry.workspace_params(tracking_uri, work_dir / "mlartifacts")
        config = config.model_copy(update={"training": {**config.simulation.training, **workspace}})
        reference = pd.read_parquet(work_dir / "data" / "05_model_input" / "train.parquet")
        retrain_challenger(
            PROJECT_DIR,
            CREDIT_SCENARIO,
            scenario,
            store,
            reference,
            config,
            artifact_dir=work_dir / "mlartifacts",
            data_dir=work_dir / "data",
            trigger="crash test",
        )
        return
    from riskloop.retraining.workflow import promote_version

    assert version is not None
    if point == "before_alias":
        registry.set_alias = die
    else:
        record = MonitoringStore.record_audit_event

        def record_or_die(self, kind, payload, *args, **kwargs):
            if kind == "promoted":
                die()
            return record(self, kind, payload, *args, **kwargs)

        MonitoringStore.record_audit_event = record_or_die
    promote_version(scenario.model_name, version, store, reason="crash test")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    sys.exit("not killed: the injected point was never reached")
