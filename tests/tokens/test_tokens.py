"""Access and chat tokens (contract section 2): what the verifier accepts, and everything it refuses.

Each refusal below is a known way to forge or misuse a JWT; each test fails if the verifier
ever lets that token through. The Wycheproof vectors (../shared/vectors/) check the ES256
primitive and the JWS parsing underneath.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from switchboard.errors import InvalidToken, Unavailable
from switchboard.tokens import jws
from switchboard.tokens.access import ACCESS_AUDIENCE, CHAT_AUDIENCE, TokenService
from switchboard.tokens.keys import KeyRing, KeyStore, generate_key_entry, keyring_from_value, rotate_keyset

ISSUER = "https://auth.acme.test"
VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "wycheproof"


class StaticKeys:
    """A KeySource over a fixed key set (what KeyStore returns once loaded)."""

    def __init__(self, value: dict[str, Any] | KeyRing) -> None:
        self._ring = value if isinstance(value, KeyRing) else keyring_from_value(value)
        self.refreshes = 0

    def ring(self) -> KeyRing:
        return self._ring

    def refresh(self) -> KeyRing | None:
        self.refreshes += 1
        return None


@pytest.fixture
def keyset() -> dict[str, Any]:
    return {"keys": [generate_key_entry()]}


@pytest.fixture
def tokens(keyset: dict[str, Any]) -> TokenService:
    return TokenService(StaticKeys(keyset), issuer=ISSUER, access_ttl=900, chat_ttl=3600)


def access(tokens: TokenService, **overrides: Any) -> str:
    claims: dict[str, Any] = {"sub": "op-ana", "tid": "acme", "sid": "s1", "role": "admin", "lvl": 3,
                              "scopes": ("chat:read", "admin:sessions"), "anon": False,
                              "client_id": "switchboard-backoffice"}
    claims.update(overrides)
    return tokens.mint_access(**claims)


def chat(tokens: TokenService, **overrides: Any) -> str:
    claims: dict[str, Any] = {"sub": "op-ana", "tid": "acme", "sid": "s1", "role": "admin", "lvl": 3,
                              "scopes": ("chat:read",), "name": "Ana"}
    claims.update(overrides)
    return tokens.mint_chat(**claims)


def private_key(keyset: dict[str, Any]) -> tuple[str, ec.EllipticCurvePrivateKey]:
    entry = keyset["keys"][0]  # {"d": base64url private scalar}, as a JWK's "d"
    d = int.from_bytes(base64.urlsafe_b64decode(entry["d"] + "=="), "big")
    return entry["kid"], ec.derive_private_key(d, ec.SECP256R1())


def forge(keyset: dict[str, Any], payload: dict[str, Any], headers: dict[str, Any]) -> str:
    """A token signed with the real key, with claims and headers of the attacker's choosing."""
    kid, key = private_key(keyset)
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": kid, **headers})


