"""Compact JWS with ES256 and nothing else (RFC 7515, RFC 7518 section 3.4), over ``cryptography``.

Why this is not PyJWT (which stays in the test suite as an independent cross-check: tokens
minted here verify under PyJWT and the reverse, and the Wycheproof vectors run against this
module): the contract's tokens use one algorithm, and PyJWT's generality costs on every call.

- cold start: ``import jwt`` loads cryptography's x509, RSA, EdDSA and padding modules for
  algorithms we refuse anyway, about 13 ms of every function's cold start (bench/importtime.py);
- verify: PyJWT checks base64url character by character in Python and the header had to be
  parsed twice (once for ``kid``/``typ``, again inside ``decode``): 2.3x the ES256 verify
  itself. Here one pass parses, and the signature check is the only expensive step.

What is deliberately strict (each has a test in tests/tokens/test_jws.py):

- exactly three segments, each canonical unpadded base64url (``[A-Za-z0-9_-]``, no padding,
  no stray bits), so the same bytes have one spelling (ECDSA itself is malleable: with
  ``(r, s)``, ``(r, n - s)`` verifies too; nothing in Switchboard keys on a token's bytes);
- JSON that is an object, and never an exception other than :class:`MalformedToken` (deep
  nesting included) - the unverified payload is read for the CORS tenant hint;
- a header that is a JSON object with ``alg`` exactly ``"ES256"``; a ``crit`` header is refused
  (we understand no extensions, RFC 7515 4.1.11), so ``b64: false`` and friends cannot apply;
- a signature of exactly 64 bytes (``r || s``, RFC 7518 3.4), never DER;
- the ECDSA check itself is OpenSSL's, through ``cryptography``; nothing here is crypto math.

Claims (``exp``, ``aud``...) are the caller's business: :mod:`switchboard.tokens.access` checks them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

__all__ = ["ALG", "MAX_TOKEN_LENGTH", "MalformedToken", "Parsed", "b64url_decode", "b64url_encode", "parse",
           "sign", "verify_es256", "verify_signature"]

ALG = "ES256"
MAX_TOKEN_LENGTH = 8192  # ours are well under 2 KB; bounds the work an attacker can ask for
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_COORD = 32  # bytes of r and of s on P-256
#: accepted header segments, parsed: a deployment signs with one header per (kid, typ), so a
#: verifier sees a handful; bounded so forged headers cannot grow it (cleared when full)
_HEADERS: dict[str, Mapping[str, Any]] = {}
_HEADERS_MAX = 32


class MalformedToken(ValueError):
    """Not a compact ES256 JWS we can read: the reason is safe to log and to return."""


class Parsed(msgspec.Struct, frozen=True):
    """A token's decoded parts, signature not yet checked (see :func:`verify_signature`)."""

    header: Mapping[str, Any]  # read-only, and shared (see _HEADERS): read its values, never change them
    payload: bytes
    signing_input: bytes
    signature: bytes

    def claims(self) -> dict[str, Any]:
        """The payload as a JWT claims set: a JSON object, or :class:`MalformedToken`."""
        return _json_object(self.payload)


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 2), as JWS and JWK spell bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    """Canonical unpadded base64url only: ``urlsafe_b64decode`` alone would skip foreign
    characters and ignore the unused low bits of the last character."""
    if len(segment) % 4 == 1 or not _SEGMENT.fullmatch(segment):
        raise MalformedToken("malformed token")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("malformed token") from exc
    if b64url_encode(data) != segment:
        raise MalformedToken("malformed token")
    return data


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    # JSONDecodeError is a ValueError; 8 KB of "[[[[..." nests deeper than the parser recurses
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedToken("malformed token") from exc
    if not isinstance(value, dict):
        raise MalformedToken("malformed token")
    return value


def sign(header: dict[str, Any], payload: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    """``header.payload.signature``; ``alg`` is set here, whatever ``header`` says."""
    head = b64url_encode(json.dumps({**header, "alg": ALG}, separators=(",", ":")).encode())
    body = b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    r, s = decode_dss_signature(key.sign(signing_input, _ECDSA_SHA256))
    return f"{head}.{body}.{b64url_encode(r.to_bytes(_COORD, 'big') + s.to_bytes(_COORD, 'big'))}"


def parse(token: object) -> Parsed:
    """The token's header, payload and signature; :class:`MalformedToken` for anything that
    is not a well-formed ES256 compact JWS. The signature is NOT checked here."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise MalformedToken("malformed token")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("malformed token")
    head, body, sig = parts
    header = _HEADERS.get(head)
    if header is None:
        header = _parse_header(head)
        if len(_HEADERS) >= _HEADERS_MAX:
            _HEADERS.clear()
        _HEADERS[head] = header
    signature = b64url_decode(sig)
    if len(signature) != 2 * _COORD:
        raise MalformedToken("malformed signature")
    return Parsed(header=header, payload=b64url_decode(body), signing_input=f"{head}.{body}".encode("ascii"),
                  signature=signature)


def _parse_header(segment: str) -> Mapping[str, Any]:
    header = _json_object(b64url_decode(segment))
    if header.get("alg") != ALG:
        raise MalformedToken("algorithm not allowed")
    if "crit" in header:
        raise MalformedToken("unsupported critical header")
    return MappingProxyType(header)


def verify_signature(parsed: Parsed, key: ec.EllipticCurvePublicKey) -> bool:
    """True when ``parsed`` was signed by ``key``'s private half (ECDSA P-256 / SHA-256)."""
    return verify_es256(parsed.signing_input, parsed.signature, key)


def verify_es256(message: bytes, signature: bytes, key: ec.EllipticCurvePublicKey) -> bool:
    """ES256 as RFC 7518 3.4 defines it: a 64-byte ``r || s`` signature of ``message``."""
    if len(signature) != 2 * _COORD or not isinstance(key.curve, ec.SECP256R1):
        return False
    r = int.from_bytes(signature[:_COORD], "big")
    s = int.from_bytes(signature[_COORD:], "big")
    try:
        key.verify(encode_dss_signature(r, s), message, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True
