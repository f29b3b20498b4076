"""The EDA pipeline is registered, standalone and part of the default run; Kedro's CLI loads."""

from kedro.framework.cli.cli import KedroCLI

from riskloop.pipeline_registry import register_pipelines
from tests.conftest import PROJECT_DIR


def test_eda_pipeline_runs_alone_and_with_the_default():
    pipelines = register_pipelines()
    eda = pipelines["eda"]
    # standalone on a fresh clone: it brings the data processing that makes `train`
    assert {"validate_and_clean", "split_applications", "explore_training_data"} <= {
        n.name for n in eda.nodes
    }
    assert eda.inputs() == {"raw_applications", "scenario", "params:split", "params:eda"}
    assert {"eda_report", "eda_summary"} <= eda.all_outputs()
    default = {n.name for n in pipelines["__default__"].nodes}
    assert "explore_training_data" in default
    assert len(default) == len(pipelines["__default__"].nodes)  # shared nodes merge, once each


def test_kedro_cli_loads_the_project_commands():
    """`kedro run --pipeline eda` needs Kedro to import riskloop.cli and find a `cli` group."""
    commands = KedroCLI(project_path=PROJECT_DIR).list_commands(None)
    assert "run" in commands