class Later:
    """A time ``offset`` seconds from when the test runs, not from when pytest collected it (a
    parameter computed at collection is minutes old by the time a loaded suite runs the test)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def at_run_time(self) -> float | int:
        now = time.time()
        return now + self.offset if isinstance(self.offset, float) else int(now) + self.offset

    def __repr__(self) -> str:
        return f"now{self.offset:+}"


def valid_access_payload(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": ACCESS_AUDIENCE, "sub": "op-ana", "tid": "acme", "sid": "s1",
               "role": "admin", "lvl": 3, "scope": "chat:read", "anon": False, "jti": "j1",
               "iat": now, "nbf": now, "exp": now + 900}
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- what is accepted ----------------------------------------------------------------------------
def test_an_access_token_round_trips_with_its_claims(tokens):
    # Given an access token with a namespaced custom claim
    token = access(tokens, custom={"https://acme.test/plan": "gold"})
    # When it is verified
    claims = tokens.verify_access(token)
    # Then every contract claim comes back, and the header says what the token is
    assert (claims.sub, claims.tid, claims.sid, claims.role, claims.lvl, claims.anon) == (
        "op-ana", "acme", "s1", "admin", 3, False)
    assert claims.scopes == {"chat:read", "admin:sessions"}
    assert claims.custom == {"https://acme.test/plan": "gold"}
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt" and header["kid"]
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["aud"] == "switchboard-api" and payload["exp"] - payload["iat"] == 900 and payload["jti"]


def test_a_chat_token_round_trips_with_its_claims(tokens):
    token = chat(tokens)
    claims = tokens.verify_chat(token)
    assert (claims.sub, claims.tid, claims.sid, claims.name) == ("op-ana", "acme", "s1", "Ana")
    assert jwt.get_unverified_header(token)["typ"] == "chat+jwt"
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["aud"] == "switchboard-chat" and payload["exp"] - payload["iat"] == 3600


def test_typ_is_compared_as_a_media_type(keyset, tokens):
    # RFC 8725 3.11: "application/at+JWT" names the same type as "at+jwt"
    token = forge(keyset, valid_access_payload(), {"typ": "application/AT+JWT"})
    assert tokens.verify_access(token).sub == "op-ana"


# -- what is refused -----------------------------------------------------------------------------
def test_alg_none_is_refused(tokens):
    # Given an unsigned token claiming to be an access token
    header = b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": "x"}).encode())
    token = f"{header}.{b64(json.dumps(valid_access_payload()).encode())}."
    # Then it is refused, also with a signature-looking tail and with the kid of a real key
    with pytest.raises(InvalidToken):
        tokens.verify_access(token)
    with pytest.raises(InvalidToken):
        tokens.verify_access(token + "c2ln")


def test_hs256_signed_with_the_public_key_is_refused(keyset, tokens):
    # Given the classic algorithm confusion: HMAC keyed with the published public key
    kid, key = private_key(keyset)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = ".".join([b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode()),
                              b64(json.dumps(valid_access_payload()).encode())])
    import hashlib
    import hmac

    for secret in (public_pem, public_pem.strip()):
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        # Then it is refused
        with pytest.raises(InvalidToken):
            tokens.verify_access(f"{signing_input}.{b64(signature)}")


@pytest.mark.parametrize("alg", ["ES384", "ES512", "RS256", "PS256", "EdDSA", "HS512"])
def test_every_other_algorithm_is_refused(keyset, tokens, alg):
    kid, _ = private_key(keyset)
    token = f"{b64(json.dumps({'alg': alg, 'typ': 'at+jwt', 'kid': kid}).encode())}." \
            f"{b64(json.dumps(valid_access_payload()).encode())}.{b64(b'x' * 64)}"
    with pytest.raises(InvalidToken, match="algorithm"):
        tokens.verify_access(token)


@pytest.mark.parametrize(("claims", "reason"), [
    ({"aud": "switchboard-chat"}, "audience"),
    ({"aud": ["switchboard-api", "other"]}, "audience"),
    ({"aud": "someone-else"}, "audience"),
    ({"iss": "https://evil.test"}, "issuer"),
    ({"exp": Later(-60)}, "expired"),
    ({"nbf": Later(600)}, "not valid yet"),
    ({"iat": Later(600)}, "not valid yet"),
    ({"exp": Later(600.5)}, "required claims"),
    ({"exp": True}, "required claims"),
    ({"nbf": "0"}, "required claims"),
    ({"exp": None}, "required claims"),
    ({"iat": None}, "required claims"),
    ({"iss": None}, "required claims"),
    ({"aud": None}, "required claims"),
    ({"sub": None}, "required claims"),
    ({"sid": None}, "required claims"),
    ({"tid": None}, "required claims"),
    ({"lvl": "3"}, "required claims"),
    ({"lvl": True}, "required claims"),
    ({"anon": None}, "required claims"),
])
def test_wrong_or_missing_claims_are_refused(keyset, tokens, claims, reason):
    # Given a correctly signed token whose claims are wrong
    claims = {name: value.at_run_time() if isinstance(value, Later) else value for name, value in claims.items()}
    token = forge(keyset, valid_access_payload(**claims), {"typ": "at+jwt"})
    # Then it is refused, saying why
    with pytest.raises(InvalidToken, match=reason):
        tokens.verify_access(token)


def test_clock_skew_within_the_leeway_is_tolerated(keyset, tokens):
    # Given tokens that expired or were issued a few seconds off this host's clock
    now = int(time.time())
    for claims in ({"exp": now - 2}, {"iat": now + 2, "nbf": now + 2}):
        token = forge(keyset, valid_access_payload(**claims), {"typ": "at+jwt"})
        # Then they still verify (LEEWAY_SECONDS), as they would on the host that minted them
        assert tokens.verify_access(token).sub == "op-ana"


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "chat+jwt", "at+jwt+x", 1])
def test_wrong_or_missing_typ_is_refused(keyset, tokens, typ):
    headers = {} if typ is None else {"typ": typ}
    token = forge(keyset, valid_access_payload(), headers)
    if typ is None:  # pyjwt adds typ "JWT" when none is given: strip it by hand
        head, payload, _sig = token.split(".")
        decoded = json.loads(base64.urlsafe_b64decode(head + "=="))
        decoded.pop("typ", None)
        _kid, key = private_key(keyset)
        signing_input = f"{b64(json.dumps(decoded).encode())}.{payload}"
        token = f"{signing_input}.{b64(ECAlgorithm(ECAlgorithm.SHA256).sign(signing_input.encode(), key))}"
    with pytest.raises(InvalidToken, match="type"):
        tokens.verify_access(token)


def test_an_access_token_is_never_a_chat_token_nor_the_reverse(tokens):
    with pytest.raises(InvalidToken):
        tokens.verify_chat(access(tokens))
    with pytest.raises(InvalidToken):
        tokens.verify_access(chat(tokens))


def test_a_chat_typed_token_for_the_api_audience_is_refused_both_ways(keyset, tokens):
    # Given the typ of one kind with the audience of the other: neither check alone decides
    mixed = forge(keyset, valid_access_payload(aud=ACCESS_AUDIENCE, name="Ana"), {"typ": "chat+jwt"})
    with pytest.raises(InvalidToken):
        tokens.verify_chat(mixed)
    with pytest.raises(InvalidToken):
        tokens.verify_access(mixed)
    other = forge(keyset, valid_access_payload(aud=CHAT_AUDIENCE), {"typ": "at+jwt"})
    with pytest.raises(InvalidToken):
        tokens.verify_access(other)


def test_an_expired_minted_token_is_refused(tokens):
    token = access(tokens, now=int(time.time()) - 3600)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify_access(token)


def test_a_token_signed_by_another_key_with_a_known_kid_is_refused(keyset, tokens):
    # Given an attacker's own P-256 key, presenting our kid
    kid, _ = private_key(keyset)
    attacker = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(valid_access_payload(), attacker, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})
    with pytest.raises(InvalidToken):
        tokens.verify_access(token)


def test_a_token_without_a_key_id_is_refused_even_signed_by_our_key(keyset, tokens):
    # Given a token our own key signed, whose header names no key (no guessing which key is meant)
    _, key = private_key(keyset)
    token = jwt.encode(valid_access_payload(), key, algorithm="ES256", headers={"typ": "at+jwt"})
    assert "kid" not in jwt.get_unverified_header(token)
    with pytest.raises(InvalidToken, match="key id"):
        tokens.verify_access(token)


def test_custom_claims_never_override_the_reserved_ones(tokens):
    # Given post-login's custom claims that name reserved claims (configuration refuses these;
    # the token service must not depend on that)
    custom = {"sub": "op-mallory", "tid": "globex", "scope": "admin:tenant", "role": "admin", "exp": 4_000_000_000,
              "https://acme.test/plan": "gold"}
    token = access(tokens, role="operator", custom=custom)
    claims = tokens.verify_access(token)
    # Then the reserved claims are the ones minted, and a namespaced claim is carried as it is
    assert (claims.sub, claims.tid, claims.scopes) == ("op-ana", "acme", frozenset({"chat:read", "admin:sessions"}))
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 900 and payload["role"] == "operator"
    assert claims.custom == {"https://acme.test/plan": "gold"}


def test_an_embedded_jwk_header_is_ignored(keyset, tokens):
    # Given a token that carries its own (attacker's) key in the header
    kid, _ = private_key(keyset)
    attacker = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(attacker.public_key()))
    token = jwt.encode(valid_access_payload(), attacker, algorithm="ES256",
                       headers={"kid": kid, "typ": "at+jwt", "jwk": jwk})
    with pytest.raises(InvalidToken):
        tokens.verify_access(token)


def test_a_tampered_payload_or_signature_is_refused(tokens):
    token = access(tokens)
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    claims["scope"] += " admin:tenant"
    with pytest.raises(InvalidToken):
        tokens.verify_access(f"{head}.{b64(json.dumps(claims).encode())}.{sig}")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(InvalidToken):
        tokens.verify_access(f"{head}.{payload}.{flipped}")


@pytest.mark.parametrize("garbage", ["", "a", "a.b", "a.b.c", "a.b.c.d", "...", "eyJ.eyJ.", "\x00" * 10])
def test_garbage_is_an_invalid_token_not_a_crash(tokens, garbage):
    with pytest.raises(InvalidToken):
        tokens.verify_access(garbage)


def test_an_unknown_kid_forces_one_key_refresh_and_is_refused(keyset):
    # Given a verifier whose key source can be asked to re-read the key set
    keys = StaticKeys(keyset)
    tokens = TokenService(keys, issuer=ISSUER, access_ttl=900, chat_ttl=3600)
    other = {"keys": [generate_key_entry()]}
    foreign = forge(other, valid_access_payload(), {"typ": "at+jwt"})
    # When a token names a kid it has never seen
    with pytest.raises(InvalidToken, match="unknown signing key"):
        tokens.verify_access(foreign)
    # Then it asked for the fresh key set once
    assert keys.refreshes == 1


# -- rotation ------------------------------------------------------------------------------------
def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_a_new_key_is_published_before_it_signs_and_old_tokens_verify_until_their_key_leaves(keyset):
    # Given a token signed with today's key
    store: dict[str, Any] = {"value": keyset}
    keys = KeyStore("k", fetch=lambda _id, _age, _force: store["value"], min_refresh_interval=0)
    tokens = TokenService(keys, issuer=ISSUER, access_ttl=900, chat_ttl=3600)
    before = access(tokens)
    old_kid, now = keyset["keys"][0]["kid"], time.time()
    # When the key set rotates
    store["value"] = rotate_keyset(keyset, now=now, activate_after=360, retain=3660)
    new_kid = store["value"]["keys"][0]["kid"]
    # Then the JWKS lists the new key at once, but tokens are still signed with the old one:
    # a container whose cached set predates the rotation can verify every token made now
    assert [k["kid"] for k in keys.ring().jwks()["keys"]] == [new_kid, old_kid]
    assert _kid(access(tokens)) == old_kid
    # And once every cache has had time to hold the new key, it signs; old tokens still verify
    assert keys.ring().signer_at(now + 361).kid == new_kid
    assert keys.ring().signer_at(now + 359).kid == old_kid
    assert tokens.verify_access(before).sub == "op-ana"
    # And a second rotation soon after (a manual one, say) keeps the old key: tokens it signed live on
    store["value"] = rotate_keyset(store["value"], now=now + 600, activate_after=360, retain=3660)
    assert old_kid in [k["kid"] for k in keys.ring().jwks()["keys"]]
    assert tokens.verify_access(before).sub == "op-ana"
    # But a rotation once its successor has signed for longer than any token lives drops it
    later = rotate_keyset(store["value"], now=now + 360 + 3661, activate_after=360, retain=3660)
    assert old_kid not in [k["kid"] for k in later["keys"]]
    store["value"] = later
    with pytest.raises(InvalidToken, match="unknown signing key"):
        tokens.verify_access(before)


def test_the_first_key_of_a_set_signs_at_once(keyset):
    fresh = rotate_keyset({"keys": []}, activate_after=360)
    assert keyring_from_value(fresh).signer.kid == fresh["keys"][0]["kid"]


def test_before_any_key_is_active_the_one_published_longest_signs(keyset):
    # Given a set none of whose keys is active yet (a clock behind the one that rotated it)
    now = time.time()
    newer = generate_key_entry(now, active_from=int(now) + 720)
    older = generate_key_entry(now - 360, active_from=int(now) + 360)
    ring = keyring_from_value({"keys": [newer, older]})
    # Then the oldest signs: every verifier has held it longest
    assert ring.signer_at(now).kid == older["kid"]
    assert ring.signer_at(now + 400).kid == older["kid"] and ring.signer_at(now + 800).kid == newer["kid"]


def test_a_forged_kid_that_uses_up_the_forced_reread_delays_no_real_token(keyset):
    # Given a container that read the key set just before a rotation, and a forged kid using up
    # its one forced re-read (the limit that keeps forgeries from flooding Secrets Manager)
    store: dict[str, Any] = {"value": keyset}
    cached: dict[str, Any] = {}

    def fetch(_id: str, _age: int, force: bool) -> dict[str, Any]:  # as Powertools' cache: fresh only if forced
        if force or "value" not in cached:
            cached["value"] = store["value"]
        return cached["value"]

    verifier = TokenService(KeyStore("k", fetch=fetch, min_refresh_interval=30), issuer=ISSUER, access_ttl=900,
                            chat_ttl=3600)
    with pytest.raises(InvalidToken):
        verifier.verify_access(forge({"keys": [generate_key_entry()]}, valid_access_payload(), {"typ": "at+jwt"}))
    signer_keys = KeyStore("k", fetch=lambda _id, _age, _force: store["value"], min_refresh_interval=0)
    signer = TokenService(signer_keys, issuer=ISSUER, access_ttl=900, chat_ttl=3600)
    store["value"] = rotate_keyset(keyset)
    # When another container signs a token right after the rotation
    token = access(signer)
    # Then the first container verifies it: it is signed with a key it holds
    assert verifier.verify_access(token).sub == "op-ana"


def test_forced_key_refreshes_are_rate_limited(keyset):
    # Given a key store that counts its reads of the secret
    reads: list[bool] = []

    def fetch(_id: str, _age: int, force: bool) -> dict[str, Any]:
        reads.append(force)
        return keyset

    keys = KeyStore("k", fetch=fetch, min_refresh_interval=30)
    tokens = TokenService(keys, issuer=ISSUER, access_ttl=900, chat_ttl=3600)
    foreign = forge({"keys": [generate_key_entry()]}, valid_access_payload(), {"typ": "at+jwt"})
    # When a flood of tokens with unknown kids arrives
    for _ in range(50):
        with pytest.raises(InvalidToken):
            tokens.verify_access(foreign)
    # Then the secret was force-read once, not fifty times
    assert reads.count(True) == 1


def test_a_key_set_written_as_pem_still_signs_and_verifies():
    # Given a key set in the format before "d": a PKCS#8 PEM private key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    ring = keyring_from_value({"keys": [{"kid": "old", "alg": "ES256", "private_pem": pem, "created_at": 1}]})
    tokens = TokenService(StaticKeys(ring), issuer=ISSUER, access_ttl=900, chat_ttl=3600)
    # Then it signs with that key and verifies its own tokens
    token = access(tokens)
    assert jwt.decode(token, key.public_key(), algorithms=["ES256"], audience=ACCESS_AUDIENCE)["sub"] == "op-ana"
    assert tokens.verify_access(token).sub == "op-ana"


ES = {"alg": "ES256", "crv": "P-256"}


@pytest.mark.parametrize("entry", [
    {"kid": "k", **ES, "d": "AAAA"},                                  # not 32 bytes
    {"kid": "k", **ES, "d": b64(bytes(32))},                          # zero is no private key
    {"kid": "k", **ES, "d": b64(b"\xff" * 32)},                       # beyond the curve's order
    {"kid": "k", **ES, "d": "!!" + b64(bytes(31) + b"\x01")},        # not canonical base64url
    {"kid": "k", "alg": "ES256", "crv": "P-384", "d": b64(bytes(31) + b"\x01")},
    {"kid": "k", "alg": "ES384", "crv": "P-256", "d": b64(bytes(31) + b"\x01")},
    {"kid": "k", "d": b64(bytes(31) + b"\x01")},                      # says neither alg nor curve
    {**ES, "d": b64(bytes(31) + b"\x01")},                            # no kid
    {"kid": "k", "private_pem": "not a pem"},
    {"kid": "k"},
])
def test_an_unreadable_key_in_the_set_is_unavailable_not_a_crash(entry):
    with pytest.raises(Unavailable):
        keyring_from_value({"keys": [entry]})


def test_jwks_publishes_only_public_p256_keys(keyset):
    jwks = keyring_from_value(rotate_keyset(keyset)).jwks()
    assert len(jwks["keys"]) == 2
    for key in jwks["keys"]:
        assert set(key) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
        assert "d" not in key


# -- Wycheproof --------------------------------------------------------------------------------------
def _vectors(name: str) -> dict[str, Any]:
    path = VECTORS / name
    if not path.exists():
        pytest.skip(f"Wycheproof vectors not found at {path} (a clone outside the workspace)")
    return json.loads(path.read_text())


def test_wycheproof_es256_p1363_signatures():
    # ES256 in JWS is ECDSA P-256/SHA-256 with r||s signatures: switchboard.tokens.jws is the verifier
    data = _vectors("ecdsa_secp256r1_sha256_p1363_test.json")
    checked = 0
    for group in data["testGroups"]:
        key = serialization.load_pem_public_key(group["publicKeyPem"].encode())
        for case in group["tests"]:
            if case["result"] == "acceptable":
                continue
            got = jws.verify_es256(bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"]), key)
            assert got == (case["result"] == "valid"), (case["tcId"], case["comment"])
            checked += 1
    assert checked > 250


def test_wycheproof_jws_cases_for_p256_keys():
    # Given Wycheproof's JWS cases made with a P-256 key
    data = _vectors("json_web_signature_test.json")
    groups = [g for g in data["testGroups"]
              if isinstance(g.get("public"), dict) and g["public"].get("crv") == "P-256"
              # keys restricted by "use"/"key_ops": our verifier never reads keys from JWKs; its
              # keys come only from our own key secret, so that case has nothing to test here
              and g["public"].get("use", "sig") == "sig" and "key_ops" not in g["public"]]
    assert groups
    for group in groups:
        public = ECAlgorithm.from_jwk(json.dumps(group["public"]))
        kid = group["public"].get("kid", "")
        tokens = TokenService(StaticKeys(KeyRing(public={kid: public})),  # type: ignore[dict-item]
                              issuer=ISSUER, access_ttl=900, chat_ttl=3600)
        for case in group["tests"]:
            token = case["jws"] if isinstance(case["jws"], str) else json.dumps(case["jws"])
            # Then our JWS layer agrees with Wycheproof
            try:
                parsed = jws.parse(token)
                accepted = jws.verify_signature(parsed, public)
            except jws.MalformedToken:
                accepted = False
            assert accepted == (case["result"] == "valid"), (case["tcId"], case["comment"])
            if accepted:
                assert parsed.payload == b"foo"
            # And our verifier refuses every one of them with InvalidToken (none is a Switchboard
            # token: the valid ones carry no claims), never another exception
            with pytest.raises(InvalidToken):
                tokens.verify_access(token)


def test_a_verification_set_verifies_every_token_and_signs_none(keyset):
    from switchboard.tokens.keys import public_keyset

    # Given the public-only set of a key set (what functions that never sign read)
    signer = TokenService(StaticKeys(keyset), issuer=ISSUER, access_ttl=900, chat_ttl=3600)
    public = public_keyset(keyset)
    assert all("d" not in key and "private_pem" not in key for key in public["keys"])
    verifier = TokenService(StaticKeys(public), issuer=ISSUER, access_ttl=900, chat_ttl=3600)
    # Then it verifies what the key set signs, and cannot sign itself
    assert verifier.verify_access(access(signer)).sub == "op-ana"
    with pytest.raises(Unavailable):
        access(verifier)


@pytest.mark.parametrize("change", [{"x": b64(bytes(32))}, {"y": "AAAA"}, {"crv": "P-384"}, {"alg": "ES384"}])
def test_an_unreadable_public_key_is_unavailable_not_a_crash(keyset, change):
    from switchboard.tokens.keys import public_keyset

    entry = {**public_keyset(keyset)["keys"][0], **change}
    with pytest.raises(Unavailable):
        keyring_from_value({"keys": [entry]})


def test_a_new_keys_kid_is_its_whole_rfc7638_thumbprint(keyset):
    # Given a key made by a rotation, as published
    from joserfc.jwk import ECKey

    jwk = keyring_from_value(keyset).jwks()["keys"][0]
    # Then its kid is the RFC 7638 SHA-256 thumbprint an independent library computes from the JWK
    assert jwk["kid"] == ECKey.import_key({k: jwk[k] for k in ("kty", "crv", "x", "y")}).thumbprint()


def test_a_key_with_the_shorter_kid_of_earlier_versions_still_signs_verifies_and_rotates(keyset):
    # Given a key set written by an earlier version: its kid the thumbprint's first 22 characters
    legacy = dict(keyset["keys"][0], kid=keyset["keys"][0]["kid"][:22])
    old_set = {"keys": [legacy]}
    service = TokenService(StaticKeys(old_set), issuer=ISSUER, access_ttl=900, chat_ttl=3600)
    token = chat(service)
    assert jwt.get_unverified_header(token)["kid"] == legacy["kid"]
    # When the set rotates (the new key staged, the old one still signing)
    rotated = rotate_keyset(old_set)
    ring = keyring_from_value(rotated)
    # Then tokens the old key signed still verify with the rotated set, its kid unchanged in the JWKS
    verifier = TokenService(StaticKeys(ring), issuer=ISSUER, access_ttl=900, chat_ttl=3600)
    assert verifier.verify_chat(token).sub == "op-ana"
    assert [k["kid"] for k in ring.jwks()["keys"]] == [rotated["keys"][0]["kid"], legacy["kid"]]
    assert len(rotated["keys"][0]["kid"]) == 43  # and the new key carries the whole thumbprint
