"""The EDA notebook runs top to bottom on a fresh clone, in a kernel of this interpreter.

The kernel spec is written into a temporary folder that ``JUPYTER_PATH`` puts first, so the
``python3`` kernel is this virtual environment's Python whatever else is installed on the machine,
and nothing is registered globally. The notebook's last cell asserts the claims its prose makes.
"""

import sys

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from tests.conftest import PROJECT_DIR

NOTEBOOK = PROJECT_DIR / "notebooks" / "eda.ipynb"


def test_committed_notebook_has_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.slow
def test_eda_notebook_executes(tmp_path, monkeypatch):
    kernels = tmp_path / "jupyter" / "kernels"
    write_kernel_spec(kernels / "python3")  # argv: this interpreter, -m ipykernel_launcher
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable and spec.resource_dir.startswith(str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=180,  # per cell
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 5
    assert "all claims hold" in notebook.cells[-1].outputs[-1]["text"]
