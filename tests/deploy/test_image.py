"""The container image: deploy/Dockerfile is lint-clean (hadolint), multi-stage, installs from
the lock with uv, runs as a non-root user, checks /ready, and its build context holds no data or
secrets. (This machine has no Docker engine: the build itself runs in CI.)"""

from __future__ import annotations

import re

from tests.deploy.conftest import DEPLOY_DIR, PROJECT_DIR, run, venv_tool

DOCKERFILE = DEPLOY_DIR / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_hadolint_passes_with_info_level_findings_counted_as_failures():
    result = run([venv_tool("hadolint"), "--failure-threshold", "info", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_really_checking(tmp_path):
    # the same linter must reject a Dockerfile with known faults (latest tag, root, apt unpinned)
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    result = run([venv_tool("hadolint"), str(bad)])
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3008" in result.stdout


def test_multi_stage_build_installs_from_the_lock_without_dev_dependencies():
    steps = _instructions()
    stages = [args for keyword, args in steps if keyword == "FROM"]
    assert len(stages) >= 3 and any(" AS build" in s for s in stages)
    assert stages[-1].endswith("AS runtime")
    runs = " ".join(args for keyword, args in steps if keyword == "RUN")
    assert "uv sync --frozen --no-dev" in runs
    # the final stage copies the built environment instead of installing anything itself
    final = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    assert any(k == "COPY" and "--from=deps /opt/venv" in a for k, a in final)
    assert not any(k == "RUN" and "uv " in a for k, a in final)


def test_runs_as_a_fixed_non_root_user_and_checks_readiness():
    steps = _instructions()
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert int(users[-1].split(":")[0]) >= 1000
    (healthcheck,) = [args for keyword, args in steps if keyword == "HEALTHCHECK"]
    assert "/ready" in healthcheck


def test_no_secrets_or_data_are_baked_in():
    steps = _instructions()
    copied = " ".join(args for keyword, args in steps if keyword in ("COPY", "ADD"))
    for forbidden in ("data/", ".env", "mlflow.db", "mlartifacts", "conf/local"):
        assert forbidden not in copied, forbidden
    env = " ".join(args for keyword, args in steps if keyword in ("ENV", "ARG"))
    assert not re.search(r"(PASSWORD|TOKEN|SECRET)\w*=", env)
    # and the build context itself excludes everything but what the image needs
    ignore = (PROJECT_DIR / ".dockerignore").read_text().splitlines()
    assert "*" in ignore  # deny everything, then allow by name
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "uv.lock",
        "README.md",
        "src",
        "conf/base",
        "conf/logging.yml",
        "deploy/docker",
    }
    for source in re.findall(r"COPY (?!--from)(?:--\S+ )*(\S+)", DOCKERFILE.read_text()):
        assert any(source == a or source.startswith(a + "/") for a in allowed), source


def test_two_targets_the_api_one_lean_and_the_stand_ins_use_the_dockerfiles_names():
    steps = _instructions()
    stages = {args.rsplit(" AS ", 1)[1] for keyword, args in steps if keyword == "FROM"}
    assert {"api", "runtime", "build-api", "build"} <= stages
    requirements = (DEPLOY_DIR / "docker" / "api-requirements.txt").read_text()
    wanted = {line.split("[")[0].strip() for line in requirements.splitlines()}
    wanted.discard("")
    for training_only in ("kedro", "streamlit", "optuna", "lime", "fairlearn", "matplotlib"):
        assert training_only not in wanted, training_only
    # the stand-in script reads the base image names from the Dockerfile, never its own copy
    script = (DEPLOY_DIR / "stand-in-images.sh").read_text()
    assert "sed -n 's/^ARG PYTHON_IMAGE=//p' \"$dockerfile\"" in script


def test_ci_publishes_images_only_after_the_tests_and_runs_the_container_tests():
    import yaml

    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    assert {"lint", "test"} <= set(jobs["image"]["needs"])
    builds = [s for s in jobs["image"]["steps"] if "build-push-action" in s.get("uses", "")]
    assert {s["with"]["target"] for s in builds} == {"api", "runtime"}
    for step in builds:  # pushed on a version tag only
        assert step["with"]["push"] == "${{ startsWith(github.ref, 'refs/tags/v') }}"
    test_steps = " ".join(s.get("run", "") for s in jobs["test"]["steps"])
    assert ".ci/run" in test_steps and "caddy" in test_steps and "cloud-init" in test_steps
