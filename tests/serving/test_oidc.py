"""OIDCTokenVerifier against a real, tiny identity provider: RSA keys generated here, the
discovery document and the key set served over HTTP on loopback, tokens signed by PyJWT.

Each check the verifier makes has a token that breaks exactly that check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from riskloop.serving.app import create_app
from riskloop.serving.auth import FAILURE_REASONS
from riskloop.serving.identity import InvalidCredential, Role
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.oidc import OIDCTokenVerifier, roles_from_claims
from riskloop.store import PredictionStore
from tests.credentials import bearer
from tests.serving.test_api import APPLICANT

AUDIENCE = "riskloop-ui"


@dataclass
class TinyProvider:
    """An issuer on loopback: GET /.well-known/openid-configuration and GET /jwks."""

    url: str
    keys: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    discovery_issuer: str | None = None  # None: its own URL

    def publish(self, *private_keys: tuple[str, Any]) -> None:
        """Serve the public halves of ``(kid, private key)`` pairs as the key set."""
        self.keys = [
            {
                **json.loads(
                    jwt.algorithms.get_default_algorithms()[_alg(key)].to_jwk(key.public_key())
                ),
                "kid": kid,
                "use": "sig",
            }
            for kid, key in private_keys
        ]


def _alg(key: Any) -> str:
    return "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture()
def provider(rsa_key) -> Iterator[TinyProvider]:
    state: dict[str, TinyProvider] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            tiny = state["provider"]
            tiny.requests.append(self.path)
            if self.path == "/.well-known/openid-configuration":
                body = {"issuer": tiny.discovery_issuer or tiny.url, "jwks_uri": f"{tiny.url}/jwks"}
            elif self.path == "/jwks":
                body = {"keys": tiny.keys}
            else:
                self.send_error(404)
                return
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["provider"] = TinyProvider(url=f"http://127.0.0.1:{server.server_port}")
    state["provider"].publish(("key-1", rsa_key))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state["provider"]
    server.shutdown()
    server.server_close()


def claims_for(provider: TinyProvider, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": provider.url,
        "aud": AUDIENCE,
        "sub": "u-123",
        "email": "alice@example.com",
        "iat": now,
        "exp": now + 300,
        "roles": ["scorer"],
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def signed(claims: dict[str, Any], key: Any, kid: str | None = "key-1", alg: str = "RS256") -> str:
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def verifier_for(provider: TinyProvider, **options: Any) -> OIDCTokenVerifier:
    return OIDCTokenVerifier(provider.url, AUDIENCE, **options)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_valid_id_token_names_the_user_and_their_roles(provider, rsa_key):
    token = signed(claims_for(provider, roles=["scorer", "analyst"]), rsa_key)
    principal = verifier_for(provider).verify(token)
    assert principal is not None
    assert principal.name == "user:alice@example.com"
    assert principal.roles == {Role.SCORER, Role.ANALYST}
    assert principal.kind == "user"


def test_without_an_email_the_user_is_named_by_subject(provider, rsa_key):
    token = signed(claims_for(provider, email=None), rsa_key)
    assert verifier_for(provider).verify(token).name == "user:u-123"


def test_nothing_is_fetched_until_a_token_arrives_and_api_keys_fall_through(provider):
    verifier = verifier_for(provider)
    assert provider.requests == []
    assert verifier.verify("rlk_abc123_" + "s" * 43) is None
    assert verifier.verify("not.a.jwt") is None
    assert provider.requests == [], "a token that is not a JWT must not reach the issuer"


def test_keys_are_fetched_once_and_reused(provider, rsa_key):
    verifier = verifier_for(provider)
    for _ in range(3):
        verifier.verify(signed(claims_for(provider), rsa_key))
    assert provider.requests == ["/.well-known/openid-configuration", "/jwks"]


def test_an_expired_token_is_refused_as_expired(provider, rsa_key):
    now = int(time.time())
    token = signed(claims_for(provider, iat=now - 600, exp=now - 120), rsa_key)
    with pytest.raises(InvalidCredential) as refused:
        verifier_for(provider, leeway_s=30).verify(token)
    assert refused.value.reason == "expired"
    assert "sign in again" in refused.value.message


def test_a_token_expired_within_the_leeway_is_accepted(provider, rsa_key):
    now = int(time.time())
    token = signed(claims_for(provider, iat=now - 600, exp=now - 10), rsa_key)
    assert verifier_for(provider, leeway_s=30).verify(token) is not None


def test_a_token_not_yet_valid_is_refused(provider, rsa_key):
    token = signed(claims_for(provider, nbf=int(time.time()) + 600), rsa_key)
    with pytest.raises(InvalidCredential, match="not yet valid"):
        verifier_for(provider).verify(token)


@pytest.mark.parametrize("claim", ["exp", "iat", "sub"])
def test_a_token_missing_a_required_claim_is_refused(provider, rsa_key, claim):
    token = signed(claims_for(provider, **{claim: None}), rsa_key)
    with pytest.raises(InvalidCredential, match=claim):
        verifier_for(provider).verify(token)


def test_a_token_for_another_audience_is_refused(provider, rsa_key):
    token = signed(claims_for(provider, aud="another-app"), rsa_key)
    with pytest.raises(InvalidCredential, match="audience") as refused:
        verifier_for(provider).verify(token)
    assert refused.value.reason == "invalid"


def test_a_token_from_another_issuer_is_refused(provider, rsa_key):
    token = signed(claims_for(provider, iss="https://evil.example.com"), rsa_key)
    with pytest.raises(InvalidCredential, match="issued by .https://evil.example.com"):
        verifier_for(provider).verify(token)


def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(
    provider, rsa_key, other_rsa_key
):
    token = signed(claims_for(provider), other_rsa_key, kid="key-1")
    with pytest.raises(InvalidCredential, match="Signature verification failed"):
        verifier_for(provider).verify(token)


def test_an_unsigned_token_alg_none_is_refused(provider):
    token = jwt.encode(claims_for(provider), None, algorithm="none", headers={"kid": "key-1"})
    with pytest.raises(InvalidCredential, match="'none'"):
        verifier_for(provider).verify(token)
    assert provider.requests == [], "an unacceptable algorithm is refused before any fetch"


def test_hs256_signed_with_the_public_key_is_refused(provider, rsa_key):
    """The key confusion attack: the attacker HMACs with the issuer's public key, which a
    verifier that trusted the header's algorithm would use as the HMAC secret."""
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "key-1"}).encode())
    payload = _b64(json.dumps(claims_for(provider, roles=["admin"])).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{_b64(signature)}"
    with pytest.raises(InvalidCredential, match="'HS256'"):
        verifier_for(provider).verify(token)


def test_a_token_whose_header_algorithm_does_not_fit_the_key_is_refused(provider):
    """An EC-signed token naming the RSA key's kid: the key's own algorithm decides."""
    ec_key = ec.generate_private_key(ec.SECP256R1())
    token = signed(claims_for(provider), ec_key, kid="key-1", alg="ES256")
    with pytest.raises(InvalidCredential) as refused:
        verifier_for(provider).verify(token)
    assert refused.value.reason == "invalid"


def test_a_key_that_declares_its_algorithm_is_used_with_that_one_only(provider, rsa_key):
    provider.keys[0]["alg"] = "RS256"
    token = signed(claims_for(provider), rsa_key, alg="RS512")
    with pytest.raises(InvalidCredential, match="RS512"):
        verifier_for(provider).verify(token)


def test_a_key_without_a_declared_algorithm_takes_the_token_s(provider, rsa_key):
    token = signed(claims_for(provider), rsa_key, alg="PS256")
    assert verifier_for(provider).verify(token) is not None


def test_a_rotated_key_is_fetched_when_a_token_names_it(provider, rsa_key, other_rsa_key):
    verifier = verifier_for(provider, min_refresh_interval_s=0)
    verifier.verify(signed(claims_for(provider), rsa_key))
    provider.publish(("key-1", rsa_key), ("key-2", other_rsa_key))
    principal = verifier.verify(signed(claims_for(provider), other_rsa_key, kid="key-2"))
    assert principal is not None
    assert provider.requests.count("/jwks") == 2


def test_unknown_key_ids_refetch_at_most_once_per_interval(provider, rsa_key):
    verifier = verifier_for(provider, min_refresh_interval_s=60)
    verifier.verify(signed(claims_for(provider), rsa_key))
    for attempt in range(3):
        with pytest.raises(InvalidCredential, match="'made-up-"):
            verifier.verify(signed(claims_for(provider), rsa_key, kid=f"made-up-{attempt}"))
    assert provider.requests.count("/jwks") == 1, "made-up key ids must not hammer the issuer"


def test_an_unreachable_issuer_is_reported_as_unavailable():
    verifier = OIDCTokenVerifier("http://127.0.0.1:9", AUDIENCE, timeout_s=1)
    token = jwt.encode({"sub": "x"}, rsa.generate_private_key(65537, 2048), algorithm="RS256")
    with pytest.raises(InvalidCredential, match="could not be asked") as refused:
        verifier.verify(token)
    assert refused.value.reason == "unavailable"
    assert refused.value.reason in FAILURE_REASONS, "the failure metric's bounded label"


def test_a_discovery_document_for_another_issuer_is_refused(provider, rsa_key):
    provider.discovery_issuer = "https://elsewhere.example.com"
    with pytest.raises(InvalidCredential, match="elsewhere") as refused:
        verifier_for(provider).verify(signed(claims_for(provider), rsa_key))
    assert refused.value.reason == "unavailable"


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("http://login.example.com", "https"),
        ("login.example.com", "https"),
    ],
)
def test_an_issuer_reached_without_tls_is_refused_at_start(issuer, problem):
    with pytest.raises(ValueError, match=problem):
        OIDCTokenVerifier(issuer, AUDIENCE)


