"""User ids and the website's vouching for its visitors.

Every user id in Switchboard is one chat-safe string (``[a-z0-9@_-]``, at most 128
characters). Ids from elsewhere are mapped to it stably by :func:`chat_safe_id`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

__all__ = [
    "MAX_ATTRIBUTES_BYTES",
    "MAX_USER_ID",
    "anonymous_visitor_id",
    "attributes_hash",
    "canonical_attributes",
    "chat_safe_id",
    "exchanged_visitor_id",
    "is_chat_safe",
    "known_visitor_id",
    "new_operator_id",
    "verify_attributes_hash",
    "verify_visitor_hash",
    "visitor_hash",
]

MAX_USER_ID = 128
_UNSAFE = re.compile(r"[^a-z0-9@_-]")
_SAFE = re.compile(r"^[a-z0-9@_-]{1,128}\Z")  # \Z: "$" would let "bob\n" pass as chat-safe


def is_chat_safe(value: str) -> bool:
    return bool(_SAFE.match(value))


_PROVIDER_ID = re.compile(r"^([a-z0-9-]+)\|([a-z0-9@_-]+)\Z")
#: the forms of Switchboard's own ids (operators, visitors, hashed ids): a provider's id never
#: takes one, or ``v-customer-42`` from Auth0 would be the website's customer 42
_OWN_PREFIXES = ("h-", "v-", "vh-", "op-", "anon-", "x-")


def chat_safe_id(raw: str) -> str:
    """Map an identity provider's user id to a chat-safe one, stably and without merging users.

    * ``<provider>|<id>`` with both parts chat-safe already (Auth0's ``auth0|abc``,
      ``google-oauth2|1234``; Cognito's ``cognito|<sub>``) is the two joined: ``auth0abc``.
    * An id that is chat-safe already (no ``|``) is itself.
    * Anything else would lose information if characters were dropped - ``samlp|corp|Bob.Smith``
      and ``samlp|corp|bobsmith`` would become one user, each seeing the other's
      conversations - so it becomes ``h-`` + what is readable of it + ``-`` + 32 hex digits of
      its SHA-256 (``h-<hash>`` if nothing is readable); so does an id that would be longer
      than 128 characters or take the form of one of Switchboard's own (``h-``, ``v-``,
      ``vh-``, ``op-``, ``anon-``), which no id of the first two kinds then does.

    What is left to the provider: that ``<provider>`` names are its own fixed set (no
    ``auth0|abc`` beside an ``auth0a|bc``) and that one provider does not send the same user
    both as ``p|x`` and as the plain ``px``.
    """
    match = _PROVIDER_ID.match(raw)
    plain = match.group(1) + match.group(2) if match else raw
    if (match or "|" not in raw) and _SAFE.match(plain) and not plain.startswith(_OWN_PREFIXES):
        return plain
    digest = hashlib.sha256(raw.encode()).hexdigest()[:32]
    readable = _UNSAFE.sub("", raw.lower())[:64]
    return f"h-{readable}-{digest}" if readable else f"h-{digest}"


def anonymous_visitor_id() -> str:
    return "anon-" + secrets.token_hex(12)


def known_visitor_id(website_user_id: str) -> str:
    """The chat user of a visitor the website vouches for: one per website user, never shared.

    A website id that is chat-safe already (lower-case letters, digits, ``@ _ -``; most are)
    lives under ``v-``: ``customer-42`` is ``v-customer-42``. Any other id would lose
    information in :func:`chat_safe_id`'s mapping - ``Bob`` and ``bob``, ``jo.smith`` and
    ``josmith`` would become one user, and each would see the other's conversations - so it
    becomes ``vh-`` + what is readable of it + ``-`` + 32 hex digits of its SHA-256
    (``Customer|42`` is ``vh-customer42-<hash>``). Another prefix: no chat-safe website id can
    take its place, and no two website ids share one (short of a SHA-256 collision). Both
    stay clear of operators (``op-``) and anonymous visitors (``anon-``).
    """
    plain = "v-" + website_user_id
    if _SAFE.match(plain):
        return plain
    digest = hashlib.sha256(website_user_id.encode()).hexdigest()[:32]
    readable = _UNSAFE.sub("", website_user_id.lower())[:64]
    return f"vh-{readable}-{digest}" if readable else f"vh-{digest}"


def exchanged_visitor_id(issuer: str, user: str) -> str:
    """The chat user of a visitor signed in by token exchange: one per (issuer, user claim).

    ``x-`` + what is readable of the user claim (at most 40 characters) + ``-`` + 32 hex
    digits (128 bits) of the SHA-256 of the JSON array ``[issuer, user]``. The issuer is in the
    hash, so the same ``sub`` from two issuers is two chat users; JSON's quoting makes the pair
    unambiguous (no ``("a/b", "c")`` against ``("a", "b/c")``); and the hash is always there, so
    no two pairs share an id short of a SHA-256 collision on 128 bits. The ``x-`` prefix is
    Switchboard's own (:func:`chat_safe_id` never returns it), apart from every HMAC visitor
    (``v-``, ``vh-``), operator and anonymous visitor. The issuer's ``id`` in the tenant's
    settings is not used: renaming it must not give the visitors new chat ids.
    """
    import json

    digest = hashlib.sha256(json.dumps([issuer, user], ensure_ascii=True).encode()).hexdigest()[:32]
    readable = _UNSAFE.sub("", user.lower())[:40]
    return f"x-{readable}-{digest}" if readable else f"x-{digest}"


def new_operator_id() -> str:
    return "op-" + secrets.token_hex(8)


def visitor_hash(identity_secret: str, website_user_id: str) -> str:
    """What the website's backend computes: hex HMAC-SHA256(identity secret, user id)."""
    return hmac.new(identity_secret.encode(), website_user_id.encode(), hashlib.sha256).hexdigest()


def verify_visitor_hash(identity_secret: str, website_user_id: str, presented: str) -> bool:
    """Constant-time comparison of the presented hash with the expected one."""
    expected = visitor_hash(identity_secret, website_user_id)
    return hmac.compare_digest(expected.encode(), presented.strip().lower().encode())


#: the largest canonical JSON of a visitor's attributes (contract section 8)
MAX_ATTRIBUTES_BYTES = 4096


def canonical_attributes(attributes: dict[str, Any]) -> str:
    """The canonical JSON the website signs: keys sorted, no spaces, UTF-8 as is (not
    ``\\u`` escapes) - what ``JSON.stringify`` of a key-sorted object gives in a browser or
    Node, and ``json.dumps(a, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``."""
    import json

    return json.dumps(attributes, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def attributes_hash(identity_secret: str, website_user_id: str, attributes: dict[str, Any]) -> str:
    """hex HMAC-SHA256(identity secret, user id + "\\n" + canonical JSON of the attributes)."""
    message = (website_user_id + "\n" + canonical_attributes(attributes)).encode()
    return hmac.new(identity_secret.encode(), message, hashlib.sha256).hexdigest()


def verify_attributes_hash(identity_secret: str, website_user_id: str, attributes: dict[str, Any],
                           presented: str) -> bool:
    """Constant-time comparison of the presented attributes hash with the expected one."""
    expected = attributes_hash(identity_secret, website_user_id, attributes)
    return hmac.compare_digest(expected.encode(), presented.strip().lower().encode())
