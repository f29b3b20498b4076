"""Models whose origin is proven: signed manifests, trusted keys, artifact roots.

One scorer is registered (signed) in a temporary tracking store per module; each tampering test
works on its own copy of the stored model folder, or on a version of its own."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from riskloop import provenance, registry
from tests.conftest import CREDIT_CSV

MODEL = "provenance-test"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two trainer key pairs (the current one and an older one, for rotation)."""
    folder = tmp_path_factory.mktemp("keys")
    return {
        "current": provenance.write_key_pair(folder / "current"),
        "old": provenance.write_key_pair(folder / "old"),
        "folder": folder,
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, keys):
    """A tracking store of its own, trusting the current key, artifacts under its folder."""
    import mlflow

    folder = tmp_path_factory.mktemp("registry")
    previous = registry.current_tracking_uri()
    previous_trust = registry.current_trust()
    registry.configure(f"sqlite:///{folder / 'mlflow.db'}")
    registry.use_experiment("provenance", folder / "mlartifacts")
    trust = registry.ModelTrust(
        key_sources=(str(keys["folder"] / "current" / provenance.PUBLIC_KEY_FILE),),
        artifact_roots=(str(folder / "mlartifacts"),),
    )
    registry.configure_trust(trust)
    mlflow.start_run()
    yield {"folder": folder, "trust": trust}
    mlflow.end_run()
    registry.configure(previous)
    registry.configure_trust(previous_trust)


@pytest.fixture(scope="module")
def signed_version(workspace, keys, credit_scorer):
    return registry.register_scorer(credit_scorer, MODEL, {}, signing_key=keys["current"]).version


@pytest.fixture(scope="module")
def stored_model(signed_version, tmp_path_factory, workspace):
    """The registered model as downloaded (verified once)."""
    folder = tmp_path_factory.mktemp("stored")
    local, _ = registry.download_verified(MODEL, signed_version, folder, workspace["trust"])
    return local


@pytest.fixture()
def model_copy(stored_model, tmp_path) -> Path:
    return Path(shutil.copytree(stored_model, tmp_path / "model"))


def trusted(*keys: provenance.SigningKey):
    return {k.key_id: k.public_key for k in keys}


@pytest.fixture()
def credit_rows():
    import pandas as pd

    return pd.read_csv(CREDIT_CSV).sample(50, random_state=1)


# --------------------------------------------------------------------------- the manifest
def test_manifest_lists_every_file_of_the_artifact(model_copy):
    manifest = json.loads((model_copy / provenance.MANIFEST_FILE).read_bytes())
    listed = set(manifest["files"])
    on_disk = {p.relative_to(model_copy).as_posix() for p in model_copy.rglob("*") if p.is_file()}
    assert listed == on_disk - {provenance.MANIFEST_FILE, provenance.SIGNATURE_FILE}
    # MLflow's own files and the scorer's are all covered; the artifact carries no code
    assert {"MLmodel", "requirements.txt", "python_env.yaml", "conda.yaml"} <= listed
    assert "data/scorer/scorer.json" in listed
    assert not [name for name in listed if name.endswith(".py")]
    # canonical bytes: what was signed re-serialises to itself
    assert (
        provenance.canonical_json(manifest) == (model_copy / provenance.MANIFEST_FILE).read_bytes()
    )


def test_signed_model_verifies_and_gives_its_content_digest(model_copy, keys):
    digest = provenance.verify_model(model_copy, trusted(keys["current"]))
    import hashlib

    manifest = hashlib.sha256((model_copy / provenance.MANIFEST_FILE).read_bytes()).digest()
    signature = hashlib.sha256((model_copy / provenance.SIGNATURE_FILE).read_bytes()).digest()
    assert digest == hashlib.sha256(manifest + signature).hexdigest()


def test_unsigned_model_is_refused(model_copy, keys):
    (model_copy / provenance.SIGNATURE_FILE).unlink()
    with pytest.raises(provenance.UnsignedModelError, match="unsigned model"):
        provenance.verify_model(model_copy, trusted(keys["current"]))


def test_signature_by_an_untrusted_key_is_refused(model_copy, keys):
    with pytest.raises(provenance.UnknownKeyError, match=keys["current"].key_id):
        provenance.verify_model(model_copy, trusted(keys["old"]))
    with pytest.raises(provenance.UnknownKeyError, match="no key is trusted"):
        provenance.verify_model(model_copy, {})


