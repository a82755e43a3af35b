"""Who may do what in chat - as data, enforced in one place (:func:`authorize`).

Every action needs one *permission*; every permission is tied to one *scope* (so revoking
the scope takes the permission away at once, from every live connection); and the policy
table says, per role and channel type, which *relations* to the channel grant it:

* ``any``      - no channel involved (or the action finds its own)
* ``member``   - the caller is in the channel's members
* ``visitor``  - the caller is the channel's visitor
* ``assignee`` - the caller is the channel's assignee
* ``queued``   - the channel is a queued support channel (any operator of the tenant)
* ``tenant``   - any channel of the caller's tenant
* ``closed``   - a closed support channel (any operator of the tenant reads the history)

Existence is revealed only to whom may *read* the channel: a channel of another tenant,
or one the caller's role and relations do not let them read, answers ``not_found`` for
every action, exactly as a channel id that does not exist. A channel the caller may read
but not act on answers ``forbidden``; so does a missing scope.

docs/chat-policy.md renders this table; tests/chat/test_policy_matrix.py checks that the
two agree and that every action x role x channel behaves as the document says.
"""

from __future__ import annotations

from typing import Protocol

from switchboard.errors import Forbidden, NotFound
from switchboard.models import Channel

__all__ = ["ACTION_PERMISSION", "PERMISSION_SCOPE", "POLICY", "Principal", "authorize", "may_read", "relations"]