def test_hmac_algorithms_cannot_be_allowed():
    with pytest.raises(ValueError, match="HS256"):
        OIDCTokenVerifier("https://login.example.com", AUDIENCE, algorithms=["RS256", "HS256"])


@pytest.mark.parametrize(
    ("claims", "roles_claim", "expected"),
    [
        ({"roles": ["scorer", "analyst"]}, "roles", {Role.SCORER, Role.ANALYST}),
        ({"roles": "scorer outcomes"}, "roles", {Role.SCORER, Role.OUTCOMES}),
        ({"roles": ["scorer", "offline_access", "Admin", 7]}, "roles", {Role.SCORER}),
        ({"realm_access": {"roles": ["admin"]}}, "realm_access.roles", {Role.ADMIN}),
        ({"groups": ["analyst"]}, "groups", {Role.ANALYST}),
        ({"email": "a@example.com"}, "roles", set()),
        ({"roles": {"scorer": True}}, "roles", set()),
    ],
    ids=[
        "list",
        "space-separated",
        "unknown-ignored",
        "nested",
        "other-claim",
        "missing",
        "object",
    ],
)
def test_roles_come_from_the_configured_claim(claims, roles_claim, expected):
    assert roles_from_claims(claims, roles_claim) == expected


def test_roles_are_read_from_the_configured_claim_of_a_verified_token(provider, rsa_key):
    token = signed(claims_for(provider, roles=None, groups="analyst"), rsa_key)
    assert verifier_for(provider, roles_claim="groups").verify(token).roles == {Role.ANALYST}


