"""The layers of ARCHITECTURE.md, enforced: a module imports only from its own layer or below,
`scratch` imports nothing but NumPy/Numba/stdlib, the UI imports no model code, and importing
the package does no work (no files, no tracking URI)."""

from __future__ import annotations

import ast
import functools
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
    "deep": 1,  # optional (PyTorch); serving never imports it
    "evaluation": 1,
    "scorer": 2,
    "provenance": 2,  # signed manifests of model artifacts (scorer's loader verifies)
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
    # Skipped on purpose: Alembic migrations (run by Alembic) and the Streamlit pages (scripts
    # Streamlit runs).
    code = (
        "import importlib, pkgutil, riskloop\n"
        "skip = ('riskloop.store.migrations', 'riskloop.ui')\n"
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


# --------------------------------------------------------------------------- configuration
# The edge: modules that read the environment (directly or by building a settings object) and
# pass what they read down. Everything below them is handed its configuration.
ENVIRONMENT_EDGES = {
    "cli",  # the `riskloop` command (the cli package): builds Settings, calls the app factory
    "settings.py",  # the typed Settings, and Kedro's settings module (the hooks build it)
    "ui/app.py",  # the Streamlit app, the UI's entry point
    "ui/settings.py",  # the UI's settings object
    "store/migrations/env.py",  # run by the `alembic` command, an entry point of its own
    "mlflow_model.py",  # MLflow's loader: mlflow.pyfunc.load_model is its entry point
}
_OS_ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


@functools.cache
def _settings_classes() -> set[str]:
    """Names of the pydantic-settings classes in the package (building one reads the env)."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                getattr(base, "id", getattr(base, "attr", None)) == "BaseSettings"
                for base in node.bases
            ):
                names.add(node.name)
    return names


def environment_uses(source: str, settings_classes: set[str]) -> list[str]:
    """Where ``source`` reads or writes the environment: ``os.environ``/``getenv``/``putenv``
    (also imported from ``os``), or building a settings object."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in _OS_ENVIRONMENT
        ):
            found.append((node.lineno, f"os.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            names = sorted({a.name for a in node.names} & _OS_ENVIRONMENT)
            if names:
                found.append((node.lineno, f"from os import {', '.join(names)}"))
        elif isinstance(node, ast.Call):
            called = getattr(node.func, "id", getattr(node.func, "attr", None))
            if called in settings_classes:
                found.append((node.lineno, f"builds {called}() (reads the environment)"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_environment_uses_are_found():
    classes = {"Settings"}
    source = (
        "import os\nfrom os import getenv\nfrom riskloop import settings\n"
        "a = os.environ.get('X')\nos.environ['Y'] = '1'\nb = os.getenv('Z')\n"
        "c = settings.Settings()\nd = Settings\n"
    )
    assert [use.split(":")[0] for use in environment_uses(source, classes)] == [
        "line 2",
        "line 4",
        "line 5",
        "line 6",
        "line 7",
    ]


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_only_the_edge_reads_the_environment(path):
    """Configuration is read once at the edge and passed down (ARCHITECTURE.md)."""
    name = path.relative_to(PACKAGE).as_posix()
    if name in ENVIRONMENT_EDGES or name.split("/")[0] in ENVIRONMENT_EDGES:
        return
    uses = environment_uses(path.read_text(), _settings_classes())
    assert not uses, (
        f"{name} reads or writes the environment ({'; '.join(uses)}): take the value as an"
        " argument from the edge (cli, the Kedro settings/hooks, the UI app) instead"
    )


def _module_name(path: Path) -> str:
    parts = ("riskloop", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(path: Path, modules: set[str]) -> set[str]:
    """riskloop modules ``path`` imports when it is imported: statements run at import time
    (not inside functions, not under ``if TYPE_CHECKING:``)."""
    package = (
        _module_name(path) if path.name == "__init__.py" else _module_name(path).rsplit(".", 1)[0]
    )

    def statements(body: list[ast.stmt]):
        for node in body:
            if isinstance(node, ast.If):
                test = node.test
                if getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING":
                    yield from statements(node.orelse)
                    continue
                yield from statements(node.body)
                yield from statements(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody):
                    yield from statements(block)
                for handler in node.handlers:
                    yield from statements(handler.body)
            elif isinstance(node, ast.With):
                yield from statements(node.body)
            else:
                yield node

    found = set()
    for node in statements(ast.parse(path.read_text()).body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # `from package import submodule` needs the submodule, not the package's other
            # names: Python resolves it also while the package is still initialising
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in modules else module)
    return {name for name in found if name in modules}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing
    itself): each is an import cycle. Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_import_cycles_are_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"], ["e"]]


def test_no_import_cycles_among_riskloop_modules():
    paths = [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _module_level_imports(p, modules) - {_module_name(p)} for p in paths}
    cycles = import_cycles(graph)
    assert not cycles, f"import cycles (module-level imports): {cycles}"


# --------------------------------------------------------------------------- MLflow, pipelines
# MLflow is touched only by the registry (its functions, its Kedro hook). The one other module:
# mlflow_model.py, the pyfunc wrapper MLflow itself executes ("models from code") to define the
# logged model — its class must subclass mlflow.pyfunc.PythonModel; riskloop never imports it.
MLFLOW_MODULES = {"registry.py", "mlflow_model.py"}


def mlflow_imports(source: str) -> list[str]:
    """Where ``source`` imports MLflow (any submodule, at any depth of the code)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] == "mlflow"]
    return found


def test_mlflow_imports_are_found():
    source = (
        "import mlflowish\n"
        "def f():\n"
        "    import mlflow\n"
        "    from mlflow.exceptions import MlflowException\n"
        "    import numpy, mlflow.pyfunc as p\n"
    )
    assert mlflow_imports(source) == [
        "line 3: mlflow",
        "line 4: mlflow.exceptions",
        "line 5: mlflow.pyfunc",
    ]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_registry_talks_to_mlflow(path):
    if str(path.relative_to(PACKAGE)) in MLFLOW_MODULES:
        return
    found = mlflow_imports(path.read_text())
    assert not found, f"{path.name} imports MLflow (use riskloop.registry): {found}"


PIPELINES = PACKAGE / "pipelines"


def other_pipelines_nodes(source: str, own: str, pipelines: set[str]) -> list[str]:
    """The ``nodes`` modules of pipelines other than ``own`` that ``source`` imports. A pipeline
    may bring another along (its ``create_pipeline``) but not reach into its nodes: shared
    code lives in a package below the pipelines."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        modules = {".".join(name.split(".")[:4]) for name in names}
        found += [
            f"line {node.lineno}: {module}"
            for module in sorted(modules)
            if module.split(".")[:2] == ["riskloop", "pipelines"]
            and module.split(".")[2:] in ([p, "nodes"] for p in pipelines - {own})
        ]
    return found


def test_other_pipelines_nodes_are_found():
    source = (
        "from riskloop.pipelines.evaluation.nodes import fairness_summary\n"
        "from riskloop.pipelines.evaluation import nodes\n"
        "import riskloop.pipelines.training.nodes\n"
        "from riskloop.pipelines.registration.nodes import register\n"
        "from riskloop.pipelines.data_processing import create_pipeline\n"
    )
    pipelines = {"evaluation", "training", "registration", "data_processing"}
    assert other_pipelines_nodes(source, "registration", pipelines) == [
        "line 1: riskloop.pipelines.evaluation.nodes",
        "line 2: riskloop.pipelines.evaluation.nodes",
        "line 3: riskloop.pipelines.training.nodes",
    ]


@pytest.mark.parametrize(
    "path", sorted(PIPELINES.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_pipeline_imports_another_pipelines_nodes(path):
    pipelines = {p.name for p in PIPELINES.iterdir() if (p / "nodes.py").is_file()}
    own = path.relative_to(PIPELINES).parts[0]
    found = other_pipelines_nodes(path.read_text(), own, pipelines)
    assert not found, f"{path.relative_to(PACKAGE)} imports another pipeline's nodes: {found}"
