import hashlib

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