def test_a_forged_signature_under_a_trusted_key_id_is_refused(model_copy, keys):
    """Signed by another key but claiming the trusted key's id."""
    provenance.sign_model(model_copy, keys["old"])
    signature = json.loads((model_copy / provenance.SIGNATURE_FILE).read_bytes())
    signature["key_id"] = keys["current"].key_id
    (model_copy / provenance.SIGNATURE_FILE).write_text(json.dumps(signature))
    with pytest.raises(provenance.BadSignatureError, match="bad signature"):
        provenance.verify_model(model_copy, trusted(keys["current"]))


def test_an_edited_manifest_is_refused(model_copy, keys):
    """Tamper with a file and update the manifest to match: the signature no longer does."""
    scorer_json = model_copy / "data/scorer/scorer.json"
    scorer_json.write_text(scorer_json.read_text().replace('"threshold"', '"threshold" '))
    manifest = json.loads((model_copy / provenance.MANIFEST_FILE).read_bytes())
    manifest["files"]["data/scorer/scorer.json"] = provenance.build_manifest(model_copy)["files"][
        "data/scorer/scorer.json"
    ]
    (model_copy / provenance.MANIFEST_FILE).write_bytes(provenance.canonical_json(manifest))
    with pytest.raises(provenance.BadSignatureError, match=provenance.MANIFEST_FILE):
        provenance.verify_model(model_copy, trusted(keys["current"]))


@pytest.mark.parametrize(
    "name", ["data/scorer/estimator/arrays.npz", "data/scorer/scorer.json", "MLmodel"]
)
def test_a_changed_file_is_refused_and_named(model_copy, keys, name):
    path = model_copy / name
    assert path.is_file()
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(provenance.ManifestMismatchError, match=f"{name} was changed"):
        provenance.verify_model(model_copy, trusted(keys["current"]))


def test_a_same_size_change_is_refused(model_copy, keys):
    """MLmodel's loader redirected, same length: only the digest tells."""
    path = model_copy / "MLmodel"
    text = path.read_text()
    assert "riskloop.mlflow_model" in text
    path.write_text(text.replace("riskloop.mlflow_model", "riskloop.mlflow_evil_"))
    assert path.stat().st_size == len(text.encode())
    with pytest.raises(provenance.ManifestMismatchError, match="MLmodel was changed"):
        provenance.verify_model(model_copy, trusted(keys["current"]))


def test_an_added_code_file_is_refused_and_named(model_copy, keys):
    """Code MLflow would put on sys.path (an MLmodel ``code`` folder) cannot be slipped in."""
    (model_copy / "code" / "riskloop").mkdir(parents=True)
    (model_copy / "code" / "riskloop" / "mlflow_model.py").write_text("import os\n")
    with pytest.raises(
        provenance.ManifestMismatchError, match="code/riskloop/mlflow_model.py was added"
    ):
        provenance.verify_model(model_copy, trusted(keys["current"]))


def test_a_removed_file_is_refused_and_named(model_copy, keys):
    (model_copy / "conda.yaml").unlink()
    with pytest.raises(provenance.ManifestMismatchError, match="conda.yaml is missing"):
        provenance.verify_model(model_copy, trusted(keys["current"]))


def test_rotation_old_key_still_trusted_then_retired(model_copy, keys):
    by_current = provenance.verify_model(model_copy, trusted(keys["current"]))
    provenance.sign_model(model_copy, keys["old"])
    both = trusted(keys["current"], keys["old"])
    # signed by the older key, both trusted: loads; same files, another signature: the content
    # digest moves, so a service notices a model re-signed in place
    assert provenance.verify_model(model_copy, both) != by_current
    with pytest.raises(provenance.UnknownKeyError, match=keys["old"].key_id):
        provenance.verify_model(model_copy, trusted(keys["current"]))  # older key retired


# --------------------------------------------------------------------------- keys
def test_private_key_is_owner_only_and_never_overwritten(tmp_path):
    key = provenance.write_key_pair(tmp_path)
    assert stat.S_IMODE((tmp_path / provenance.PRIVATE_KEY_FILE).stat().st_mode) == 0o600
    assert provenance.load_signing_key(tmp_path / provenance.PRIVATE_KEY_FILE).key_id == key.key_id
    with pytest.raises(FileExistsError):
        provenance.write_key_pair(tmp_path)
    assert (
        provenance.ensure_signing_key(tmp_path / provenance.PRIVATE_KEY_FILE).key_id == key.key_id
    )


