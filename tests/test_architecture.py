"""The layers of ARCHITECTURE.md, enforced: a module imports only from its own layer or below,
`scratch` imports nothing but NumPy/Numba/stdlib, the UI imports no model code, and importing
the package does no work (no files, no tracking URI)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "riskloop"

LAYERS = {
    "scratch": 0,
    "config": 1,
    "data": 1,
    "features": 1,
    "evaluation": 1,
    "scorer": 2,
    "registry": 3,
    "store": 3,
    "settings": 3,
    "mlflow_model": 3,
    "pipelines": 4,
    "pipeline_registry": 4,
    "serving": 4,
    "monitoring": 4,
    "retraining": 5,
    "cli": 6,
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _top(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _riskloop_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == "riskloop" and isinstance(node, ast.ImportFrom):
                found.update(alias.name for alias in node.names)
            elif name.startswith("riskloop."):
                found.add(name.split(".")[1])
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down(path):
    top = _top(path)
    if top in ("__init__", "__main__"):
        return
    if top == "ui":
        assert _riskloop_imports(path) <= {"ui"}, "the UI talks to the API, imports no model code"
        return
    layer = LAYERS[top]
    upward = {m for m in _riskloop_imports(path) if m in LAYERS and LAYERS[m] > layer}
    assert not upward, f"{path.name} (layer {layer}) imports upward: {sorted(upward)}"


def test_scratch_depends_on_numpy_and_numba_only():
    allowed = {"numpy", "numba", "riskloop"} | set(sys.stdlib_module_names)
    for path in (PACKAGE / "scratch").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            # scikit-learn only inside __sklearn_tags__ / compatibility shims, never at the top
            outside = roots - allowed
            if outside == {"sklearn"} and node.col_offset > 0:
                continue
            assert not outside, f"{path.relative_to(PACKAGE)} imports {sorted(outside)}"


def test_importing_everything_does_no_work(tmp_path):
    """Import every module in a fresh interpreter from an empty folder: nothing is created."""
    # Skipped on purpose: Alembic migrations (run by Alembic), the MLflow models-from-code file
    # (MLflow executes it to define the model) and the Streamlit pages (scripts Streamlit runs).
    code = (
        "import importlib, pkgutil, riskloop\n"
        "skip = ('riskloop.store.migrations', 'riskloop.mlflow_model', 'riskloop.ui')\n"
        "for m in pkgutil.walk_packages(riskloop.__path__, 'riskloop.'):\n"
        "    if not m.name.startswith(skip):\n"
        "        importlib.import_module(m.name)\n"
        "import mlflow; print(mlflow.get_tracking_uri())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(tmp_path.iterdir()) == [], "importing riskloop created files"
    assert "riskloop" not in result.stdout  # no tracking URI was set by an import
