"""Feedback batches: outcomes of scored applications, checked whole before any is used.

A batch (a CSV or JSON file, or rows handed over by the simulator) is accepted only when every
row passes every rule; otherwise it is refused whole, kept in the quarantine table with the
reasons (each naming the rule, the rows and the values received) and an audit event is written.
Nothing already stored changes either way: an accepted batch is added in one transaction.

Rules: the columns are ``application_id``, ``outcome`` and optionally ``observed_at`` (nothing
else); ``application_id`` is non-empty and appears once in the batch; it was scored (is in the
prediction log) and has no outcome yet (outcomes are facts, never overwritten); ``outcome`` is
0 or 1 (1 = the scenario's risky outcome); ``observed_at``, when given, is a date-time with a
time zone, not in the future and not before the decision; an application another source already
labelled differently is a consistency problem.

Labels are evidence, not truth: a structurally valid batch is then checked against the
champion's logged expectations (:mod:`riskloop.retraining.label_checks`) — implausible bad
rates quarantine it whole with the numbers of every test; immature outcomes are quarantined
apart. Outcomes that came one at a time through ``POST /v1/feedback`` are stored "unchecked" and
checked in groups per source (:func:`check_pending_outcomes`, run first by every retrain). Only
checked outcomes train or judge a model; a quarantined batch counts once a person releases it
(:func:`release_batch`, ``riskloop feedback release --batch B``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from riskloop.retraining.config import LabelChecksSpec
from riskloop.retraining.label_checks import check_batch
from riskloop.store import MonitoringStore, PredictionStore, RetrainingStore

REQUIRED_COLUMNS = ("application_id", "outcome")
OPTIONAL_COLUMNS = ("observed_at",)
QUARANTINE_EVENT = "feedback_quarantined"
ACCEPTED_EVENT = "feedback_accepted"
RELEASED_EVENT = "feedback_released"
API_SOURCE = "api"  # the source of outcomes that came through POST /v1/feedback
_SHOWN = 5  # rows named per problem; the count says how many more


@dataclass
class FeedbackResult:
    """What happened to one batch."""

    accepted: bool
    n_rows: int
    source: str
    problems: list[str] = field(default_factory=list)
    quarantine_id: int | None = None
    evidence: dict[str, Any] | None = None

    def describe(self) -> str:
        if self.accepted:
            return f"accepted {self.n_rows} outcomes from {self.source}"
        return (
            f"refused the whole batch of {self.n_rows} rows from {self.source} (quarantine"
            f" #{self.quarantine_id}): " + "; ".join(self.problems)
        )


class FeedbackFileError(ValueError):
    """A feedback file that cannot be read at all."""


def read_feedback_file(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV file (header ``application_id,outcome[,observed_at]``) or a JSON file (a
    list of objects, or ``{"outcomes": [...]}``), as received: values are checked later."""
    if not path.is_file():
        raise FeedbackFileError(f"feedback file {path} does not exist")
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise FeedbackFileError(f"{path} is not valid JSON: {error}") from None
        rows = document.get("outcomes") if isinstance(document, dict) else document
        if not isinstance(rows, list):
            raise FeedbackFileError(
                f"{path} must hold a list of outcomes or {{'outcomes': [...]}}, got"
                f" {type(rows).__name__}"
            )
        return rows
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return []
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise FeedbackFileError(f"{path} is not a readable CSV file: {error}") from None
    return frame.to_dict("records")


def _rows_text(numbers: list[int], values: list[Any] | None = None) -> str:
    shown = numbers[:_SHOWN]
    if values is None:
        text = ", ".join(str(n) for n in shown)
    else:
        text = ", ".join(f"{n} ({v!r})" for n, v in zip(shown, values[:_SHOWN], strict=False))
    more = len(numbers) - len(shown)
    return f"row{'s' if len(numbers) > 1 else ''} {text}" + (f" and {more} more" if more else "")


