"""Personal data in the store: pseudonymous references, retention by date, access, erasure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from riskloop.config import ConfigError, load_config
from riskloop.store.privacy import (
    APPLICANT_ERASED,
    RETENTION_PURGE,
    PrivacyStore,
    RetentionPolicy,
    applicant_reference,
)
from tests.store.records import T0, logged

KEY = b"k" * 32
ALICE = applicant_reference(KEY, "customer-0001")
BOB = applicant_reference(KEY, "customer-0002")


def test_reference_is_a_keyed_hash_that_hides_the_id():
    assert applicant_reference(KEY, "customer-0001") == ALICE
    assert len(ALICE) == 64 and "customer" not in ALICE
    assert ALICE != BOB
    # another key, another reference: without the key nobody can link the two
    assert applicant_reference(b"x" * 32, "customer-0001") != ALICE
    with pytest.raises(ValueError, match="at least 32 bytes"):
        applicant_reference(b"short", "customer-0001")


def test_retention_policy_file_is_validated(tmp_path):
    path = tmp_path / "privacy.yml"
    path.write_text("inputs_retention_days: 30\nrecord_retention_days: 10\n")
    with pytest.raises(ConfigError, match="record_retention_days \\(10\\) must be at least"):
        load_config(path, RetentionPolicy)
    path.write_text("inputs_retention_days: 0\n")
    with pytest.raises(ConfigError, match="inputs_retention_days"):
        load_config(path, RetentionPolicy)


def _log_with_outcomes(store):
    """Three decisions of ALICE (100 days, 10 days and 3000 days old) and one of BOB."""
    store.append(
        [
            logged("old", received_at=T0 - timedelta(days=100), applicant_ref=ALICE),
            logged("new", received_at=T0 - timedelta(days=10), applicant_ref=ALICE),
            logged("ancient", received_at=T0 - timedelta(days=3000), applicant_ref=ALICE),
            logged("bob", received_at=T0 - timedelta(days=10), applicant_ref=BOB),
        ]
    )
    store.set_explanation("old", {"base_value": 0.1})
    for application_id in ("old", "ancient", "bob"):
        store.add_label(application_id, 1, T0 - timedelta(days=1))


def test_purge_removes_old_inputs_keeps_the_record_and_deletes_past_the_record_period(store):
    _log_with_outcomes(store)
    store.monitoring.save_window(
        "credit-risk", "1", "time:7D:old", T0 - timedelta(days=107), T0 - timedelta(days=100),
        {"psi:Age": (0.3, 1)}, T0 - timedelta(days=99),
    )  # fmt: skip
    privacy = PrivacyStore(store.engine)
    policy = RetentionPolicy(inputs_retention_days=90, record_retention_days=2190)

    result = privacy.purge(policy, T0, actor="cli:ops")

    assert (result.inputs_purged, result.records_deleted) == (1, 1)
    old = store.get("old")
    assert old["inputs"] == {} and old["explanation"] is None
    assert old["inputs_purged_at"] is not None
    # the record stays: decision, reasons, model version and outcome
    assert (old["decision"], old["model_version"]) == ("approve", "1")
    assert store.get_label("old")["outcome"] == 1
    assert store.get("new")["inputs"] == {"Age": 30}
    assert store.get("ancient") is None and store.get_label("ancient") is None
    # aggregate monitoring results survive
    assert len(store.monitoring.results()) == 1
    [event] = store.monitoring.audit_events(RETENTION_PURGE)
    assert event["payload"]["inputs_purged"] == 1 and event["actor"] == "cli:ops"
    # a second run the same day finds nothing more to do
    assert privacy.purge(policy, T0) == type(result)(0, 0)


def test_applicant_record_holds_everything_about_that_person_only(store):
    _log_with_outcomes(store)
    record = PrivacyStore(store.engine).applicant_record(ALICE)
    ids = [d["application_id"] for d in record["decisions"]]
    assert ids == ["ancient", "old", "new"]  # oldest first; bob's decision is not there
    old = record["decisions"][1]
    assert old["inputs"] == {"Age": 30} and old["explanation"] == {"base_value": 0.1}
    assert old["outcome"]["outcome"] == 1 and record["decisions"][2]["outcome"] is None
    assert PrivacyStore(store.engine).applicant_record("0" * 64) is None


def test_erasure_deletes_personal_data_and_leaves_only_a_tombstone(store):
    _log_with_outcomes(store)
    privacy = PrivacyStore(store.engine)

    erased = privacy.erase(ALICE, "applicant request 2026-11-20", "key:dpo", T0)

    assert erased == 3
    assert privacy.applicant_record(ALICE) is None
    assert store.application_ids() == {"bob"} and store.get_label("old") is None
    tombstones = privacy.tombstones()
    assert {t["decision"] for t in tombstones} == {"approve"} and len(tombstones) == 3
    assert set(tombstones[0]) == {
        "id", "decided_at", "model_name", "model_version", "decision",
        "erased_at", "reason", "erased_by",
    }  # fmt: skip
    [event] = store.monitoring.audit_events(APPLICANT_ERASED)
    assert event["actor"] == "key:dpo" and event["payload"]["decisions"] == 3
    assert privacy.erase(ALICE, "again", "key:dpo", T0) == 0
    with pytest.raises(ValueError, match="needs a reason"):
        privacy.erase(BOB, " ", "key:dpo", T0)
