"""``riskloop privacy``: applicants' personal data in the prediction log (docs/privacy.md).

riskloop privacy purge                         apply the retention policy (conf/base/privacy.yml)
riskloop privacy export --ref R [--letter]     everything held about one applicant (audited)
riskloop privacy erase --ref R --reason TEXT   erase one applicant, leaving tombstones (audited)
riskloop privacy ref --applicant-id ID         the pseudonymous reference of a lender's id
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from riskloop.cli.common import ScenarioOption, build_settings, cli_actor, fail, loop_store
from riskloop.cli.render import console

if TYPE_CHECKING:
    from riskloop.settings import Settings
    from riskloop.store.privacy import PurgeResult, RetentionPolicy

privacy_app = typer.Typer(
    no_args_is_help=True,
    help="Applicants' personal data: retention purge, access export, erasure.",
)

RefOption = Annotated[
    str, typer.Option("--ref", help="the applicant's pseudonymous reference (applicant_ref)")
]
ReasonOption = Annotated[
    str | None, typer.Option(help="why (e.g. the request's case number); written to the audit log")
]


def ensure_applicant_ref_key(settings: Settings) -> bytes:
    """The applicant reference key: ``RISKLOOP_APPLICANT_REF_KEY`` when set, else the local key
    file (created owner-only, 0600, with 32 random bytes the first time). Losing the file
    means new references for the same people: keep it with the database's backups."""
    if settings.applicant_ref_key is not None:
        return settings.applicant_ref_key.get_secret_value().encode()
    path = settings.resolved_applicant_ref_key_file
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
    path.chmod(0o600)  # also when the file existed with wider permissions
    return path.read_text().strip().encode()


def load_retention_policy_or_fail(settings: Settings) -> RetentionPolicy:
    """The retention policy of ``conf/base/privacy.yml`` (its defaults when the file is
    missing); a broken file ends the command with the loader's message."""
    from riskloop.config import ConfigError, load_config
    from riskloop.store.privacy import RetentionPolicy

    try:
        return load_config(settings.privacy_config_path, RetentionPolicy, missing_ok=True)
    except ConfigError as error:
        fail(str(error))


def apply_retention(settings: Settings, actor: str | None) -> PurgeResult:
    """Purge what the retention policy says is due now (the monitor loop and ``purge``)."""
    from riskloop.store.privacy import PrivacyStore

    policy = load_retention_policy_or_fail(settings)
    with loop_store(settings) as store:
        return PrivacyStore(store.engine).purge(policy, datetime.now(UTC), actor=actor)


def describe_purge(result: PurgeResult) -> str:
    return (
        f"Retention: inputs purged from {result.inputs_purged} decision(s);"
        f" {result.records_deleted} decision(s) past the record period deleted."
    )


@privacy_app.command("purge")
def purge(scenario: ScenarioOption = None) -> None:
    """Apply the retention policy now: purge old inputs, delete decisions past the record
    period (monitor results are aggregates and stay). ``riskloop monitor --every`` does this
    after each run."""
    result = apply_retention(build_settings(scenario), cli_actor())
    console.print(describe_purge(result))


@privacy_app.command("export")
def export(
    ref: RefOption,
    letter: Annotated[
        bool, typer.Option("--letter", help="a plain-language letter instead of JSON")
    ] = False,
    reason: ReasonOption = None,
    scenario: ScenarioOption = None,
) -> None:
    """Everything held about one applicant (the right of access), as JSON or a letter. The
    read is written to the audit log."""
    from riskloop.store.privacy import PrivacyStore, applicant_letter

    settings = build_settings(scenario)
    with loop_store(settings) as store:
        privacy = PrivacyStore(store.engine)
        record = privacy.applicant_record(ref)
        if record is None:
            fail(f"nothing is held about applicant {ref!r}")
        privacy.record_read({"applicant_ref": ref}, cli_actor(), reason, "riskloop privacy export")
    if letter:
        typer.echo(applicant_letter(record, datetime.now(UTC)))
    else:
        typer.echo(json.dumps(record, indent=2, default=str))


@privacy_app.command("erase")
def erase(
    ref: RefOption,
    reason: Annotated[str, typer.Option(help="why the data is erased; kept on every tombstone")],
    scenario: ScenarioOption = None,
) -> None:
    """Erase one applicant (the right to erasure): their decisions, inputs, explanations and
    outcomes are deleted, each decision leaving a tombstone (decision, date, model version,
    reason). Audited."""
    from riskloop.store.privacy import PrivacyStore

    settings = build_settings(scenario)
    try:
        with loop_store(settings) as store:
            erased = PrivacyStore(store.engine).erase(ref, reason, cli_actor(), datetime.now(UTC))
    except ValueError as error:
        fail(str(error))
    if erased == 0:
        fail(f"nothing is held about applicant {ref!r}")
    console.print(f"Erased {erased} decision(s) of applicant {ref}; tombstones kept.")


@privacy_app.command("ref")
def reference(
    applicant_id: Annotated[str, typer.Option(help="the lender's identifier of the person")],
    scenario: ScenarioOption = None,
) -> None:
    """The pseudonymous reference of a lender's applicant id, under this installation's key
    (to find a person's record when they ask by their customer number)."""
    from riskloop.store.privacy import applicant_reference

    typer.echo(
        applicant_reference(ensure_applicant_ref_key(build_settings(scenario)), applicant_id)
    )
