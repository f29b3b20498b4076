import hashlib

import pandas as pd

from riskloop.data.scenario import load_scenario
from riskloop.data.schema import target_vector, validate_applications
from tests.conftest import CREDIT_CSV

EXPECTED_SHA256 = "64984b2aff14d24ebdeb5a051d992194f03d0dc8f250372b9e37c4e653ba678d"


def test_bundled_file_is_the_attributed_one():
    assert hashlib.sha256(CREDIT_CSV.read_bytes()).hexdigest() == EXPECTED_SHA256
    assert (CREDIT_CSV.parent / "README.md").read_text().count(EXPECTED_SHA256) == 1


def test_bundled_file_passes_its_schema(credit_frame, credit_scenario):
    validated = validate_applications(credit_frame, credit_scenario)
    assert len(validated) == 4454
    assert int(target_vector(validated, credit_scenario).sum()) == 1254


CHURN_SHA256 = "977e9701c245abc90ea21b882ffafea62d68e33ce2b50e1e9cfea44344cbffad"


def test_second_example_is_the_attributed_file_and_passes_its_scenario():
    churn = CREDIT_CSV.parent / "mlc_churn.csv"
    assert hashlib.sha256(churn.read_bytes()).hexdigest() == CHURN_SHA256
    assert (CREDIT_CSV.parent / "README.md").read_text().count(CHURN_SHA256) == 1
    scenario = load_scenario(CREDIT_CSV.parents[2] / "conf/base/scenarios/churn.yml")
    validated = validate_applications(pd.read_csv(churn), scenario)
    assert len(validated) == 5000
    assert int(target_vector(validated, scenario).sum()) == 707