def _outcome(value: Any) -> int | None:
    """0 or 1 from 0/1, "0"/"1", 0.0/1.0; None for anything else (True/False are refused:
    which of them is the risky outcome is exactly the ambiguity this rule exists for)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    return None


def validate_feedback(
    rows: list[Any], retraining: RetrainingStore
) -> tuple[list[str], list[dict[str, Any]]]:
    """Every problem of the batch (empty when it is acceptable) and the clean rows.

    Row numbers count from 1, as a person reading the file does (the CSV header is row 0).
    """
    problems: list[str] = []
    if not rows:
        return ["the batch holds no rows"], []
    not_objects = [i + 1 for i, r in enumerate(rows) if not isinstance(r, dict)]
    if not_objects:
        return [
            f"schema: every row must be an object with columns {REQUIRED_COLUMNS};"
            f" {_rows_text(not_objects)} are not"
        ], []
    columns = set().union(*(r.keys() for r in rows))
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unexpected = sorted(columns - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS))
    if missing:
        problems.append(
            f"schema: required column(s) {missing} missing (received {sorted(columns)})"
        )
    if unexpected:
        problems.append(
            f"schema: unexpected column(s) {unexpected}; allowed: "
            f"{list(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    if missing:
        return problems, []

    clean: list[dict[str, Any]] = []
    empty_ids, bad_outcomes, bad_outcome_values, bad_dates, bad_date_values = [], [], [], [], []
    naive_dates: list[int] = []
    naive_date_values: list[Any] = []
    future_dates: list[int] = []
    future_date_values: list[Any] = []
    now = datetime.now(UTC)
    for number, row in enumerate(rows, start=1):
        raw_id = row.get("application_id")
        application_id = "" if raw_id is None else str(raw_id).strip()
        if not application_id:
            empty_ids.append(number)
        outcome = _outcome(row.get("outcome"))
        if outcome is None:
            bad_outcomes.append(number)
            bad_outcome_values.append(row.get("outcome"))
        observed_at = row.get("observed_at")
        if observed_at not in (None, ""):
            try:
                parsed = pd.Timestamp(observed_at).to_pydatetime()
            except (ValueError, TypeError):
                bad_dates.append(number)
                bad_date_values.append(observed_at)
            else:
                if parsed.tzinfo is None:
                    naive_dates.append(number)
                    naive_date_values.append(observed_at)
                elif parsed > now:
                    future_dates.append(number)
                    future_date_values.append(observed_at)
                observed_at = parsed
        else:
            observed_at = None
        clean.append(
            {"application_id": application_id, "outcome": outcome, "observed_at": observed_at}
        )
    if empty_ids:
        problems.append(f"application_id: empty in {_rows_text(empty_ids)}")
    if bad_outcomes:
        problems.append(
            "outcome: must be 0 or 1 (1 = the risky outcome); "
            + _rows_text(bad_outcomes, bad_outcome_values)
        )
    if bad_dates:
        problems.append(f"observed_at: not a date-time in {_rows_text(bad_dates, bad_date_values)}")
    if naive_dates:
        problems.append(
            "observed_at: must name its time zone (e.g. 2026-11-20T09:00:00+00:00), "
            + _rows_text(naive_dates, naive_date_values)
        )
    if future_dates:
        problems.append(
            "observed_at: in the future (an outcome cannot be observed before it happens), "
            + _rows_text(future_dates, future_date_values)
        )
    ids = [r["application_id"] for r in clean if r["application_id"]]
    first_seen: dict[str, int] = {}
    duplicates = []
    for number, row in enumerate(clean, start=1):
        key = row["application_id"]
        if key and key in first_seen:
            duplicates.append((number, key))
        first_seen.setdefault(key, number)
    if duplicates:
        problems.append(
            "application_id: appears more than once in the batch, "
            + _rows_text([n for n, _ in duplicates], [k for _, k in duplicates])
        )
    scored = retraining.scored_ids(ids)
    unknown = [
        (n, r["application_id"])
        for n, r in enumerate(clean, 1)
        if r["application_id"] and r["application_id"] not in scored
    ]
    if unknown:
        problems.append(
            "application_id: never scored (not in the prediction log), "
            + _rows_text([n for n, _ in unknown], [k for _, k in unknown])
        )
    stored = retraining.stored_outcomes(ids)
    already = [(n, r) for n, r in enumerate(clean, 1) if r["application_id"] in stored]
    agreeing = [
        (n, r["application_id"])
        for n, r in already
        if stored[r["application_id"]][0] == r["outcome"]
    ]
    conflicting = [
        (n, f"{r['application_id']}: {r['outcome']} here, {stored[r['application_id']][0]} from"
         f" {stored[r['application_id']][1] or 'the API'}")
        for n, r in already
        if stored[r["application_id"]][0] != r["outcome"]
    ]  # fmt: skip
    if agreeing:
        problems.append(
            "application_id: already has an outcome (outcomes are never overwritten), "
            + _rows_text([n for n, _ in agreeing], [k for _, k in agreeing])
        )
    if conflicting:
        problems.append(
            "consistency: another source recorded a different outcome for the application, "
            + _rows_text([n for n, _ in conflicting], [k for _, k in conflicting])
        )
    return problems, clean


def _jsonable(rows: list[Any]) -> list[Any]:
    return json.loads(json.dumps(rows, default=str))


def _quarantine(
    store: PredictionStore,
    source: str,
    problems: list[str],
    rows: list[Any],
    now: datetime,
    evidence: dict[str, Any] | None = None,
) -> int:
    """Keep a refused batch with its reasons and evidence, and say so in the audit log."""
    retraining = RetrainingStore(store.engine)
    quarantine_id = retraining.quarantine(source, problems, _jsonable(rows), now, evidence)
    MonitoringStore(store.engine).record_audit_event(
        QUARANTINE_EVENT,
        {
            "source": source,
            "n_rows": len(rows),
            "problems": problems,
            "quarantine_id": quarantine_id,
            "evidence": _jsonable([evidence])[0],
        },
        at=now,
    )
    return quarantine_id


def _held_problem(n_held: int, checks: LabelChecksSpec) -> str:
    return (
        f"maturity: {n_held} outcome(s) observed sooner than {checks.min_maturity_days:g} days"
        " after the decision (retraining.yml label_checks.min_maturity_days): not yet final,"
        " held until a person releases them"
    )


def ingest_feedback(
    store: PredictionStore, rows: list[Any], source: str, *, checks: LabelChecksSpec | None
) -> FeedbackResult:
    """Validate the batch whole, check its outcomes as evidence, then store or quarantine it.

    Parameters
    ----------
    store : PredictionStore
        The prediction log whose applications the outcomes belong to.
    rows : list
        The batch as received (dicts with application_id, outcome, observed_at?).
    source : str
        Where the batch came from (a file path, "simulator"), recorded with it.
    checks : LabelChecksSpec or None
        The label checks (:func:`riskloop.retraining.label_checks.check_batch`): a batch whose
        bad rate is implausible against the champion's logged expectation, overall or in a
        segment, is quarantined whole with the numbers; immature outcomes are quarantined
        apart. None stores a structurally valid batch as checked without the statistical
        checks — only for a caller that is the source of truth itself (the simulator).
    """
    retraining = RetrainingStore(store.engine)
    audit = MonitoringStore(store.engine)
    problems, clean = validate_feedback(rows, retraining)
    now = datetime.now(UTC)
    if problems:
        quarantine_id = _quarantine(store, source, problems, rows, now)
        return FeedbackResult(False, len(rows), source, problems, quarantine_id)
    evidence = None
    accepted_rows = clean
    if checks is not None:
        batch = pd.DataFrame.from_records(clean).merge(
            retraining.logged_scores([r["application_id"] for r in clean]), on="application_id"
        )
        batch["observed_at"] = batch["observed_at"].where(batch["observed_at"].notna(), now)
        early = batch.loc[
            pd.to_datetime(batch["observed_at"], utc=True)
            < pd.to_datetime(batch["decided_at"], utc=True)
        ]
        if len(early):
            problems = [
                "observed_at: before the application was scored, "
                + _rows_text(list(early.index + 1), early["application_id"].tolist())
            ]
            quarantine_id = _quarantine(store, source, problems, rows, now)
            return FeedbackResult(False, len(rows), source, problems, quarantine_id)
        verdict = check_batch(batch, checks)
        evidence = verdict.as_dict()
        if not verdict.passed:
            problems = verdict.problems()
            quarantine_id = _quarantine(store, source, problems, rows, now, evidence)
            return FeedbackResult(False, len(rows), source, problems, quarantine_id, evidence)
        held = set(verdict.immature_ids)
        if held:
            _quarantine(
                store,
                f"{source} (immature)",
                [_held_problem(len(held), checks)],
                [r for r in rows if str(r["application_id"]).strip() in held],
                now,
                evidence,
            )
        accepted_rows = [r for r in clean if r["application_id"] not in held]
    try:
        retraining.add_labels(accepted_rows, now, status="accepted", source=source)
    except Exception as error:  # a concurrent writer labelled one of them meanwhile
        problems = [
            f"the batch could not be stored whole ({type(error).__name__}); none of it was stored"
        ]
        quarantine_id = _quarantine(store, source, problems, rows, now)
        return FeedbackResult(False, len(rows), source, problems, quarantine_id)
    audit.record_audit_event(
        ACCEPTED_EVENT,
        {"source": source, "n_rows": len(accepted_rows), "evidence": evidence},
        at=now,
    )
    return FeedbackResult(True, len(accepted_rows), source, evidence=evidence)


def check_pending_outcomes(store: PredictionStore, checks: LabelChecksSpec) -> list[FeedbackResult]:
    """Check the outcomes that arrived one at a time (``POST /v1/feedback``) and are not yet
    checked: grouped by source (the API's outcomes form one batch), each group with at least
    ``checks.min_rows`` rows is checked like a file batch — accepted (usable from now on) or
    quarantined whole with its evidence, awaiting a person; a smaller group waits for more.
    Immature outcomes are quarantined apart. Returns one result per group checked."""
    retraining = RetrainingStore(store.engine)
    pending = retraining.unchecked_outcomes()
    if pending.empty:
        return []
    now = datetime.now(UTC)
    pending["source"] = pending["source"].fillna(API_SOURCE)
    pending["observed_at"] = pending["observed_at"].where(
        pending["observed_at"].notna(), pending["received_at"]
    )
    results = []
    for source, batch in pending.groupby("source", sort=True):
        batch = batch.reset_index(drop=True)
        if len(batch) < checks.min_rows:
            continue
        verdict = check_batch(batch, checks)
        evidence = verdict.as_dict()
        rows = batch[["application_id", "outcome", "observed_at"]].to_dict("records")
        held = set(verdict.immature_ids)
        if not verdict.passed:
            problems = verdict.problems()
            batch_id = _quarantine(store, str(source), problems, rows, now, evidence)
            retraining.set_label_status(batch["application_id"], "quarantined", batch_id)
            results.append(
                FeedbackResult(False, len(batch), str(source), problems, batch_id, evidence)
            )
            continue
        if held:
            held_rows = [r for r in rows if r["application_id"] in held]
            batch_id = _quarantine(
                store, f"{source} (immature)", [_held_problem(len(held), checks)], held_rows,
                now, evidence,
            )  # fmt: skip
            retraining.set_label_status(sorted(held), "quarantined", batch_id)
        accepted = [i for i in batch["application_id"] if i not in held]
        retraining.set_label_status(accepted, "accepted")
        MonitoringStore(store.engine).record_audit_event(
            ACCEPTED_EVENT,
            {"source": str(source), "n_rows": len(accepted), "evidence": evidence},
            at=now,
        )
        results.append(FeedbackResult(True, len(accepted), str(source), evidence=evidence))
    return results


class ReleaseError(ValueError):
    """A batch that cannot be released (no such batch, already released, not valid)."""


def release_batch(store: PredictionStore, batch_id: int, by: str, reason: str) -> int:
    """A person's release of a quarantined batch: its outcomes count from now on.

    Outcomes that came through the API are already stored and are marked checked; a file's
    rows are validated again (the structural rules still apply: a malformed batch must be
    fixed and sent again, not released) and stored as checked. Recorded in the batch and as an
    audit event ``feedback_released``. Returns the number of outcomes released.

    Raises
    ------
    ReleaseError
        No batch ``batch_id``, already released, or its rows break a structural rule.
    """
    retraining = RetrainingStore(store.engine)
    batch = retraining.quarantined_batch(batch_id)
    if batch is None:
        raise ReleaseError(f"no quarantined batch #{batch_id}; `riskloop feedback list` shows them")
    if batch["released_at"] is not None:
        raise ReleaseError(
            f"batch #{batch_id} was already released on {batch['released_at']} by"
            f" {batch['released_by']}"
        )
    now = datetime.now(UTC)
    stored = retraining.batch_label_ids(batch_id)
    if stored:
        retraining.set_label_status(stored, "accepted", batch_id)
        released = len(stored)
    else:
        problems, clean = validate_feedback(batch["rows"], retraining)
        if problems:
            raise ReleaseError(
                f"batch #{batch_id} breaks the feedback rules, so it cannot be released: "
                + "; ".join(problems)
                + ". Fix the file and send it again (riskloop retrain --feedback FILE)"
            )
        retraining.add_labels(
            clean, now, status="accepted", source=str(batch["source"]), batch_id=batch_id
        )
        released = len(clean)
    retraining.mark_released(batch_id, now, by, reason)
    MonitoringStore(store.engine).record_audit_event(
        RELEASED_EVENT,
        {"quarantine_id": batch_id, "n_rows": released, "by": by, "reason": reason},
        at=now,
    )
    return released
