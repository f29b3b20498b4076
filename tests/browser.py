"""Which Chromium the browser tests drive, and whether a missing one skips or fails.

Debian's ``/usr/bin/chromium`` by default (``make test`` installs it where it can: root with
apt-get; playwright's own browser downloads need the internet). ``RISKLOOP_TEST_CHROMIUM`` names
another Chromium-based browser (GitHub's Ubuntu runners carry Google Chrome). On a laptop
without one the browser tests skip and say why; in CI (``CI=true``) a missing browser fails
them instead — a CI run that silently skipped the browser would look green with the UI untested.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("RISKLOOP_TEST_CHROMIUM") or "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
MISSING = (
    f"no Chromium at {CHROMIUM}: `make test` installs Debian's (it needs apt-get and root:"
    " `sudo apt-get install chromium`), or set RISKLOOP_TEST_CHROMIUM to a Chromium-based browser"
)

# Options for a headless browser on a machine without internet: no sandbox (root in CI), no
# GPU, and none of the background connections that a closed network refuses many at a time.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> list[pytest.MarkDecorator]:
    """Marks for a browser test module: skipped without a browser, except in CI, where the
    ``browser_present`` fixture (tests/ui/conftest.py) fails it instead."""
    return [
        pytest.mark.skipif(not CHROMIUM.exists() and not IN_CI, reason=MISSING),
        pytest.mark.usefixtures("browser_present"),
    ]


def fail_if_missing() -> None:
    """Fail the test (it was not skipped: we are in CI) when there is no browser."""
    if not CHROMIUM.exists():
        pytest.fail(MISSING)
