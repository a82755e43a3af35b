"""switchboard.tokens.jws: the compact ES256 JWS layer beneath the tokens.

It replaced PyJWT in the runtime (cold start and verify cost, see the module docstring), so
PyJWT is the independent cross-check here: each side must accept what the other signs.
Every strictness rule in the module docstring has its test below.
"""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from switchboard.tokens import jws


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_of(header: dict, payload: bytes, signature: bytes) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(payload)}.{b64(signature)}"


def refused(token: object) -> str:
    with pytest.raises(jws.MalformedToken) as err:
        jws.parse(token)
    return str(err.value)


# -- interoperability ------------------------------------------------------------------------------
def test_what_we_sign_pyjwt_verifies(key):
    token = jws.sign({"typ": "at+jwt", "kid": "k1"}, {"sub": "ana", "n": 1}, key)
    assert jwt.get_unverified_header(token) == {"typ": "at+jwt", "kid": "k1", "alg": "ES256"}
    assert jwt.decode(token, key.public_key(), algorithms=["ES256"]) == {"sub": "ana", "n": 1}


def test_what_pyjwt_signs_we_verify(key):
    token = jwt.encode({"sub": "ana"}, key, algorithm="ES256", headers={"kid": "k1"})
    parsed = jws.parse(token)
    assert jws.verify_signature(parsed, key.public_key())
    assert parsed.claims() == {"sub": "ana"} and parsed.header["kid"] == "k1"


def test_the_alg_header_is_always_ours(key):
    token = jws.sign({"alg": "none", "kid": "k1"}, {}, key)
    assert jws.parse(token).header["alg"] == "ES256"


# -- the signature ------------------------------------------------------------------------------------
def test_a_signature_verifies_only_its_own_bytes_and_key(key):
    token = jws.sign({"kid": "k1"}, {"sub": "ana"}, key)
    head, _, sig = token.split(".")
    assert jws.verify_signature(jws.parse(token), key.public_key())
    other_body = b64(json.dumps({"sub": "eve"}).encode())
    assert not jws.verify_signature(jws.parse(f"{head}.{other_body}.{sig}"), key.public_key())
    assert not jws.verify_signature(jws.parse(token), ec.generate_private_key(ec.SECP256R1()).public_key())


def test_a_der_signature_is_refused(key):
    # JWS's ES256 signature is r||s (64 bytes); the DER form OpenSSL emits is not accepted
    header = {"alg": "ES256"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(b'{}')}".encode()
    der = key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    assert refused(f"{signing_input.decode()}.{b64(der)}") == "malformed signature"
    assert not jws.verify_es256(signing_input, der, key.public_key())


def test_a_key_on_another_curve_never_verifies(key):
    p384 = ec.generate_private_key(ec.SECP384R1())
    token = jws.sign({}, {}, key)
    assert not jws.verify_signature(jws.parse(token), p384.public_key())


# -- strict parsing ------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "HS256", "ES384", "RS256", "es256", "", None, ["ES256"]])
def test_only_es256_is_read(key, alg):
    header = {} if alg is None else {"alg": alg}
    assert refused(token_of(header, b"{}", b"\0" * 64)) == "algorithm not allowed"


def test_a_critical_header_is_refused(key):
    # we understand no JWS extension, so none may be critical (RFC 7515 4.1.11), b64=false included
    assert refused(token_of({"alg": "ES256", "crit": ["b64"], "b64": False}, b"{}", b"\0" * 64)) \
        == "unsupported critical header"


@pytest.mark.parametrize("shape", ["a.b", "a.b.c.d", "", "....", "a..b.c"])
def test_anything_but_three_segments_is_refused(shape):
    refused(shape)


def test_non_canonical_base64url_is_refused(key):
    token = jws.sign({"kid": "k1"}, {"sub": "ana"}, key)
    head, body, sig = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # the signature's last character carries 2 unused bits: another spelling of the same bytes
    twin = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]
    assert base64.urlsafe_b64decode(twin + "==") == base64.urlsafe_b64decode(sig + "==")
    refused(f"{head}.{body}.{twin}")
    refused(f"{head}.{body}.{sig}==")                    # padding
    refused(f"{head}.{body}.{sig[:10]}+{sig[11:]}")      # the other alphabet
    refused(f"{head}.{body}.{sig[:10]} {sig[11:]}")      # characters a lax decoder would skip
    refused(f"{head}.{body}.{sig}A")                     # a length no base64 has


@pytest.mark.parametrize("header", [b"[]", b'"ES256"', b"not json", b'{"alg":"ES256"', b"\xff\xfe"])
def test_a_header_that_is_not_a_json_object_is_refused(header):
    refused(f"{b64(header)}.{b64(b'{}')}.{b64(bytes(64))}")


@pytest.mark.parametrize("payload", [b"[]", b"1", b"null", b"{", b"\xff"])
def test_claims_must_be_a_json_object(key, payload):
    parsed = jws.parse(token_of({"alg": "ES256"}, payload, bytes(64)))
    with pytest.raises(jws.MalformedToken):
        parsed.claims()


@pytest.mark.parametrize("value", [None, 42, b"a.b.c", "é.b.c"])
def test_what_is_not_an_ascii_string_is_refused(value):
    refused(value)


def test_an_oversized_token_is_refused_before_any_decoding(key):
    token = jws.sign({}, {"pad": "x" * jws.MAX_TOKEN_LENGTH}, key)
    assert refused(token) == "malformed token"


def test_parsed_headers_are_shared_read_only_and_bounded(key):
    # Given many tokens, each with a header of its own (as a forger could send)
    for i in range(100):
        jws.parse(jws.sign({"kid": f"k{i}"}, {}, key))
    # Then the cache of parsed headers stays bounded, and a parsed header cannot be changed
    assert len(jws._HEADERS) <= jws._HEADERS_MAX
    header = jws.parse(jws.sign({"kid": "k1"}, {}, key)).header
    with pytest.raises(TypeError):
        header["alg"] = "none"  # type: ignore[index]


def test_a_refused_header_is_refused_every_time():
    token = token_of({"alg": "none"}, b"{}", bytes(64))
    assert refused(token) == refused(token) == "algorithm not allowed"


@pytest.mark.parametrize("part", ["header", "payload"])
def test_json_nested_deeper_than_the_parser_goes_is_malformed_not_a_crash(key, part):
    # Given 8 KB of "[[[[...": deeper than Python's JSON parser recurses
    deep = b'{"tid":' + b"[" * 3000 + b"]" * 3000 + b"}"
    header, payload = (deep, b"{}") if part == "header" else (b'{"alg":"ES256"}', deep)
    token = f"{b64(header)}.{b64(payload)}.{b64(bytes(64))}"
    # Then it is a MalformedToken, whichever part holds it
    with pytest.raises(jws.MalformedToken):
        jws.parse(token).claims()
