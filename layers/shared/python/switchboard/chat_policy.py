"""Who may do what in chat - as data, enforced in one place (:func:`authorize`).

Every action needs one *permission*; every permission is tied to one *scope* (so revoking
the scope takes the permission away at once); and the policy table says, per role and
channel type, which *relations* to the channel grant the permission:

* ``any``      - no channel involved (or the action finds its own)
* ``member``   - the caller is in the channel's members
* ``visitor``  - the caller is the channel's visitor
* ``assignee`` - the caller is the channel's assignee
* ``queued``   - the channel is a queued support channel (any operator of the tenant)
* ``tenant``   - any channel of the caller's tenant (admins)

A channel of another tenant is never visible: it answers ``not_found`` before any rule.
docs/chat-policy.md renders this table; a test checks the two agree.
"""

from __future__ import annotations

from switchboard.errors import Forbidden, NotFound
from switchboard.models import Channel, Connection

__all__ = ["ACTION_PERMISSION", "PERMISSION_SCOPE", "POLICY", "authorize", "relations"]

PERMISSION_SCOPE: dict[str, str] = {
    "open_support": "chat:write",
    "query": "chat:read",
    "watch": "chat:read",
    "history": "chat:read",
    "assign": "chat:assign",
    "create_team": "team:chat",
    "close": "chat:write",
    "write": "chat:write",
    "receipt": "chat:read",
    "moderate": "chat:moderate",
    "attach": "chat:attach",
}

ACTION_PERMISSION: dict[str, str] = {
    "support.open": "open_support",
    "channel.query": "query",
    "channel.watch": "watch",
    "channel.history": "history",
    "channel.assign": "assign",
    "channel.create": "create_team",
    "channel.close": "close",
    "message.send": "write",
    "message.delete": "write",  # own messages; others' need "moderate" (see chat.delete_message)
    "typing": "write",
    "read": "receipt",
    "attachment.presign": "attach",
}

_ANY = frozenset({"any"})
_MEMBER = frozenset({"member"})
_TENANT = frozenset({"tenant"})

#: (role, channel type or None, permission) -> relations that grant it. Absent: refused.
POLICY: dict[tuple[str, str | None, str], frozenset[str]] = {
    # visitors: their own support channel only
    ("visitor", None, "open_support"): _ANY,
    ("visitor", None, "query"): _ANY,  # always narrowed to their own channels
    ("visitor", "support", "watch"): _MEMBER,
    ("visitor", "support", "history"): _MEMBER,
    ("visitor", "support", "write"): _MEMBER,
    ("visitor", "support", "receipt"): _MEMBER,
    ("visitor", "support", "attach"): _MEMBER,
    ("visitor", "support", "close"): frozenset({"visitor"}),
    # operators: queued channels of their tenant, their own channels, team channels they are in
    ("operator", None, "query"): _ANY,
    ("operator", None, "create_team"): _ANY,
    ("operator", "support", "watch"): frozenset({"member", "queued"}),
    ("operator", "support", "history"): frozenset({"member", "queued"}),
    ("operator", "support", "assign"): frozenset({"queued"}),
    ("operator", "support", "write"): frozenset({"assignee"}),
    ("operator", "support", "receipt"): _MEMBER,
    ("operator", "support", "attach"): frozenset({"assignee"}),
    ("operator", "support", "close"): frozenset({"assignee"}),
    ("operator", "team", "watch"): _MEMBER,
    ("operator", "team", "history"): _MEMBER,
    ("operator", "team", "write"): _MEMBER,
    ("operator", "team", "receipt"): _MEMBER,
    ("operator", "team", "attach"): _MEMBER,
    # admins: everything in their tenant; writing needs membership (assign yourself first)
    ("admin", None, "query"): _ANY,
    ("admin", None, "create_team"): _ANY,
    ("admin", "support", "watch"): _TENANT,
    ("admin", "support", "history"): _TENANT,
    ("admin", "support", "assign"): _TENANT,
    ("admin", "support", "write"): frozenset({"assignee", "member"}),
    ("admin", "support", "receipt"): _MEMBER,
    ("admin", "support", "attach"): frozenset({"assignee", "member"}),
    ("admin", "support", "close"): _TENANT,
    ("admin", "support", "moderate"): _TENANT,
    ("admin", "team", "watch"): _MEMBER,
    ("admin", "team", "history"): _MEMBER,
    ("admin", "team", "write"): _MEMBER,
    ("admin", "team", "receipt"): _MEMBER,
    ("admin", "team", "attach"): _MEMBER,
    ("admin", "team", "close"): _TENANT,
    ("admin", "team", "moderate"): _TENANT,
}


def relations(conn: Connection, channel: Channel | None) -> frozenset[str]:
    """The caller's relations to a channel (of the caller's tenant)."""
    if channel is None:
        return _ANY
    rel = {"any", "tenant"}
    if conn.user_id in channel.members:
        rel.add("member")
    if conn.user_id == channel.visitor:
        rel.add("visitor")
    if channel.assignee is not None and conn.user_id == channel.assignee:
        rel.add("assignee")
    if channel.type == "support" and channel.status == "queued":
        rel.add("queued")
    return frozenset(rel)


def authorize(conn: Connection, permission: str, channel: Channel | None = None) -> None:
    """Raise unless the connection may use ``permission`` (on ``channel``), with its scopes *now*."""
    if channel is not None and channel.tenant != conn.tenant:
        raise NotFound("no such channel")  # other tenants' channels do not exist for you
    scope = PERMISSION_SCOPE[permission]
    if scope not in conn.scopes:
        raise Forbidden(f"requires scope {scope}")
    granted = POLICY.get((conn.role, channel.type if channel else None, permission), frozenset())
    if not granted & relations(conn, channel):
        raise Forbidden(f"{conn.role} may not {permission.replace('_', ' ')} here")
