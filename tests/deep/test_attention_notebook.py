"""notebooks/attention.ipynb teaches attention with the project's own code: it runs top to
bottom, draws its heat map, and its last cell checks what its prose claims (the hand-computed
head equals the model's, the probability equals the served one)."""

import pytest

from tests.conftest import PROJECT_DIR
from tests.notebooks import execute_notebook, has_no_outputs

NOTEBOOK = PROJECT_DIR / "notebooks" / "attention.ipynb"


def test_committed_notebook_has_no_outputs():
    assert has_no_outputs(NOTEBOOK)


@pytest.mark.slow
def test_attention_notebook_executes(tmp_path, monkeypatch):
    notebook = execute_notebook(NOTEBOOK, tmp_path, monkeypatch)
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 1
    assert "all claims hold" in notebook.cells[-1].outputs[-1]["text"]
