"""Run riskloop's Kedro pipelines from Python (the CLI and the tests use this)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kedro.pipeline import Pipeline


def run_pipeline(
    project_dir: Path,
    pipeline_name: str | None = None,
    scenario_file: Path | None = None,
    data_dir: Path | None = None,
    read_back: Sequence[str] = (),
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run a pipeline of the project in ``project_dir`` in a Kedro session.

    ``scenario_file`` and ``data_dir`` override the catalog's defaults (the credit scenario and
    ``data/``); ``params`` overrides parameters (nested keys merge). Returns the catalog
    datasets named in ``read_back``, loaded after the run.
    """
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    runtime_params: dict[str, Any] = dict(params or {})
    if scenario_file is not None:
        runtime_params["scenario_file"] = str(scenario_file)
    if data_dir is not None:
        runtime_params["data_dir"] = str(data_dir)
    bootstrap_project(project_dir)
    session = KedroSession.create(project_path=project_dir, runtime_params=runtime_params)
    # `with session` (not `as`): Kedro types __enter__ as its abstract base, which has no run()
    with session:
        session.run(pipeline_name=pipeline_name)
        catalog = session.load_context().catalog
        return {name: catalog.load(name) for name in read_back}


def run_in_memory(
    pipeline: Pipeline, inputs: dict[str, Any], outputs: Iterable[str]
) -> dict[str, Any]:
    """Run ``pipeline`` on in-memory ``inputs`` (dataset name → data, parameters as
    ``params:<name>``) without a project, a catalog file or hooks (so no MLflow), and return
    the datasets named in ``outputs``. The same nodes as a project run, on data at hand."""
    from kedro.io import DataCatalog, MemoryDataset
    from kedro.runner import SequentialRunner

    class KeptDataset(MemoryDataset):
        """Kept to the end of the run, where the runner would release it after its last use."""

        def _release(self) -> None:
            pass

    wanted = list(outputs)
    catalog = DataCatalog({name: MemoryDataset(data) for name, data in inputs.items()})
    for name in wanted:
        catalog[name] = KeptDataset()
    SequentialRunner().run(pipeline, catalog)
    return {name: catalog.load(name) for name in wanted}
