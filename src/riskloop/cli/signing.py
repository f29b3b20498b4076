"""``riskloop signing``: the trainer's model-signing keys (:mod:`riskloop.provenance`).

riskloop signing keygen --out DIR     a new Ed25519 key pair (private key mode 0600)
riskloop signing verify [--version N] prove a registered version's origin, file by file
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskloop.cli.common import ScenarioOption, build_settings, fail, load_scenario_or_fail
from riskloop.cli.render import console

signing_app = typer.Typer(no_args_is_help=True, help=__doc__)


@signing_app.command()
def keygen(
    out: Annotated[Path, typer.Option("--out", help="folder for the new key pair")],
) -> None:
    """Make a signing key pair: the private key stays with the trainer (RISKLOOP_SIGNING_KEY_FILE),
    the public key goes to every service that must trust its models (RISKLOOP_TRUSTED_KEYS)."""
    from riskloop import provenance

    try:
        key = provenance.write_key_pair(out)
    except FileExistsError:
        fail(f"{out / provenance.PRIVATE_KEY_FILE} exists; a signing key is never overwritten")
    except OSError as error:
        fail(f"cannot write a key pair into {out}: {error.strerror}")
    console.print(f"Key id {key.key_id}")
    console.print(f"Private key: {out / provenance.PRIVATE_KEY_FILE}  (owner-only; the trainer's)")
    console.print(f"Public key:  {out / provenance.PUBLIC_KEY_FILE}  (give it to the services)")


@signing_app.command()
def verify(
    version: Annotated[
        str | None, typer.Option("--version", help="registered version (default: the champion)")
    ] = None,
    scenario: ScenarioOption = None,
) -> None:
    """Check a registered version the way the service does: artifact root, signature by a
    trusted key, and every file against the signed manifest (exit 1 when refused)."""
    import tempfile

    from riskloop import provenance, registry

    settings = build_settings(scenario)
    model_name = load_scenario_or_fail(settings).model_name
    registry.configure(settings.resolved_tracking_uri)
    trust = settings.model_trust()
    if version is None:
        champion = registry.version_for_alias(model_name, settings.model_alias)
        if champion is None:
            fail(f"no {settings.model_alias} registered for {model_name!r}: run `riskloop run`")
        version = champion.version
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _, digest = registry.download_verified(model_name, version, Path(tmp), trust)
    except registry.RegistryError as error:
        fail(str(error))
    except (provenance.ProvenanceError, provenance.KeyFileError) as error:
        fail(f"{model_name} version {version} refused: {error}", code=1)
    console.print(f"{model_name} version {version}: signature and every file verified")
    console.print(f"content digest (SHA-256 of the signed manifest) {digest}")
