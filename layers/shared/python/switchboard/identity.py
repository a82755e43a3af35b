"""User ids and the website's vouching for its visitors.

Every user id in Switchboard is one chat-safe string (``[a-z0-9@_-]``, at most 128
characters). Ids from elsewhere are mapped to it stably by :func:`chat_safe_id`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = [
    "MAX_USER_ID",
    "anonymous_visitor_id",
    "chat_safe_id",
    "is_chat_safe",
    "known_visitor_id",
    "new_operator_id",
    "verify_visitor_hash",
    "visitor_hash",
]

MAX_USER_ID = 128
_UNSAFE = re.compile(r"[^a-z0-9@_-]")
_SAFE = re.compile(r"^[a-z0-9@_-]{1,128}$")


def is_chat_safe(value: str) -> bool:
    return bool(_SAFE.match(value))


def chat_safe_id(raw: str) -> str:
    """Map any external id to a chat-safe one: lower-case it, drop every other character.

    ``auth0|abc`` becomes ``auth0abc``. An id that maps to nothing, or to more than
    128 characters, becomes ``h-`` plus 40 hex digits of its SHA-256, so the mapping
    stays a function of the input alone (stable across sign-ins and machines).
    """
    safe = _UNSAFE.sub("", raw.lower())
    if not safe or len(safe) > MAX_USER_ID:
        return "h-" + hashlib.sha256(raw.encode()).hexdigest()[:40]
    return safe


def anonymous_visitor_id() -> str:
    return "anon-" + secrets.token_hex(12)


def known_visitor_id(website_user_id: str) -> str:
    """Visitors vouched for by the website live under ``v-`` so they never collide with
    operators (``op-``) or anonymous visitors (``anon-``)."""
    return chat_safe_id("v-" + website_user_id)


def new_operator_id() -> str:
    return "op-" + secrets.token_hex(8)


def visitor_hash(identity_secret: str, website_user_id: str) -> str:
    """What the website's backend computes: hex HMAC-SHA256(identity secret, user id)."""
    return hmac.new(identity_secret.encode(), website_user_id.encode(), hashlib.sha256).hexdigest()


def verify_visitor_hash(identity_secret: str, website_user_id: str, presented: str) -> bool:
    """Constant-time comparison of the presented hash with the expected one."""
    expected = visitor_hash(identity_secret, website_user_id)
    return hmac.compare_digest(expected.encode(), presented.strip().lower().encode())