class Principal(Protocol):
    """Who acts: a :class:`~switchboard.models.Connection` (its scopes as they are now)."""

    @property
    def tenant(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def scopes(self) -> frozenset[str]: ...


PERMISSION_SCOPE: dict[str, str] = {
    "open_support": "chat:write",
    "query": "chat:read",
    "read": "chat:read",
    "assign": "chat:assign",
    "create_team": "team:chat",
    "close": "chat:write",
    "write": "chat:write",
    "delete_own": "chat:write",
    "moderate": "chat:moderate",
    "receipt": "chat:read",
    "attach": "chat:attach",
    # issue 17 (contract section 8)
    "note": "chat:write",
    "label": "chat:write",
    "presence": "chat:write",
    "visitor_profile": "chat:write",
    "rate": "chat:write",
    "inbox_filter": "chat:read",
}

#: the permission each action checks (message.delete: ``delete_own`` for one's own message,
#: ``moderate`` for anyone else's)
ACTION_PERMISSION: dict[str, tuple[str, ...]] = {
    "support.open": ("open_support",),
    "channel.query": ("query",),
    "channel.watch": ("read",),
    "channel.history": ("read",),
    "channel.assign": ("assign",),
    "channel.create": ("create_team",),
    "channel.close": ("close",),
    "message.send": ("write",),
    "message.delete": ("delete_own", "moderate"),
    "typing": ("write",),
    "read": ("receipt",),
    "attachment.presign": ("attach",),
    # issue 17 (contract section 8); message.send with ``internal``: ``note``
    "channel.label": ("label",),
    "presence.set": ("presence",),
    "visitor.email": ("visitor_profile",),
    "visitor.context": ("visitor_profile",),
    "channel.rate": ("rate",),
}

_ANY = frozenset({"any"})
_MEMBER = frozenset({"member"})
_ASSIGNEE = frozenset({"assignee"})
_TENANT = frozenset({"tenant"})

#: (role, channel type or None, permission) -> relations that grant it. Absent: refused.
POLICY: dict[tuple[str, str | None, str], frozenset[str]] = {
    # visitors: their own support channels only
    ("visitor", None, "open_support"): _ANY,
    ("visitor", None, "query"): _ANY,  # always narrowed to their own channels
    ("visitor", "support", "read"): _MEMBER,
    ("visitor", "support", "write"): _MEMBER,
    ("visitor", "support", "delete_own"): _MEMBER,
    ("visitor", "support", "receipt"): _MEMBER,
    ("visitor", "support", "attach"): _MEMBER,  # and the tenant must allow visitor attachments
    ("visitor", "support", "close"): frozenset({"visitor"}),
    # operators: the queue of their tenant, the support channels assigned to them, team channels they are in
    ("operator", None, "query"): _ANY,
    ("operator", None, "create_team"): _ANY,
    ("operator", "support", "read"): frozenset({"member", "queued", "closed"}),
    ("operator", "support", "assign"): frozenset({"queued", "assignee"}),  # claim; claiming again is a no-op
    ("operator", "support", "write"): _ASSIGNEE,
    ("operator", "support", "delete_own"): _MEMBER,
    ("operator", "support", "receipt"): _MEMBER,
    ("operator", "support", "attach"): _ASSIGNEE,
    ("operator", "support", "close"): _ASSIGNEE,
    ("operator", "team", "read"): _MEMBER,
    ("operator", "team", "write"): _MEMBER,
    ("operator", "team", "delete_own"): _MEMBER,
    ("operator", "team", "receipt"): _MEMBER,
    ("operator", "team", "attach"): _MEMBER,
    # admins: read, assign, close and moderate anything of their tenant; writing needs the
    # assignment (support) or membership (team), like anyone else
    ("admin", None, "query"): _ANY,
    ("admin", None, "create_team"): _ANY,
    ("admin", "support", "read"): _TENANT,
    ("admin", "support", "assign"): _TENANT,
    ("admin", "support", "write"): _ASSIGNEE,
    ("admin", "support", "delete_own"): _MEMBER,
    ("admin", "support", "receipt"): _MEMBER,
    ("admin", "support", "attach"): _ASSIGNEE,
    ("admin", "support", "close"): _TENANT,
    ("admin", "support", "moderate"): _TENANT,
    ("admin", "team", "read"): _TENANT,
    ("admin", "team", "write"): _MEMBER,
    ("admin", "team", "delete_own"): _MEMBER,
    ("admin", "team", "receipt"): _MEMBER,
    ("admin", "team", "attach"): _MEMBER,
    ("admin", "team", "close"): _TENANT,
    ("admin", "team", "moderate"): _TENANT,
    # issue 17: private notes (staff who may read the conversation: its read rows' relations),
    # labels, presence
    ("operator", "support", "note"): frozenset({"member", "queued", "closed"}),
    ("admin", "support", "note"): _TENANT,
    ("operator", "support", "label"): frozenset({"member", "queued"}),
    ("admin", "support", "label"): _TENANT,
    ("operator", None, "presence"): _ANY,
    ("admin", None, "presence"): _ANY,
    # contract section 8: the visitor's own side of their conversation (staff have no such row)
    ("visitor", "support", "visitor_profile"): frozenset({"visitor"}),
    ("visitor", "support", "rate"): frozenset({"visitor"}),
    # channel.query's staff filters (visitor, label, assignee, status closed): staff only; a
    # visitor's query with one is refused, not quietly narrowed to their own list
    ("operator", None, "inbox_filter"): _ANY,
    ("admin", None, "inbox_filter"): _ANY,
}


def relations(user_id: str, channel: Channel | None) -> frozenset[str]:
    """A user's relations to a channel of their own tenant."""
    if channel is None:
        return _ANY
    rel = {"any", "tenant"}
    if user_id in channel.members:
        rel.add("member")
    if user_id == channel.visitor:
        rel.add("visitor")
    if channel.assignee is not None and user_id == channel.assignee:
        rel.add("assignee")
    if channel.type == "support" and channel.status == "queued":
        rel.add("queued")
    if channel.type == "support" and channel.status == "closed":
        rel.add("closed")  # issue 17: any closed conversation of the tenant, for staff's history
    return frozenset(rel)


def may_read(tenant: str, user_id: str, role: str, channel: Channel) -> bool:
    """Whether the channel exists for this user at all (scopes aside): fan-out uses it to
    skip watchers who lost sight of a channel since they subscribed."""
    if channel.tenant != tenant:
        return False
    return bool(POLICY.get((role, channel.type, "read"), frozenset()) & relations(user_id, channel))


def authorize(who: Principal, permission: str, channel: Channel | None = None) -> None:
    """Raise unless ``who`` may use ``permission`` (on ``channel``), with its scopes *now*.

    ``NotFound`` if the channel is another tenant's or one ``who`` may not read (its
    existence is not revealed); ``Forbidden`` for a missing scope or relation.
    """
    if channel is not None and not may_read(who.tenant, who.user_id, who.role, channel):
        raise NotFound("no such channel")
    scope = PERMISSION_SCOPE[permission]
    if scope not in who.scopes:
        raise Forbidden(f"requires scope {scope}")
    granted = POLICY.get((who.role, channel.type if channel else None, permission), frozenset())
    if not granted & relations(who.user_id, channel):
        article = "an" if who.role.startswith(("a", "e", "i", "o", "u")) else "a"  # "an admin", "an operator"
        raise Forbidden(f"{article} {who.role} may not {permission.replace('_', ' ')} here")
