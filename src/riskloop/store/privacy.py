"""Personal data in the prediction log: pseudonymous applicant references, retention, access
and erasure (docs/privacy.md).

* **Pseudonymous reference.** The log never holds the lender's applicant id: it holds
  ``HMAC-SHA-256(key, applicant id)`` in hex (:func:`applicant_reference`). The key comes from
  configuration (``RISKLOOP_APPLICANT_REF_KEY``); without it, a reference cannot be linked back
  to a person, and the same person always gets the same reference under the same key.
* **Retention** (:class:`RetentionPolicy`, ``conf/base/privacy.yml``). Inputs and explanations
  older than ``inputs_retention_days`` are purged (the row keeps its decision, reasons, model
  version and outcome); whole decisions older than ``record_retention_days`` are deleted with
  their outcomes. Monitor results are aggregates in their own table and survive both.
* **Access** (:meth:`PrivacyStore.applicant_record`): everything held about one reference.
* **Erasure** (:meth:`PrivacyStore.erase`): the reference's decisions, inputs, explanations and
  outcomes are deleted; each decision leaves a tombstone in ``erased_decisions`` holding only
  the decision, its date and model version, and why it was erased.

Every access, erasure and purge is written to the audit log with who did it and why.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine, delete, insert, select, update

from riskloop.store.monitor_results import MonitoringStore
from riskloop.store.tables import erased_decisions, labels, predictions, shadow_predictions

# the shortest key accepted for the applicant reference (HMAC-SHA-256's block is 64 bytes; 32
# random bytes are as strong as the hash)
MIN_KEY_BYTES = 32

# audit event kinds
PERSONAL_DATA_READ = "personal_data_read"
APPLICANT_ERASED = "applicant_erased"
RETENTION_PURGE = "retention_purge"
DECISION_RECTIFIED = "decision_rectified"


def applicant_reference(key: bytes, applicant_id: str) -> str:
    """The pseudonymous reference of the lender's ``applicant_id``: HMAC-SHA-256 under
    ``key``, 64 hex characters. The same id and key always give the same reference; without
    the key, nobody can compute it from an id or recover the id from it."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"the applicant reference key must be at least {MIN_KEY_BYTES} bytes"
            f" (received {len(key)})"
        )
    return hmac.new(key, applicant_id.encode(), hashlib.sha256).hexdigest()


class RetentionPolicy(BaseModel):
    """How long personal data stays in the prediction log (``conf/base/privacy.yml``).

    Parameters
    ----------
    inputs_retention_days : int
        A decision's inputs and explanation are purged this many days after it was made
        (default 90); its decision, reasons, model version and outcome stay.
    record_retention_days : int
        The whole decision and its outcome are deleted this many days after it was made
        (default 2190, six years: a common legal record period for credit decisions). Must be
        at least ``inputs_retention_days``.
    """

    model_config = ConfigDict(extra="forbid")

    inputs_retention_days: int = Field(90, gt=0)
    record_retention_days: int = Field(2190, gt=0)

    @model_validator(mode="after")
    def _record_outlives_inputs(self) -> RetentionPolicy:
        if self.record_retention_days < self.inputs_retention_days:
            raise ValueError(
                f"record_retention_days ({self.record_retention_days}) must be at least"
                f" inputs_retention_days ({self.inputs_retention_days}): the record outlives"
                " the inputs"
            )
        return self


@dataclass(frozen=True)
class PurgeResult:
    """What one retention run removed: rows whose inputs were purged, decisions deleted."""

    inputs_purged: int
    records_deleted: int