def test_the_service_accepts_a_signed_in_user_and_logs_who_scored(provider, rsa_key, credit_scorer):
    """create_app with the verifier: the user's ID token is the bearer; /v1/me says who the
    API sees, scoring is logged under the user's name, and the analyst routes stay shut."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    store = PredictionStore("sqlite://", engine=engine)
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    app = create_app(holder, store, verifiers=[verifier_for(provider)])
    scorer = bearer(signed(claims_for(provider, roles=["scorer"]), rsa_key))
    with TestClient(app) as client:
        me = client.get("/v1/me", headers=scorer)
        scored = client.post(
            "/v1/score", json={**APPLICANT, "application_id": "oidc-1"}, headers=scorer
        )
        explained = client.get("/v1/explain/oidc-1", headers=scorer)
        expired = client.get(
            "/v1/me",
            headers=bearer(signed(claims_for(provider, iat=1, exp=2), rsa_key)),
        )
        logged = store.get("oidc-1")
    assert me.status_code == 200, me.text
    assert me.json() == {"name": "user:alice@example.com", "roles": ["scorer"], "kind": "user"}
    assert scored.status_code == 200, scored.text
    assert logged["actor"] == "user:alice@example.com"
    assert explained.status_code == 403
    assert "analyst" in explained.json()["error"]["message"]
    assert expired.status_code == 401
    assert "sign in again" in expired.json()["error"]["message"]
