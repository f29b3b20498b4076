"""The EDA notebook runs top to bottom on a fresh clone; its last cell asserts the claims its
prose makes."""

import pytest

from tests.conftest import PROJECT_DIR
from tests.notebooks import execute_notebook, has_no_outputs

NOTEBOOK = PROJECT_DIR / "notebooks" / "eda.ipynb"


def test_committed_notebook_has_no_outputs():
    assert has_no_outputs(NOTEBOOK)


@pytest.mark.slow
def test_eda_notebook_executes(tmp_path, monkeypatch):
    notebook = execute_notebook(NOTEBOOK, tmp_path, monkeypatch)
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 5
    assert "all claims hold" in notebook.cells[-1].outputs[-1]["text"]
