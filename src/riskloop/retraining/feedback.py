"""Feedback batches: outcomes of scored applications, checked whole before any is used.

A batch (a CSV or JSON file, or rows handed over by the simulator) is accepted only when every
row passes every rule; otherwise it is refused whole, kept in the quarantine table with the
reasons (each naming the rule, the rows and the values received) and an audit event is written.
Nothing already stored changes either way: an accepted batch is added in one transaction.

Rules: the columns are ``application_id``, ``outcome`` and optionally ``observed_at`` (nothing
else); ``application_id`` is non-empty and appears once in the batch; it was scored (is in the
prediction log) and has no outcome yet (outcomes are facts, never overwritten); ``outcome`` is
0 or 1 (1 = the scenario's risky outcome); ``observed_at``, when given, is a date-time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from riskloop.store import MonitoringStore, PredictionStore, RetrainingStore

REQUIRED_COLUMNS = ("application_id", "outcome")
OPTIONAL_COLUMNS = ("observed_at",)
QUARANTINE_EVENT = "feedback_quarantined"
ACCEPTED_EVENT = "feedback_accepted"
_SHOWN = 5  # rows named per problem; the count says how many more


@dataclass
class FeedbackResult:
    """What happened to one batch."""

    accepted: bool
    n_rows: int
    source: str
    problems: list[str] = field(default_factory=list)
    quarantine_id: int | None = None

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
                observed_at = pd.Timestamp(observed_at).to_pydatetime()
                if observed_at.tzinfo is None:
                    observed_at = observed_at.replace(tzinfo=UTC)
            except (ValueError, TypeError):
                bad_dates.append(number)
                bad_date_values.append(observed_at)
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
    labelled = retraining.labelled_ids(ids)
    already = [
        (n, r["application_id"]) for n, r in enumerate(clean, 1) if r["application_id"] in labelled
    ]
    if already:
        problems.append(
            "application_id: already has an outcome (outcomes are never overwritten), "
            + _rows_text([n for n, _ in already], [k for _, k in already])
        )
    return problems, clean


def _jsonable(rows: list[Any]) -> list[Any]:
    return json.loads(json.dumps(rows, default=str))


def ingest_feedback(store: PredictionStore, rows: list[Any], source: str) -> FeedbackResult:
    """Validate the batch whole; store it in one transaction, or quarantine it whole.

    Parameters
    ----------
    store : PredictionStore
        The prediction log whose applications the outcomes belong to.
    rows : list
        The batch as received (dicts with application_id, outcome, observed_at?).
    source : str
        Where the batch came from (a file path, "simulator"), recorded with it.
    """
    retraining = RetrainingStore(store.engine)
    audit = MonitoringStore(store.engine)
    problems, clean = validate_feedback(rows, retraining)
    now = datetime.now(UTC)
    if not problems:
        try:
            retraining.add_labels(clean, now)
        except Exception as error:  # a concurrent writer labelled one of them meanwhile
            problems = [
                f"the batch could not be stored whole ({type(error).__name__}); none of"
                " it was stored"
            ]
    if problems:
        quarantine_id = retraining.quarantine(source, problems, _jsonable(rows), now)
        audit.record_audit_event(
            QUARANTINE_EVENT,
            {
                "source": source,
                "n_rows": len(rows),
                "problems": problems,
                "quarantine_id": quarantine_id,
            },
            at=now,
        )
        return FeedbackResult(False, len(rows), source, problems, quarantine_id)
    audit.record_audit_event(ACCEPTED_EVENT, {"source": source, "n_rows": len(clean)}, at=now)
    return FeedbackResult(True, len(clean), source)
