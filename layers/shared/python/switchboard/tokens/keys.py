"""Signing keys: an ES256 key set kept in AWS Secrets Manager, rotated with a grace period.

The secret's value is JSON ``{"keys": [{"kid", "alg", "crv", "d", "created_at",
"active_from"}, ...]}``, newest first; ``d`` is the P-256 private scalar, base64url as in a
JWK (RFC 7518 6.2.2.1).
Why not PEM: reading PEM needs cryptography's ``serialization`` package, which loads its SSH
support and bcrypt, ~3 ms of every cold start; ``d`` needs only the ``ec`` module the
signature check loads anyway. A set written as PEM (``private_pem``, before this format)
is still read. Every key in the set verifies and is published in the JWKS.

**A new key is published before it signs.** A rotation adds the new key with an
``active_from`` :data:`ACTIVATE_AFTER` seconds ahead, longer than any container keeps the
set cached (``KEYS_CACHE_SECONDS``); until then the previous key goes on signing. So every
verifier holds a key before the first token signed with it exists, and no verifier depends
on the forced re-read an unknown ``kid`` triggers (which forged kids could use up). The
signer is the newest key already active (the only key, on a set's first rotation).

**A key stays while its tokens can.** A superseded key is dropped only once its successor
has been signing for longer than the longest token lifetime, however often the set rotates.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec

from switchboard.container import per_container
from switchboard.errors import Unavailable
from switchboard.tokens.jws import b64url_decode, b64url_encode

__all__ = ["ACTIVATE_AFTER", "JWKS_MAX_AGE", "PUBLISH_MARGIN", "KeyRing", "KeyStore", "SigningKey",
           "generate_key_entry", "keyring_from_value", "public_keyset", "rotate_keyset"]

ALG = "ES256"
#: how much longer than a container's key cache (KEYS_CACHE_SECONDS) a new key is published
#: before it signs: the grace in which everyone who caches the set picks it up
PUBLISH_MARGIN = 60
#: seconds between a key's publication and its first signature: KEYS_CACHE_SECONDS (300) + the margin
ACTIVATE_AFTER = 300 + PUBLISH_MARGIN
#: how long a client (a browser, a CDN, another service's verifier) may cache the JWKS answer. The
#: JWKS function's own copy of the set is up to KEYS_CACHE_SECONDS old, so a client's copy is up to
#: that plus this: kept under the publication lead (KEYS_CACHE_SECONDS + PUBLISH_MARGIN), a client
#: that caches as told holds every key before its first token exists (half the margin: clock skew)
JWKS_MAX_AGE = PUBLISH_MARGIN // 2
#: how long a superseded key stays by default: the longest chat-token lifetime the template allows
RETAIN_AFTER_SUPERSEDED = 86400 + 60


class SigningKey(msgspec.Struct, frozen=True):
    kid: str
    private_key: ec.EllipticCurvePrivateKey


class KeyRing(msgspec.Struct, frozen=True):
    """The parsed key set: the signing keys with the time each becomes active (newest
    first), and every public key by ``kid``."""

    signers: tuple[tuple[int, SigningKey], ...] = ()
    public: dict[str, ec.EllipticCurvePublicKey] = msgspec.field(default_factory=dict)

    @property
    def signer(self) -> SigningKey | None:
        return self.signer_at(time.time())

    def signer_at(self, now: float) -> SigningKey | None:
        """The newest key active at ``now``; if none is yet (a set's very first key, made
        moments ago), the oldest, which has been published longest."""
        for active_from, key in self.signers:
            if active_from <= now:
                return key
        return self.signers[-1][1] if self.signers else None

    def jwks(self) -> dict[str, Any]:
        return {"keys": [_public_jwk(kid, key) for kid, key in self.public.items()]}


def _public_jwk(kid: str, key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        "kid": kid,
        "alg": ALG,
        "use": "sig",
    }


def _thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK SHA-256 thumbprint, whole (43 characters): a kid that names the key itself,
    not a counter, and that a client can recompute from the JWK (jose's
    ``calculateJwkThumbprint``, joserfc's ``thumbprint()``) to check a key against it.

    Keys made before this were given the thumbprint's first 22 characters. A kid is stored
    with its key and only ever read back, never recomputed, so those keys keep their kid and
    keep verifying, and leave the set through rotation like any other."""
    jwk = _public_jwk("", key)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


def generate_key_entry(now: float | None = None, *, active_from: int | None = None) -> dict[str, Any]:
    private = ec.generate_private_key(ec.SECP256R1())
    created = int(now if now is not None else time.time())
    return {
        "kid": _thumbprint(private.public_key()),
        "alg": ALG,
        "crv": "P-256",
        "d": b64url_encode(private.private_numbers().private_value.to_bytes(32, "big")),
        "created_at": created,
        "active_from": created if active_from is None else active_from,
    }


def _active_from(entry: dict[str, Any]) -> int:
    """When the entry may sign (sets written before staging: when it was made)."""
    value = entry.get("active_from", entry.get("created_at", 0))
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unavailable("signing key set holds a key with an unreadable active_from")
    return value


def _private_key(entry: dict[str, Any]) -> ec.EllipticCurvePrivateKey:
    """The entry's P-256 private key, from ``d`` (or the older ``private_pem``)."""
    try:
        if "d" in entry:
            raw = b64url_decode(entry["d"])  # canonical base64url, or MalformedToken (a ValueError)
            if entry.get("crv") != "P-256" or entry.get("alg") != ALG or len(raw) != 32:
                raise ValueError("not an ES256 (P-256) private scalar")
            return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
        from cryptography.hazmat.primitives import serialization  # a key set written before "d"

        private = serialization.load_pem_private_key(entry["private_pem"].encode(), password=None)
    except (KeyError, TypeError, ValueError) as exc:
        raise Unavailable("signing key set holds an unreadable key") from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise Unavailable("signing key set holds a key that is not P-256")
    return private


