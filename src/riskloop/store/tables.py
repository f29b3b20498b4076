"""The prediction store's schema: every table on one SQLAlchemy ``metadata``.

The store modules (:mod:`~riskloop.store.predictions`, :mod:`~riskloop.store.monitor_results`,
:mod:`~riskloop.store.retraining`, :mod:`~riskloop.store.shadow`) read and write these tables;
the Alembic migrations create them and ``tests/store/test_migrations.py`` checks that a
database upgraded to head equals this ``metadata``. Defining them in one module is what lets
each store import the tables it joins without importing another store.

* ``predictions``: every scored application — inputs, score, decision, reason codes, model
  version — and, filled on the first ``GET /v1/explain``, its full additive breakdown.
* ``labels``: the observed outcome of a scored application, months later.
* ``monitor_results``: one row per (model version, window, metric) with the value and the
  number of rows it rests on; a window's rows are replaced when it is recomputed.
* ``audit_events``: an append-only journal of what the loop decided and why.
* ``quarantined_batches``: refused feedback batches, every row kept as received.
* ``shadow_predictions``: the challenger's scores of live applications, never returned.
* ``api_keys``: the API's machine credentials — a hash of each secret, never the secret.
* ``erased_decisions``: tombstones of erased applicants' decisions (decision, date, version).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("application_id", String(64), nullable=False, index=True, unique=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("probability", Float, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("latency_ms", Float, nullable=True),
    Column("reasons", JSON, nullable=True),
    # the full additive breakdown, written on the first GET /v1/explain (see docs/serving.md)
    Column("explanation", JSON, nullable=True),
    # who asked for the score: the caller's name (``key:<name>``, ``user:<email>``, ...)
    Column("actor", String(200), nullable=True),
    # the applicant, pseudonymously: HMAC-SHA-256 of the lender's applicant id (hex), never the
    # id itself (riskloop.store.privacy); None when the lender sent no applicant id
    Column("applicant_ref", String(64), nullable=True, index=True),
    # when the retention policy purged this row's inputs and explanation (docs/privacy.md)
    Column("inputs_purged_at", DateTime(timezone=True), nullable=True),
    # the application_id of the decision this one corrects (rectified inputs, re-scored)
    Column("rectifies", String(64), nullable=True, index=True),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "application_id",
        String(64),
        ForeignKey("predictions.application_id"),
        nullable=False,
        unique=True,
    ),
    # 1 when the risky outcome (the scenario's positive class, e.g. "bad") was observed
    Column("outcome", Integer, nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    # labels are evidence, not truth (docs/retraining.md): "unchecked" (arrived, not usable
    # yet), "accepted" (passed the checks or released by a person), "quarantined"
    Column("status", String(16), nullable=False, server_default="unchecked", index=True),
    # who sent it: a file path, "simulator", or None for POST /v1/feedback
    Column("source", String(500), nullable=True),
    # the quarantined batch holding it while it awaits a person
    Column("batch_id", Integer, nullable=True),
)

monitor_results = Table(
    "monitor_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(32), nullable=False),
    # e.g. "count:500:#3" or "time:7D:2026-01-05T00:00:00+00:00": the windowing is in the id
    Column("window_id", String(120), nullable=False, index=True),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("metric", String(200), nullable=False),
    # None when the metric cannot be computed in that window (too few labels, one class, ...)
    Column("value", Float, nullable=True),
    # the sample size the value rests on (rows, or labelled rows for realised metrics)
    Column("n", Integer, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False, index=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("kind", String(64), nullable=False, index=True),
    Column("payload", JSON, nullable=False),
    # who did it: an API caller's name, ``cli:<os user>``, or None for the loop itself
    Column("actor", String(200), nullable=True),
)

quarantined_batches = Table(
    "quarantined_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    # where the batch came from: a file path, "api", "simulator"
    Column("source", String(500), nullable=False),
    Column("n_rows", Integer, nullable=False),
    # one line per problem: the rule, the rows it concerns and the values received
    Column("reason", JSON, nullable=False),
    Column("rows", JSON, nullable=False),
    # the numbers of each label check (riskloop.retraining.label_checks)
    Column("evidence", JSON, nullable=True),
    # a person's release: `riskloop feedback release --batch B --reason TEXT`
    Column("released_at", DateTime(timezone=True), nullable=True),
    Column("released_by", String(200), nullable=True),
    Column("release_reason", String(1000), nullable=True),
)

shadow_predictions = Table(
    "shadow_predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "application_id",
        String(64),
        ForeignKey("predictions.application_id"),
        nullable=False,
        index=True,
    ),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("probability", Float, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("application_id", "model_version", name="uq_shadow_application_version"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # the public part of a key (``rlk_<key_id>_<secret>``): finds the row without the secret
    Column("key_id", String(32), nullable=False, unique=True, index=True),
    Column("name", String(100), nullable=False, unique=True, index=True),
    # SHA-256 of the secret, hex; the secret itself is shown once and never stored
    Column("secret_sha256", String(64), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)

# what is left of a decision whose applicant asked for erasure: only what the lender must keep
# (the decision, when, by which model version) and why it was erased; nothing links it to anyone
erased_decisions = Table(
    "erased_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=False, index=True),
    Column("reason", String(1000), nullable=False),
    # who erased it: an API caller's name or ``cli:<os user>``
    Column("erased_by", String(200), nullable=True),
)
