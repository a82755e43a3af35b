"""Opaque tokens: ``<prefix>.<locator>.<secret>``.

The locator (base64url of newline-joined fields, tenant first) says which item to read;
the secret is 256 random bits of which only the SHA-256 is stored. Refresh tokens
(``sbr1``), MFA tokens (``sbm1``) and invitation tokens (``sbi1``) share this shape, so a
stolen table holds nothing that can be presented, and one read finds the item.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

from switchboard.errors import InvalidToken

__all__ = ["digest", "make", "parse", "tenant_of"]

SECRET_CHARS = 43  # token_urlsafe(32): 256 bits


def digest(secret: str) -> str:
    # 256 random bits need no slow hash: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def make(prefix: str, fields: list[str]) -> tuple[str, str]:
    """A new token and the hash to store."""
    secret = secrets.token_urlsafe(32)
    locator = base64.urlsafe_b64encode("\n".join(fields).encode()).rstrip(b"=").decode()
    return f"{prefix}.{locator}.{secret}", digest(secret)


def parse(token: str, prefix: str, n_fields: int) -> tuple[list[str], str]:
    """(fields, secret) of a token of this kind; :class:`InvalidToken` for anything else."""
    try:
        got_prefix, locator, secret = token.split(".")
        if got_prefix != prefix or len(secret) < SECRET_CHARS or len(locator) > 1024:
            raise ValueError
        fields = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode().split("\n")
        if len(fields) != n_fields or not all(fields):
            raise ValueError
        return fields, secret
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise InvalidToken("malformed token") from exc


def tenant_of(token: str) -> str | None:
    """The tenant an opaque token names (unverified), or None."""
    try:
        _, locator, _ = token.split(".")
        first = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode().split("\n", 1)[0]
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    return first or None