def rotate_keyset(value: dict[str, Any], now: float | None = None, *, activate_after: int = ACTIVATE_AFTER,
                  retain: int = RETAIN_AFTER_SUPERSEDED) -> dict[str, Any]:
    """A new key set: a fresh key in front, signing ``activate_after`` seconds from now (at
    once if the set had none), and the old keys whose tokens may still be alive: a key is
    kept until its successor has been active for ``retain`` seconds."""
    at = int(now if now is not None else time.time())
    old = list(value.get("keys", []))
    new = generate_key_entry(at, active_from=at + activate_after if old else at)
    kept: list[dict[str, Any]] = []
    successor_active = new["active_from"]
    for entry in old:  # newest first: once one is past keeping, every older one is too
        if kept and at >= successor_active + retain:
            break
        kept.append(entry)
        successor_active = _active_from(entry)
    return {"keys": [new, *kept]}


def public_keyset(value: dict[str, Any]) -> dict[str, Any]:
    """The verification set of a key set: each key's public JWK and ``active_from``, no
    private part. Written by the rotation beside the private set, and all that functions
    which only verify tokens may read (they cannot sign)."""
    keys = []
    for entry in value.get("keys", []):
        jwk = _public_jwk(entry["kid"], _private_key(entry).public_key())
        keys.append({"kid": jwk["kid"], "alg": ALG, "crv": "P-256", "x": jwk["x"], "y": jwk["y"],
                     "active_from": _active_from(entry)})
    return {"keys": keys}


def _public_key(entry: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """A verification-set entry's P-256 point (``x``, ``y``, base64url as in a JWK)."""
    try:
        x, y = b64url_decode(entry["x"]), b64url_decode(entry["y"])
        if entry.get("crv") != "P-256" or entry.get("alg") != ALG or len(x) != 32 or len(y) != 32:
            raise ValueError("not an ES256 (P-256) public key")
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()  # refuses a point off the curve
    except (KeyError, TypeError, ValueError) as exc:
        raise Unavailable("verification key set holds an unreadable key") from exc


def keyring_from_value(value: dict[str, Any]) -> KeyRing:
    """A ring from a key set (it signs and verifies) or a verification set (it only verifies)."""
    public: dict[str, ec.EllipticCurvePublicKey] = {}
    signers: list[tuple[int, SigningKey]] = []
    for entry in value.get("keys", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or not entry["kid"]:
            raise Unavailable("signing key set holds a key without a kid")
        if "d" not in entry and "private_pem" not in entry and "x" in entry:
            public[entry["kid"]] = _public_key(entry)
            continue
        private = _private_key(entry)
        public[entry["kid"]] = private.public_key()
        signers.append((_active_from(entry), SigningKey(entry["kid"], private)))
    return KeyRing(signers=tuple(signers), public=public)


class KeyStore:
    """Loads the key set through Powertools Parameters, cached per container.

    ``ring()`` is what signers and verifiers call; ``refresh()`` is called by a verifier
    that meets an unknown ``kid`` (a key rotated in since our cache was filled). It
    re-fetches at most once per ``min_refresh_interval`` so a flood of forged kids cannot
    turn into a flood of Secrets Manager calls.
    """

    def __init__(
        self,
        secret_id: str,
        max_age: int = 300,
        *,
        min_refresh_interval: float = 30.0,
        fetch: Callable[[str, int, bool], dict[str, Any]] | None = None,
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age
        self._min_refresh = min_refresh_interval
        self._fetch = fetch or _fetch_secret
        self._lock = threading.Lock()
        self._raw: dict[str, Any] | None = None
        self._ring: KeyRing | None = None
        self._last_forced = 0.0

    def ring(self) -> KeyRing:
        return self._load(force=False)

    def refresh(self) -> KeyRing | None:
        """Re-read the secret now, unless that was done moments ago (then ``None``)."""
        with self._lock:
            if time.monotonic() - self._last_forced < self._min_refresh:
                return None
            self._last_forced = time.monotonic()
        return self._load(force=True)

    def _load(self, *, force: bool) -> KeyRing:
        raw = self._fetch(self._secret_id, self._max_age, force)
        with self._lock:
            if self._ring is None or raw != self._raw:
                self._ring, self._raw = keyring_from_value(raw), raw
            return self._ring


@per_container
def _provider() -> Any:
    """Powertools' Secrets Manager provider on a client of the layer's one session
    (:mod:`switchboard.aws`): the provider's own default makes a new boto3 Session, which
    reloads botocore's data (~35 ms of cold start, measured in bench/)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from switchboard import aws, settle

    provider = SecretsProvider(boto3_client=aws.client("secretsmanager"))
    settle()  # the client's service model lives as long as the container
    return provider


def _fetch_secret(secret_id: str, max_age: int, force: bool) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters

    try:
        value = _provider().get(secret_id, transform="json", max_age=max_age, force_fetch=force)
    except parameters.exceptions.GetParameterError as exc:
        raise Unavailable("signing keys are not available") from exc
    if not isinstance(value, dict):
        raise Unavailable("signing key secret is not a JSON object")
    return value
