"""People signed in through OpenID Connect: a :class:`~riskloop.serving.identity.TokenVerifier`
for the ID tokens the UI forwards on a user's behalf.

The UI signs the user in with the identity provider (the *issuer*) and sends the ID token it
received as the bearer of every API call. An ID token is a JWT signed by the issuer; its
audience (``aud``) is the UI's client id. :class:`OIDCTokenVerifier` accepts it when

- the signature verifies with one of the issuer's published keys (its JWKS, found through the
  discovery document ``<issuer>/.well-known/openid-configuration``), under an asymmetric
  algorithm from the allow-list: never ``none``, never an HMAC algorithm (whose "secret" would
  be the public key anyone can download);
- ``iss`` is the configured issuer, ``aud`` contains the configured audience;
- ``exp`` has not passed and ``nbf``/``iat`` are not in the future, give or take ``leeway_s``.

The caller's roles come from one claim (``roles`` by default; a dotted path such as
``realm_access.roles`` reaches into a nested object), as a list or a space-separated string;
names that are not riskloop roles are ignored. The caller is named ``user:<email>`` (or
``user:<sub>`` when the token carries no email), which is what the prediction log records.

Nothing is fetched when the verifier is built: the discovery document and the keys are fetched
on the first token, kept, and fetched again when a token names a key id the verifier has not
seen (the issuer rotated its keys), at most once per ``min_refresh_interval_s`` so tokens with
made-up key ids cannot make the service hammer the issuer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from riskloop.serving.identity import InvalidCredential, Principal, Role

# Asymmetric only: the verifier holds public keys, and an HMAC "key" made of a public key is a
# secret every attacker has (the classic RS256 → HS256 confusion).
ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class OIDCTokenVerifier:
    """Accepts ID tokens of one OpenID Connect issuer for one audience.

    Parameters
    ----------
    issuer : str
        The identity provider's issuer URL, exactly as its tokens' ``iss`` claim writes it
        (e.g. ``https://login.example.com/realms/riskloop``). ``https`` is required unless the
        host is loopback (a provider on the same machine, as in tests).
    audience : str
        The ``aud`` the tokens must carry: the UI's OAuth client id.
    roles_claim : str, default "roles"
        The claim holding the user's riskloop roles; dots reach into nested objects.
    algorithms : sequence of str, default all of :data:`ASYMMETRIC_ALGORITHMS`
        The signature algorithms accepted; HMAC algorithms and ``none`` are refused here.
    leeway_s : float, default 30
        Clock difference tolerated on ``exp``, ``nbf`` and ``iat``.
    timeout_s : float, default 5
        Timeout of each request to the issuer (discovery document, keys).
    min_refresh_interval_s : float, default 10
        Shortest time between two attempts to fetch the keys (after an unknown key id or a
        failed fetch).
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        roles_claim: str = "roles",
        *,
        algorithms: Sequence[str] = ASYMMETRIC_ALGORITHMS,
        leeway_s: float = 30.0,
        timeout_s: float = 5.0,
        min_refresh_interval_s: float = 10.0,
    ) -> None:
        parts = urlsplit(issuer)
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        )
        if not parts.hostname or not secure:
            raise ValueError(
                f"oidc_issuer must be an https:// URL (http:// only for a loopback host);"
                f" got {issuer!r}"
            )
        if not audience:
            raise ValueError("oidc_client_id (the tokens' audience) must be set with oidc_issuer")
        refused = sorted(set(algorithms) - set(ASYMMETRIC_ALGORITHMS))
        if refused:
            raise ValueError(
                f"token algorithms {refused} are not accepted: only asymmetric signatures"
                f" ({', '.join(ASYMMETRIC_ALGORITHMS)}) can be checked with public keys"
            )
        self.issuer = issuer
        self.audience = audience
        self.roles_claim = roles_claim
        self.algorithms = tuple(algorithms)
        self.leeway_s = leeway_s
        self.timeout_s = timeout_s
        self.min_refresh_interval_s = min_refresh_interval_s
        self._lock = threading.Lock()
        self._jwks_uri: str | None = None
        self._keys: dict[str | None, dict[str, Any]] = {}
        self._keys_fetch_attempted_at = float("-inf")

    def verify(self, token: str) -> Principal | None:
        """The signed-in user behind ``token``; None when ``token`` is not a JWT (an API key).

        Raises
        ------
        InvalidCredential
            A JWT that does not hold: expired (reason ``expired``), bad signature, unknown key,
            wrong issuer or audience, refused algorithm (``invalid``), or the issuer's keys
            cannot be fetched (``unavailable``).
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            return None  # not a JWT: another verifier's kind (API keys, the admin token)
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidCredential(
                "invalid",
                f"token signed with algorithm {algorithm!r}, which is not accepted;"
                f" accepted: {', '.join(self.algorithms)}",
            )
        key = self._key_for(header.get("kid"), algorithm)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidCredential("expired", "the sign-in has expired: sign in again") from None
        except jwt.InvalidAudienceError:
            received = _unverified_claim(token, "aud")
            raise InvalidCredential(
                "invalid",
                f"token is for audience {received!r}; this service accepts {self.audience!r}",
            ) from None
        except jwt.InvalidIssuerError:
            received = _unverified_claim(token, "iss")
            raise InvalidCredential(
                "invalid", f"token issued by {received!r}; this service accepts {self.issuer!r}"
            ) from None
        except jwt.PyJWTError as error:
            raise InvalidCredential("invalid", f"token refused: {error}") from None
        return Principal(
            name=f"user:{_user_name(claims)}",
            roles=roles_from_claims(claims, self.roles_claim),
            kind="user",
        )

    def _key_for(self, key_id: str | None, algorithm: str) -> jwt.PyJWK:
        """The issuer's public key ``key_id`` for ``algorithm``, fetching the keys when they
        have not been fetched yet or (rate-limited) when ``key_id`` is unknown."""
        with self._lock:
            jwk = self._known_key(key_id)
            now = time.monotonic()
            if jwk is None and now - self._keys_fetch_attempted_at >= self.min_refresh_interval_s:
                # a failed fetch waits its turn too: an unreachable issuer is asked again
                # after the interval, not by every request in between
                self._keys_fetch_attempted_at = now
                self._keys = self._fetch_keys()
                jwk = self._known_key(key_id)
        if jwk is None:
            raise InvalidCredential(
                "invalid", f"token signed with key id {key_id!r}, which the issuer does not publish"
            )
        try:
            # A key that declares its algorithm is used with that one only (PyJWT refuses a
            # token whose header says otherwise); one that does not gets the header's.
            return jwt.PyJWK(jwk, algorithm=jwk.get("alg") or algorithm)
        except jwt.PyJWTError as error:
            raise InvalidCredential(
                "invalid", f"the issuer's key {key_id!r} does not fit {algorithm}: {error}"
            ) from None

    def _known_key(self, key_id: str | None) -> dict[str, Any] | None:
        """The fetched key ``key_id``; a token naming no key id may use the issuer's only key."""
        if key_id is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(key_id)

    def _fetch_keys(self) -> dict[str | None, dict[str, Any]]:
        """The issuer's signing keys by key id (a key without one is filed under None)."""
        if self._jwks_uri is None:
            discovery_url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            discovery = self._get_json(discovery_url)
            if discovery.get("issuer") != self.issuer or not discovery.get("jwks_uri"):
                raise InvalidCredential(
                    "unavailable",
                    f"the identity provider's discovery document names issuer"
                    f" {discovery.get('issuer')!r} and jwks_uri {discovery.get('jwks_uri')!r};"
                    f" expected issuer {self.issuer!r} and a jwks_uri",
                )
            self._jwks_uri = str(discovery["jwks_uri"])
        keys = self._get_json(self._jwks_uri).get("keys")
        if not isinstance(keys, list):
            raise InvalidCredential(
                "unavailable", f"the identity provider's key set {self._jwks_uri} has no keys list"
            )
        return {
            key.get("kid"): key
            for key in keys
            if isinstance(key, dict) and key.get("use", "sig") == "sig"
        }

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.timeout_s)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise InvalidCredential(
                "unavailable",
                f"the identity provider could not be asked for its keys ({url}:"
                f" {error.__class__.__name__}); try again shortly",
            ) from None
        if not isinstance(document, dict):
            raise InvalidCredential("unavailable", f"{url} did not answer a JSON object")
        return document


def roles_from_claims(claims: Mapping[str, Any], roles_claim: str) -> frozenset[Role]:
    """The riskloop roles named in ``claims[roles_claim]``.

    The claim may be a list of names or one space-separated string (as OAuth scopes are
    written); a dotted ``roles_claim`` reaches into nested objects (``realm_access.roles``).
    Names that are not riskloop roles (the provider's own, other applications') are ignored;
    a missing claim means no roles.
    """
    value: Any = claims
    for part in roles_claim.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        names = value.split()
    elif isinstance(value, list):
        names = [name for name in value if isinstance(name, str)]
    else:
        names = []
    known = {role.value for role in Role}
    return frozenset(Role(name) for name in names if name in known)


def _user_name(claims: Mapping[str, Any]) -> str:
    """How the logs name the user: the email when the token carries one, else the subject."""
    email = claims.get("email")
    return email if isinstance(email, str) and email else str(claims["sub"])


def _unverified_claim(token: str, name: str) -> Any:
    """A claim of a token already refused, read only to say what it carried."""
    return jwt.decode(token, options={"verify_signature": False}).get(name)
