"""Run a project notebook top to bottom in a kernel of this interpreter.

The kernel spec is written into a temporary folder that ``JUPYTER_PATH`` puts first, so the
``python3`` kernel is this virtual environment's Python whatever else is installed on the machine,
and nothing is registered globally.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient


def execute_notebook(path: Path, tmp_path: Path, monkeypatch, timeout: int = 180):
    """The executed notebook (raises if a cell fails; ``timeout`` seconds per cell)."""
    kernels = tmp_path / "jupyter" / "kernels"
    write_kernel_spec(kernels / "python3")  # argv: this interpreter, -m ipykernel_launcher
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable and spec.resource_dir.startswith(str(tmp_path))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return notebook


def has_no_outputs(path: Path) -> bool:
    """Committed notebooks carry code only: outputs are made by running them."""
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return bool(code) and all(not c.outputs and c.execution_count is None for c in code)
