"""Opaque cursors: where a listing stopped, handed to a client and taken back from it.

A cursor is the DynamoDB key a page ended on, base64url-encoded. What comes back is the
client's to forge, so it is checked before DynamoDB sees it: well-formed, for the very list
it came from (a cursor of one tenant's or user's list cannot reach another's), and within
DynamoDB's key limits (DynamoDB answers an empty or over-long key with an error, not with
"nothing more"). Anything else is :class:`~switchboard.errors.ValidationFailed`: a 400, or a
``validation_error`` frame.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from switchboard.errors import ValidationFailed
from switchboard.store import keys

__all__ = ["decode_event_cursor", "decode_index_cursor", "encode_event_cursor", "encode_index_cursor"]

_INDEX_KEY = {keys.PK, keys.SK, keys.GSI2_PK, keys.GSI2_SK}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def encode_index_cursor(key: dict[str, Any]) -> str:
    """A GSI2 entry's key (table and index keys): the next page starts right after it."""
    return _b64(json.dumps(key, separators=(",", ":")).encode())


def decode_index_cursor(cursor: str | None, index: str) -> dict[str, Any] | None:
    """A cursor is only good for the list it came from (so it cannot reach another tenant's)."""
    if cursor is None:
        return None
    try:
        key = json.loads(_unb64(cursor))
    except (ValueError, binascii.Error, RecursionError):
        raise ValidationFailed("cursor is not valid") from None
    if (not isinstance(key, dict) or set(key) != _INDEX_KEY or key.get(keys.GSI2_PK) != index
            or not all(isinstance(v, str) and v.isascii() and v for v in key.values())
            # ASCII (every key the index holds is) and within DynamoDB's key limits
            or len(key[keys.PK]) > 2048 or len(key[keys.GSI2_SK]) > 1024 or len(key[keys.SK]) > 1024):
        raise ValidationFailed("cursor is not valid for this query")
    return key


def encode_event_cursor(sk: str) -> str:
    """The sort key (event id) of the last event of a page."""
    return _b64(sk.encode())


def decode_event_cursor(cursor: str) -> str:
    """An event id to continue after: ASCII, not empty, no longer than an id can be."""
    try:
        sk = _unb64(cursor).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed("cursor is not valid") from None
    if not sk or len(sk) > 64 or not sk.isascii():
        raise ValidationFailed("cursor is not valid")
    return sk