def test_a_private_key_others_can_read_is_refused(tmp_path):
    provenance.write_key_pair(tmp_path)
    (tmp_path / provenance.PRIVATE_KEY_FILE).chmod(0o644)
    with pytest.raises(provenance.KeyFileError, match="0644 let others read it.*chmod 600"):
        provenance.load_signing_key(tmp_path / provenance.PRIVATE_KEY_FILE)


def test_trusted_keys_from_files_folders_and_base64(tmp_path, keys):
    import base64

    from cryptography.hazmat.primitives import serialization

    raw = keys["old"].public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    found = provenance.load_trusted_keys(
        [str(keys["folder"] / "current"), base64.b64encode(raw).decode()]
    )
    assert set(found) == {keys["current"].key_id, keys["old"].key_id}
    with pytest.raises(provenance.KeyFileError, match="no such file"):
        provenance.load_trusted_keys([str(tmp_path / "missing.pem")])
    with pytest.raises(provenance.KeyFileError, match="bm90IGEga2V5: no such file.*32-byte"):
        provenance.load_trusted_keys(["bm90IGEga2V5"])
    (tmp_path / "private.pem").write_bytes(
        (keys["folder"] / "old" / provenance.PRIVATE_KEY_FILE).read_bytes()
    )
    with pytest.raises(provenance.KeyFileError, match="private.pem: not an Ed25519 public key"):
        provenance.load_trusted_keys([str(tmp_path / "private.pem")])


# --------------------------------------------------------------------------- the registry
def test_registered_model_loads_verified_and_scores_as_trained(
    signed_version, credit_scorer, credit_rows, keys
):
    info = registry.get_version(MODEL, signed_version)
    assert info.tags[registry.SIGNING_KEY_TAG] == keys["current"].key_id
    scorer = registry.load_scorer(MODEL, signed_version)
    assert scorer.metadata["content_digest"] == info.tags[registry.MANIFEST_TAG]
    np.testing.assert_array_equal(
        scorer.predict_proba(credit_rows), credit_scorer.predict_proba(credit_rows)
    )


def _stored_folder(version: str) -> Path:
    from mlflow import MlflowClient

    uri = MlflowClient().get_model_version_download_uri(MODEL, version)
    return Path(uri.removeprefix("file://"))


def test_a_model_changed_in_the_store_is_refused_and_its_digest_moves(
    workspace, keys, credit_scorer
):
    version = registry.register_scorer(
        credit_scorer, MODEL, {}, signing_key=keys["current"]
    ).version
    before = registry.content_digest(MODEL, version)
    arrays = _stored_folder(version) / "data/scorer/estimator/arrays.npz"
    original = arrays.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0xFF  # one byte of the coefficients flipped
    arrays.write_bytes(bytes(data))
    with pytest.raises(provenance.ManifestMismatchError, match="estimator/arrays.npz"):
        registry.load_scorer(MODEL, version)
    assert registry.content_digest(MODEL, version) == before  # the manifest did not change
    # rewritten and re-signed in place by a trusted key: same version, another content digest
    arrays.write_bytes(original)
    scorer_json = _stored_folder(version) / "data/scorer/scorer.json"
    document = json.loads(scorer_json.read_text())
    document["threshold"] = 0.25
    scorer_json.write_text(json.dumps(document))
    provenance.sign_model(_stored_folder(version), keys["current"])
    after = registry.content_digest(MODEL, version)
    assert after != before
    reloaded = registry.load_scorer(MODEL, version)
    assert (reloaded.threshold, reloaded.metadata["content_digest"]) == (0.25, after)


def test_an_unsigned_registered_model_is_refused(workspace, credit_scorer, tmp_path):
    import mlflow

    credit_scorer.save(tmp_path / "scorer")
    mlflow.pyfunc.log_model(
        name="unsigned",
        loader_module=registry.LOADER_MODULE,
        data_path=str(tmp_path / "scorer"),
        registered_model_name=MODEL,
        pip_requirements=["numpy"],
    )
    versions = registry._client().search_model_versions(f"name='{MODEL}'")
    latest = max(int(v.version) for v in versions)
    with pytest.raises(provenance.UnsignedModelError, match="riskloop-manifest.json is missing"):
        registry.load_scorer(MODEL, str(latest))
    assert registry.content_digest(MODEL, str(latest)) == "unsigned"


