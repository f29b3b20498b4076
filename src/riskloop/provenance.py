"""Proof of a model's origin: a signed manifest of every file of its artifact.

At registration the trainer lists every file of the MLflow model folder — the scorer's JSON and
``.npz`` files *and* MLflow's own (``MLmodel``, requirements, environment files, the input
example) — with its SHA-256 and size in a **manifest**, serialises it canonically (sorted keys,
no spaces, UTF-8) and signs those bytes with its Ed25519 private key. Manifest and signature
are stored inside the artifact as two files (:data:`MANIFEST_FILE`, :data:`SIGNATURE_FILE`).

Before anything of a model is read, the loader verifies, in this order:

1. the signature file exists (else: unsigned model), names a key id the loader trusts (else:
   unknown key) and is a valid Ed25519 signature of the manifest's bytes by that key (else: bad
   signature);
2. the folder holds exactly the files the manifest lists, each with the listed size and
   SHA-256 (else: the file that is missing, added or changed is named).

Whoever can write the registry can still rewrite tags and files, but not produce a signature
with a key the service trusts: the service holds public keys only, the private key stays with
the trainer (a PEM file readable by its owner alone). Several public keys may be trusted at
once, so a new signing key can be introduced before the old one is retired.

Key id: the first 16 hex digits of the SHA-256 of the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

MANIFEST_FILE = "riskloop-manifest.json"
SIGNATURE_FILE = "riskloop-signature.json"
MANIFEST_FORMAT = "riskloop.manifest/1"
SIGNATURE_FORMAT = "riskloop.signature/1"
# MLflow writes this file (the registered name and version, YAML; never executed) into every
# download of a ``models:/`` URI, after signing: the one file a download may add
DOWNLOAD_METADATA_FILE = "registered_model_meta"
PRIVATE_KEY_FILE = "signing_key.pem"
PUBLIC_KEY_FILE = "signing_key.pub.pem"


class ProvenanceError(RuntimeError):
    """A model whose origin or integrity cannot be proven; the message says which file or which
    rule. (This module imports nothing heavy: the registry and settings import it.)"""


class UnsignedModelError(ProvenanceError):
    """The artifact carries no manifest or no signature."""


class UnknownKeyError(ProvenanceError):
    """The artifact is signed by a key that is not among the trusted ones."""


class BadSignatureError(ProvenanceError):
    """The signature does not match the manifest (or is malformed)."""


class ManifestMismatchError(ProvenanceError):
    """A file is missing, added or changed since the manifest was signed."""


class KeyFileError(ValueError):
    """A key file or key text that cannot be used (unreadable, wrong type, too open)."""


# --------------------------------------------------------------------------- keys
def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's id: first 16 hex digits of the SHA-256 of its raw 32 bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    """The trainer's private key and its id (the id goes into every signature)."""

    private_key: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id(self.private_key.public_key())

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


