"""scikit-learn's estimator check suite over every riskloop.scratch estimator.

Instances come from the ``tests/scratch/_contract_*.py`` modules: each exposes
``INSTANCES`` (small, fast settings) and ``EXPECTED_FAILED`` (``{Class:
{check_name: reason}}``, only checks scikit-learn itself lists as expected
failures for its own equivalent estimator).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

from sklearn.utils.estimator_checks import parametrize_with_checks


def _contract_modules():
    for path in sorted(Path(__file__).parent.glob("_contract_*.py")):
        spec = importlib.util.spec_from_file_location(f"scratch_contract_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


INSTANCES = []
EXPECTED_FAILED: dict[type, dict[str, str]] = {}
for _module in _contract_modules():
    INSTANCES.extend(_module.INSTANCES)
    for _klass, _checks in getattr(_module, "EXPECTED_FAILED", {}).items():
        EXPECTED_FAILED.setdefault(_klass, {}).update(_checks)


def _expected_failed(estimator) -> dict[str, str]:
    return EXPECTED_FAILED.get(type(estimator), {})


with warnings.catch_warnings():
    # "does not inherit from sklearn.base.BaseEstimator" is by design: the
    # scratch package must not import scikit-learn.
    warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base")

    @parametrize_with_checks(INSTANCES, expected_failed_checks=_expected_failed)
    def test_sklearn_estimator_contract(estimator, check):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base")
            check(estimator)