def test_registering_without_a_signing_key_is_refused(workspace, credit_scorer):
    with pytest.raises(provenance.KeyFileError, match="no signing key"):
        registry.register_scorer(credit_scorer, MODEL, {})


def test_artifacts_outside_the_roots_are_refused_before_anything_is_read(
    workspace, monkeypatch, signed_version
):
    import mlflow

    client = registry._client()
    outside = client.create_model_version(MODEL, source="file:///etc", run_id=None).version

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded before the artifact root was checked")

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", no_download)
    with pytest.raises(registry.ArtifactRootError, match="file:///etc, outside the trusted"):
        registry.load_scorer(MODEL, outside)
    with pytest.raises(registry.ArtifactRootError):
        registry.content_digest(MODEL, outside)
    # a signed version inside the store, but the roots say elsewhere: refused the same way
    elsewhere = registry.ModelTrust(workspace["trust"].key_sources, ("/nonexistent/root",))
    with pytest.raises(registry.ArtifactRootError, match="/nonexistent/root"):
        registry.load_scorer(MODEL, signed_version, trust=elsewhere)


@pytest.mark.parametrize(
    ("uri", "root", "inside"),
    [
        ("/a/b/models/m-1/artifacts", "/a/b", True),
        ("file:///a/b/models/m-1", "/a/b", True),
        ("/a/b/../../etc", "/a/b", False),
        ("/a/bc/x", "/a/b", False),
        ("s3://bucket/riskloop/1/m", "s3://bucket/riskloop", True),
        ("s3://bucket/riskloop-evil/1", "s3://bucket/riskloop", False),
        ("s3://bucket/riskloop/../x", "s3://bucket/riskloop", False),
        ("s3://bucket/riskloop/1", "/a/b", False),
    ],
)
def test_artifact_root_matching(uri, root, inside):
    trust = registry.ModelTrust((), (root,))
    if inside:
        trust.check_artifact_root(uri)
    else:
        with pytest.raises(registry.ArtifactRootError):
            trust.check_artifact_root(uri)


# --------------------------------------------------------------------------- MLflow's loader
def test_mlflow_pyfunc_load_model_verifies_before_reading(model_copy, credit_rows, credit_scorer):
    import mlflow

    model = mlflow.pyfunc.load_model(str(model_copy))
    np.testing.assert_allclose(
        model.predict(credit_rows)["probability_of_default"],
        credit_scorer.predict_proba(credit_rows),
    )
    scorer_json = model_copy / "data/scorer/scorer.json"
    scorer_json.write_text(scorer_json.read_text().replace('"threshold": ', '"threshold":'))
    with pytest.raises(provenance.ManifestMismatchError, match="data/scorer/scorer.json"):
        mlflow.pyfunc.load_model(str(model_copy))


def test_mlflow_pyfunc_load_model_refuses_a_tampered_manifest(model_copy):
    import mlflow

    manifest = json.loads((model_copy / provenance.MANIFEST_FILE).read_bytes())
    del manifest["files"]["conda.yaml"]
    (model_copy / provenance.MANIFEST_FILE).write_bytes(provenance.canonical_json(manifest))
    with pytest.raises(provenance.BadSignatureError):
        mlflow.pyfunc.load_model(str(model_copy))


def test_registry_load_pyfunc_verifies_the_download(signed_version, credit_rows, credit_scorer):
    import mlflow

    expected = credit_scorer.predict_proba(credit_rows)
    model = registry.load_pyfunc(MODEL, signed_version)
    np.testing.assert_allclose(model.predict(credit_rows)["probability_of_default"], expected)
    # MLflow's own download of a registry URI (it adds registered_model_meta) verifies too
    direct = mlflow.pyfunc.load_model(f"models:/{MODEL}/{signed_version}")
    np.testing.assert_allclose(direct.predict(credit_rows)["probability_of_default"], expected)