def write_key_pair(folder: Path) -> SigningKey:
    """Generate a key pair in ``folder``: :data:`PRIVATE_KEY_FILE` (mode 0600, created so —
    never readable by others, not even for an instant) and :data:`PUBLIC_KEY_FILE`.

    Raises
    ------
    FileExistsError
        When ``folder`` already holds a private key (a key is never overwritten).
    """
    folder.mkdir(parents=True, exist_ok=True)
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: never overwrite a key; mode 0o600 from the start (the umask can only narrow it)
    descriptor = os.open(folder / PRIVATE_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    (folder / PUBLIC_KEY_FILE).write_bytes(public_key_pem(private_key.public_key()))
    return SigningKey(private_key)


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_signing_key(path: Path) -> SigningKey:
    """The private key in the PEM file ``path``; refused when group or others may read it."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"signing key {path}: cannot read it ({error.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"signing key {path}: permissions {stat.S_IMODE(mode):04o} let others read it;"
            f" it must be readable by its owner only (chmod 600 {path})"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyFileError(f"signing key {path}: not an unencrypted PEM key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"signing key {path}: a {type(key).__name__}, not an Ed25519 key")
    return SigningKey(key)


def ensure_signing_key(path: Path) -> SigningKey:
    """The private key at ``path``; on first use, a new pair is created there (the public key
    beside it as :data:`PUBLIC_KEY_FILE`). The zero-configuration default of ``riskloop run``."""
    if not path.exists() and path.name == PRIVATE_KEY_FILE:
        try:
            key = write_key_pair(path.parent)
        except FileExistsError:  # another process created it meanwhile
            pass
        else:
            log.info("created the model-signing key pair %s (key id %s)", path, key.key_id)
            return key
    return load_signing_key(path)


def parse_public_key(text: str, source: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text or the base64 of its raw 32 bytes."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            raw = base64.b64decode(text, validate=True)
            if len(raw) != 32:
                raise ValueError(f"{len(raw)} bytes, an Ed25519 key has 32")
            key = Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as error:
        raise KeyFileError(f"trusted key {source}: not an Ed25519 public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"trusted key {source}: a {type(key).__name__}, not Ed25519")
    return key


def load_trusted_keys(sources: Iterable[str]) -> dict[str, Ed25519PublicKey]:
    """Trusted public keys by key id, from each source: a PEM file, a folder (its ``*.pem``
    files that hold public keys) or the base64 of a raw 32-byte key.

    Raises
    ------
    KeyFileError
        A source that is neither an existing file or folder nor a valid key.
    """
    keys: dict[str, Ed25519PublicKey] = {}
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = [p for p in sorted(path.glob("*.pem")) if b"PUBLIC KEY" in p.read_bytes()]
            found = [parse_public_key(p.read_text(), str(p)) for p in files]
        elif path.is_file():
            found = [parse_public_key(path.read_text(), str(path))]
        elif _is_raw_key(source):
            found = [parse_public_key(source, "given as base64")]
        else:
            raise KeyFileError(
                f"trusted key {source}: no such file or folder, nor the base64 of a 32-byte"
                " Ed25519 public key"
            )
        keys.update((key_id(key), key) for key in found)
    return keys


def _is_raw_key(text: str) -> bool:
    try:
        return len(base64.b64decode(text.strip(), validate=True)) == 32
    except (ValueError, binascii.Error):
        return False


# --------------------------------------------------------------------------- manifest
def canonical_json(document: Any) -> bytes:
    """The one byte form of a JSON document: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _artifact_files(model_dir: Path) -> list[str]:
    """Relative paths of every file under ``model_dir`` but the manifest and its signature."""
    return sorted(
        p.relative_to(model_dir).as_posix()
        for p in model_dir.rglob("*")
        if (p.is_file() or p.is_symlink()) and p.name not in (MANIFEST_FILE, SIGNATURE_FILE)
    )


def build_manifest(model_dir: Path) -> dict[str, Any]:
    """Every file of ``model_dir`` (but the manifest and signature) with its SHA-256 and size."""
    files = {}
    for name in _artifact_files(model_dir):
        path = model_dir / name
        if path.is_symlink():
            raise ProvenanceError(f"{name}: a symbolic link; a model artifact holds plain files")
        files[name] = {"sha256": _file_sha256(path), "size": path.stat().st_size}
    return {"format": MANIFEST_FORMAT, "files": files}


def sign_model(model_dir: Path, signing_key: SigningKey) -> str:
    """Write the manifest of ``model_dir`` and its signature into the folder.

    Returns
    -------
    str
        The model's content digest (:func:`content_digest`).
    """
    manifest = canonical_json(build_manifest(model_dir))
    signature = {
        "format": SIGNATURE_FORMAT,
        "algorithm": "ed25519",
        "key_id": signing_key.key_id,
        "signature": base64.b64encode(signing_key.private_key.sign(manifest)).decode(),
    }
    (model_dir / MANIFEST_FILE).write_bytes(manifest)
    (model_dir / SIGNATURE_FILE).write_bytes(canonical_json(signature))
    return content_digest(manifest, canonical_json(signature))


def content_digest(manifest: bytes, signature: bytes) -> str:
    """SHA-256 over the manifest's and the signature's bytes: what reload compares. Both count,
    so a model re-signed in place by another key (same files) is noticed too."""
    return hashlib.sha256(
        hashlib.sha256(manifest).digest() + hashlib.sha256(signature).digest()
    ).hexdigest()


def verify_model(model_dir: Path, trusted_keys: Mapping[str, Ed25519PublicKey]) -> str:
    """Prove ``model_dir`` is, file for file, what a trusted key signed; read nothing else.

    Parameters
    ----------
    model_dir : Path
        The downloaded MLflow model folder.
    trusted_keys : mapping of key id to public key
        The keys whose signatures are accepted (:func:`load_trusted_keys`).

    Returns
    -------
    str
        The content digest (:func:`content_digest`) reload compares.

    Raises
    ------
    UnsignedModelError, UnknownKeyError, BadSignatureError, ManifestMismatchError
        Each says which file or which key.
    """
    manifest_path, signature_path = model_dir / MANIFEST_FILE, model_dir / SIGNATURE_FILE
    for path in (manifest_path, signature_path):
        if not path.is_file():
            raise UnsignedModelError(
                f"unsigned model: {path.name} is missing from the artifact; refusing to load it"
                " (register it again with `riskloop run`, which signs what it registers)"
            )
    manifest_bytes = manifest_path.read_bytes()
    signature = _read_signature(signature_path)
    if not trusted_keys:
        raise UnknownKeyError(
            f"the model is signed by key {signature['key_id']}, but no key is trusted"
            " (set RISKLOOP_TRUSTED_KEYS, or run `riskloop run` once for a local key)"
        )
    public_key = trusted_keys.get(signature["key_id"])
    if public_key is None:
        raise UnknownKeyError(
            f"the model is signed by key {signature['key_id']}, which is not trusted"
            f" (trusted: {', '.join(sorted(trusted_keys))}); refusing to load it"
        )
    try:
        public_key.verify(signature["raw"], manifest_bytes)
    except InvalidSignature:
        raise BadSignatureError(
            f"bad signature: {MANIFEST_FILE} was not signed by key {signature['key_id']}"
            " (the manifest or the signature was changed); refusing to load it"
        ) from None
    _check_files(model_dir, json.loads(manifest_bytes))
    return content_digest(manifest_bytes, signature_path.read_bytes())


def _read_signature(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
        raw = base64.b64decode(document["signature"], validate=True)
        key = str(document["key_id"])
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise BadSignatureError(f"bad signature: {path.name} is malformed ({error})") from None
    return {"key_id": key, "raw": raw}


def _check_files(model_dir: Path, manifest: Mapping[str, Any]) -> None:
    """Refuse the first file missing, added or changed since signing (named)."""
    listed: Mapping[str, Mapping[str, Any]] = manifest.get("files", {})
    present = set(_artifact_files(model_dir)) - {DOWNLOAD_METADATA_FILE}
    for name in sorted(set(listed) - present):
        raise ManifestMismatchError(f"manifest mismatch: {name} is missing from the artifact")
    for name in sorted(present - set(listed)):
        raise ManifestMismatchError(
            f"manifest mismatch: {name} was added to the artifact after signing"
        )
    for name in sorted(listed):
        path = model_dir / name
        if path.is_symlink():
            raise ManifestMismatchError(f"manifest mismatch: {name} was replaced by a link")
        expected = listed[name]
        if path.stat().st_size != expected["size"] or _file_sha256(path) != expected["sha256"]:
            raise ManifestMismatchError(
                f"manifest mismatch: {name} was changed after signing (SHA-256"
                f" {_file_sha256(path)[:16]}…, signed {expected['sha256'][:16]}…)"
            )
