"""Docker for the container tests: is there an engine, the images built from a clean tree, and
containers on the host network that are always removed.

Every container here runs with host networking (test traffic stays on loopback) and a name
starting ``riskloop-test-`` so a crashed run leaves nothing unnamed behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import DEPLOY_DIR, PROJECT_DIR

TAG = "test"
API_IMAGE = f"riskloop-api:{TAG}"
FULL_IMAGE = f"riskloop:{TAG}"


def docker_engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    if shutil.which("docker") is None:
        return "no docker command on PATH (.ci/run installs Debian's docker.io and starts dockerd)"
    result = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        return f"no Docker engine answers `docker info`: {result.stderr.strip()[:200]}"
    return None


def docker(*arguments: str, timeout: float = 120, check: bool = True) -> str:
    """Run one docker command; its stdout. A failure fails the test with docker's message."""
    result = subprocess.run(["docker", *arguments], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(arguments[:3])} … failed: {result.stderr.strip()[-2000:]}")
    return result.stdout.strip()


def clean_tree(target: Path) -> Path:
    """What a fresh clone of this working tree holds (tracked and new, never ignored files),
    copied to ``target``: no virtual environment, local data, tracking database or secrets."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_DIR,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = PROJECT_DIR / name
        if source.is_file():  # deleted but not yet committed files are listed too
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return target


def build_images(tree: Path) -> float:
    """Base images (stand-ins when the engine cannot pull them), then both riskloop images from
    ``tree``; the seconds the riskloop build took."""
    stand_ins = subprocess.run(
        [str(DEPLOY_DIR / "stand-in-images.sh")], capture_output=True, text=True, timeout=900
    )
    if stand_ins.returncode != 0:
        pytest.fail(f"the base images could not be made: {stand_ins.stderr[-2000:]}")
    started = time.monotonic()
    built = subprocess.run(
        [str(tree / "deploy" / "build-images.sh"), TAG],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if built.returncode != 0:
        pytest.fail(f"deploy/build-images.sh failed: {built.stderr[-3000:]}")
    assert built.stdout.split() == [API_IMAGE, FULL_IMAGE]
    return time.monotonic() - started


def image_megabytes(image: str) -> float:
    return int(docker("image", "inspect", image, "--format", "{{.Size}}")) / 1e6


@contextmanager
def container(
    image: str,
    *command: str,
    environment: dict[str, str] | None = None,
    volumes: dict[Path, Path] | None = None,
    options: tuple[str, ...] = (),
) -> Iterator[str]:
    """A detached container on the host network; yields its name; removed on exit."""
    name = f"riskloop-test-{uuid.uuid4().hex[:10]}"
    arguments = ["run", "--detach", "--name", name, "--network", "host", *options]
    for key, value in (environment or {}).items():
        arguments += ["--env", f"{key}={value}"]
    for source, target in (volumes or {}).items():
        arguments += ["--volume", f"{source}:{target}"]
    docker(*arguments, image, *command)
    try:
        yield name
    finally:
        docker("rm", "--force", "--volumes", name, check=False)


def logs(name: str) -> str:
    command = ["docker", "logs", "--tail", "60", name]
    result = subprocess.run(command, capture_output=True, text=True)
    return (result.stdout + result.stderr)[-4000:]


def wait_for(
    condition: Callable[[], bool], what: str, timeout: float, name: str | None = None
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` (and the container's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} not within {timeout:.0f} s" + (f"; log:\n{logs(name)}" if name else ""))


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def shared_folder(prefix: str) -> Path:
    """A folder the containers' unprivileged user (uid 10001) may write to."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"{prefix}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # the umask trimmed mkdir's mode
    return folder