# --------------------------------------------------------------------------- the service
def test_the_service_notices_a_model_changed_in_place_and_refuses_a_tampered_one(
    workspace, keys, credit_scorer
):
    """The periodic check against the real registry: a re-signed model under the same version
    is swapped in; a tampered one is refused, the model in service stays, and why is kept."""
    import asyncio

    from riskloop.serving.loading import champion_identity, load_registered_model
    from riskloop.serving.metrics import ServiceMetrics
    from riskloop.serving.model_holder import ModelHolder
    from riskloop.serving.reloader import ModelReloader

    name = "provenance-reload"
    version = registry.register_scorer(credit_scorer, name, {}, signing_key=keys["current"]).version
    registry.set_alias(name, version)
    holder = ModelHolder()
    reloader = ModelReloader(
        holder,
        ServiceMetrics(),
        load_model=lambda: load_registered_model(name),
        champion_version=lambda: champion_identity(name),
    )
    asyncio.run(reloader.start())
    first = holder.current
    assert first is not None and first.content_digest == registry.content_digest(name, version)

    from mlflow import MlflowClient

    folder = Path(
        MlflowClient().get_model_version_download_uri(name, version).removeprefix("file://")
    )
    scorer_json = folder / "data/scorer/scorer.json"
    document = json.loads(scorer_json.read_text())
    document["threshold"] = 0.3
    scorer_json.write_text(json.dumps(document))
    provenance.sign_model(folder, keys["old"])  # re-signed by a key the service does not trust
    asyncio.run(reloader.check())
    assert holder.current is first  # refused: still serving the verified model
    assert keys["old"].key_id in reloader.last_refusal and "not trusted" in reloader.last_refusal

    provenance.sign_model(folder, keys["current"])  # re-signed by the trainer: same version
    asyncio.run(reloader.check())
    assert holder.current is not first and holder.current.version == version
    assert holder.current.scorer.threshold == 0.3 and reloader.last_refusal is None


# --------------------------------------------------------------------------- settings
def test_settings_trust_the_local_key_until_keys_are_configured(tmp_path, keys):
    from riskloop.settings import Settings

    local = Settings(project_dir=tmp_path, data_dir=tmp_path / "data", artifact_dir="mlartifacts")
    key = provenance.ensure_signing_key(local.resolved_signing_key_file)  # first `riskloop run`
    assert local.resolved_signing_key_file == tmp_path / "data/keys/signing_key.pem"
    assert set(local.model_trust().trusted_keys()) == {key.key_id}
    assert local.model_trust().artifact_roots == (str(tmp_path / "mlartifacts"),)

    deployed = Settings(
        project_dir=tmp_path,
        data_dir=tmp_path / "data",
        trusted_keys=[str(keys["folder"] / "current")],
        artifact_roots=["/srv/mlartifacts"],
    )
    trust = deployed.model_trust()
    assert set(trust.trusted_keys()) == {keys["current"].key_id}  # the local key is not trusted
    assert trust.artifact_roots == ("/srv/mlartifacts",)


# --------------------------------------------------------------------------- the pipeline
def test_a_refused_champion_does_not_block_the_run_that_replaces_it(
    workspace, credit_scorer, tmp_path, monkeypatch, credit_scenario
):
    """An unsigned champion (registered before signing existed, or tampered) is reported as
    refused, with no evidence, so `riskloop run` can register a signed successor."""
    import mlflow

    from riskloop.pipelines import datasets
    from riskloop.pipelines.registration.nodes import champion_evidence

    name = "provenance-unsigned-champion"
    credit_scorer.save(tmp_path / "scorer")
    info = mlflow.pyfunc.log_model(
        name="unsigned",
        loader_module=registry.LOADER_MODULE,
        data_path=str(tmp_path / "scorer"),
        registered_model_name=name,
        pip_requirements=["numpy"],
    )
    registry.set_alias(name, str(info.registered_model_version))
    monkeypatch.setattr(datasets, "load_scenario", lambda path: credit_scenario)
    monkeypatch.setattr(credit_scenario, "model_name", name, raising=False)
    champion = datasets.ChampionDataset("unused.yml").load()
    assert champion is not None and champion.scorer is None
    assert champion.refusal.startswith("unsigned model")
    evidence = champion_evidence(champion, None, credit_scenario)
    assert evidence.evidence is None and "was refused (unsigned model" in evidence.note
