"""The deep-model tests need PyTorch, an optional extra (`make setup DEEP=1`; `.ci/run`
installs it). On a laptop without it they skip; in CI a missing torch is a set-up failure."""

from __future__ import annotations

import importlib.util
import os

import pytest

if importlib.util.find_spec("torch") is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must install PyTorch (make deep) so the deep-model tests run")
    pytest.skip("PyTorch is not installed (make setup DEEP=1)", allow_module_level=True)