class PrivacyStore:
    """Retention, access and erasure of applicants' personal data on ``engine``'s database.

    Parameters
    ----------
    engine : Engine
        The prediction store's engine (``PredictionStore.engine``): the tables exist already.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.audit = MonitoringStore(engine)

    # ---- retention
    def purge(
        self, policy: RetentionPolicy, now: datetime, actor: str | None = None
    ) -> PurgeResult:
        """Apply ``policy`` as of ``now``: purge old inputs, delete decisions past the record
        period (with their outcomes and shadow scores); one transaction, one audit event."""
        inputs_cutoff = now - timedelta(days=policy.inputs_retention_days)
        record_cutoff = now - timedelta(days=policy.record_retention_days)
        with self.engine.begin() as connection:
            expired = select(predictions.c.application_id).where(
                predictions.c.received_at < record_cutoff
            )
            connection.execute(delete(labels).where(labels.c.application_id.in_(expired)))
            connection.execute(
                delete(shadow_predictions).where(shadow_predictions.c.application_id.in_(expired))
            )
            deleted = connection.execute(
                delete(predictions).where(predictions.c.received_at < record_cutoff)
            ).rowcount
            purged = connection.execute(
                update(predictions)
                .where(
                    predictions.c.received_at < inputs_cutoff,
                    predictions.c.inputs_purged_at.is_(None),
                )
                .values(inputs={}, explanation=None, inputs_purged_at=now)
            ).rowcount
        result = PurgeResult(inputs_purged=int(purged), records_deleted=int(deleted))
        self.audit.record_audit_event(
            RETENTION_PURGE,
            {**vars(result), **policy.model_dump(), "inputs_before": inputs_cutoff.isoformat()},
            at=now,
            actor=actor,
        )
        return result

    # ---- access
    def applicant_record(self, ref: str) -> dict[str, Any] | None:
        """Everything held about the applicant behind ``ref``: each decision with its inputs
        (``{}`` once purged), reasons, explanation, model version and outcome; None when
        nothing is held."""
        query = (
            select(
                predictions.c.application_id,
                predictions.c.received_at,
                predictions.c.model_name,
                predictions.c.model_version,
                predictions.c.inputs,
                predictions.c.inputs_purged_at,
                predictions.c.probability,
                predictions.c.decision,
                predictions.c.threshold,
                predictions.c.reasons,
                predictions.c.explanation,
                predictions.c.rectifies,
                labels.c.outcome,
                labels.c.observed_at,
            )
            .join(labels, labels.c.application_id == predictions.c.application_id, isouter=True)
            .where(predictions.c.applicant_ref == ref)
            .order_by(predictions.c.received_at, predictions.c.id)
        )
        with self.engine.connect() as connection:
            rows = [dict(r) for r in connection.execute(query).mappings()]
        if not rows:
            return None
        decisions = []
        for row in rows:
            outcome, observed_at = row.pop("outcome"), row.pop("observed_at")
            row["outcome"] = None if outcome is None else {"outcome": outcome, "at": observed_at}
            decisions.append(row)
        return {"applicant_ref": ref, "decisions": decisions}

    def record_read(
        self, subject: dict[str, str], actor: str | None, reason: str | None, channel: str
    ) -> None:
        """Audit one read of an applicant's record: ``subject`` names it (``{"applicant_ref":
        ...}`` or ``{"application_id": ...}``), ``channel`` how it was read (a route, the CLI)."""
        self.audit.record_audit_event(
            PERSONAL_DATA_READ,
            {**subject, "channel": channel, "reason": reason},
            actor=actor,
        )

    # ---- erasure
    def erase(self, ref: str, reason: str, actor: str | None, now: datetime) -> int:
        """Erase the applicant behind ``ref``: delete their decisions, inputs, explanations,
        outcomes and shadow scores, leave one tombstone per decision (decision, date, model
        version, ``reason``), and audit it. Returns how many decisions were erased (0: nothing
        was held; no tombstone, no event)."""
        if not reason.strip():
            raise ValueError("an erasure needs a reason (received an empty one)")
        held = select(predictions.c.application_id).where(predictions.c.applicant_ref == ref)
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(
                    predictions.c.received_at,
                    predictions.c.model_name,
                    predictions.c.model_version,
                    predictions.c.decision,
                ).where(predictions.c.applicant_ref == ref)
            ).all()
            if not rows:
                return 0
            connection.execute(
                insert(erased_decisions),
                [
                    {
                        "decided_at": row.received_at,
                        "model_name": row.model_name,
                        "model_version": row.model_version,
                        "decision": row.decision,
                        "erased_at": now,
                        "reason": reason[:1000],
                        "erased_by": actor,
                    }
                    for row in rows
                ],
            )
            connection.execute(delete(labels).where(labels.c.application_id.in_(held)))
            connection.execute(
                delete(shadow_predictions).where(shadow_predictions.c.application_id.in_(held))
            )
            connection.execute(delete(predictions).where(predictions.c.applicant_ref == ref))
        self.audit.record_audit_event(
            APPLICANT_ERASED,
            {"applicant_ref": ref, "decisions": len(rows), "reason": reason},
            at=now,
            actor=actor,
        )
        return len(rows)

    def tombstones(self) -> list[dict[str, Any]]:
        """Every erased decision's tombstone, oldest erasure first."""
        query = select(erased_decisions).order_by(erased_decisions.c.id)
        with self.engine.connect() as connection:
            return [dict(r) for r in connection.execute(query).mappings()]


def applicant_letter(record: dict[str, Any], written_at: datetime) -> str:
    """The applicant's record as a plain-language letter: one paragraph per decision."""
    decisions = record["decisions"]
    lines = [
        f"Your personal data held by our credit-decision system ({written_at:%d %B %Y})",
        "",
        f"You asked what we hold about you. Under your reference {record['applicant_ref']}"
        f" we hold {len(decisions)} credit decision{'s' if len(decisions) != 1 else ''}.",
    ]
    for number, decision in enumerate(decisions, start=1):
        outcome = decision["outcome"]
        lines += [
            "",
            f"{number}. Application {decision['application_id']},"
            f" decided on {decision['received_at']:%d %B %Y}.",
            *(
                [f"   It corrects application {decision['rectifies']} with rectified information."]
                if decision.get("rectifies")
                else []
            ),
            f"   Decision: {decision['decision']} (estimated probability of default"
            f" {decision['probability']:.1%}; the limit was {decision['threshold']:.1%}),"
            f" by model {decision['model_name']} version {decision['model_version']}.",
        ]
        reasons = [r["text"] for r in decision["reasons"] or []]
        if reasons:
            lines.append("   The main reasons: " + "; ".join(reasons) + ".")
        if decision["inputs"]:
            given = ", ".join(f"{k}: {v}" for k, v in decision["inputs"].items())
            lines.append(f"   The information you gave: {given}.")
        else:
            purged = decision["inputs_purged_at"]
            lines.append(
                "   The information you gave has been deleted under our retention policy"
                + (f" on {purged:%d %B %Y}." if purged else ".")
            )
        if outcome is not None:
            what = "not repaid as agreed" if outcome["outcome"] else "repaid as agreed"
            lines.append(f"   What happened afterwards, as reported to us: {what}.")
    lines += [
        "",
        "You may ask us to correct information that is wrong, or to erase what we hold about"
        " you where the law allows; we keep a record of each decision (its outcome, date and"
        " the model that made it) for the period the law requires.",
    ]
    return "\n".join(lines)
