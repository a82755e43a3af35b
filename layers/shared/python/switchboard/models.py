"""Domain records: frozen, typed, and separate from both the request models
(:mod:`switchboard.edge.requests`) and the DynamoDB items (:mod:`switchboard.store` converts at
its edge).

They are ``msgspec.Struct`` classes rather than dataclasses, as are the layer's other small
records, for cold start: ``@dataclass`` writes and ``exec``s each class's methods at import,
~0.4 ms a class, ~10 ms for the layer's two dozen; a Struct class is built in C in ~0.01 ms
(bench/: "Cold start"). Same use: keyword construction, attributes, ``==``, and
``msgspec.structs.replace`` for ``dataclasses.replace``. A Struct's ``__init__`` does not
validate types, just as a dataclass's does not; validation happens at the edges.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

__all__ = [
    "AuditEvent", "CannedReply", "Channel", "Connection", "Identity", "IdentityProvider", "Message", "Operator",
    "OperatorPresence", "Session", "SessionKey", "Tenant", "TrustedIssuer", "Watcher",
]


WIDGET_DEFAULT_COLOR = "#2f6feb"


#: a tenant id (the seed's, the request bodies'); \Z: "$" would let "acme\n" through
TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}\Z"
#: the id of an operator record (``identity.new_operator_id``). Staff signed in through a
#: post-login hook (Auth0, Cognito) have ids of another form, and no record
OPERATOR_ID = re.compile(r"^op-[0-9a-f]{16}\Z")


class IdentityProvider(msgspec.Struct, frozen=True):
    """An OpenID provider a tenant's staff sign in with (contract section 7). The client
    secret is never here: ``secret_id`` names the Secrets Manager secret holding it."""

    id: str
    kind: str
    name: str
    issuer: str
    client_id: str
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    allowed_domains: tuple[str, ...] = ()
    secret_id: str = ""

    def admits(self, email: str) -> bool:
        """Whether a verified email of this domain may be made an operator without an invitation."""
        return email.rsplit("@", 1)[-1].lower() in self.allowed_domains

    def to_json(self) -> dict[str, Any]:
        """What ``GET /auth/providers`` shows: never the issuer's secret (nor its name)."""
        return {"id": self.id, "kind": self.kind, "name": self.name}


class TrustedIssuer(msgspec.Struct, frozen=True, kw_only=True):
    """A website's own token issuer that a tenant trusts for its visitors (``POST /auth/exchange``):
    tokens whose ``iss`` is ``issuer``, for ``audience``, signed by a key of ``jwks_uri``."""

    id: str
    issuer: str
    jwks_uri: str
    audience: str
    user_claim: str = "sub"
    name_claim: str = "name"


class Tenant(msgspec.Struct, frozen=True):
    id: str
    name: str
    identity_secret: str
    hook_secret: str
    allowed_origins: tuple[str, ...] = ()
    visitor_attachments: bool = False
    widget: dict[str, Any] = msgspec.field(default_factory=dict)
    #: post-login hook configuration: extra namespaced claims, e-mail domains refused sign-in
    claims: dict[str, Any] = msgspec.field(default_factory=dict)
    deny_email_domains: tuple[str, ...] = ()
    #: contract section 9's settings (``admin/tenant.py`` validates and documents each; which
    #: take effect today is in docs/architecture.md, "Tenant settings")
    verified_visitors_only: bool = False
    hours: dict[str, Any] | None = None
    away_message: str | None = None
    email_when_offline: str = "off"
    prechat: tuple[dict[str, Any], ...] = ()
    message_retention_days: int | None = None
    #: ``{"id", "url", "events", "secret"}``; ``secret`` sealed (``kms1:``), never answered
    webhooks: tuple[dict[str, Any], ...] = ()
    #: secrets being rotated out: ``(stored secret, epoch seconds it stops working)``, the
    #: stored form sealed like the current one (:mod:`switchboard.tokens.sealing`)
    previous_identity_secrets: tuple[tuple[str, int], ...] = ()
    previous_hook_secrets: tuple[tuple[str, int], ...] = ()
    #: bumped by every settings write: a write is conditional on the version it read
    version: int = 0
    identity_providers: tuple[IdentityProvider, ...] = ()
    #: the widget's languages this tenant offers, in its order of preference (empty: all the
    #: catalogue has, ``switchboard.chat.visitors.LOCALES``); the first is the fallback
    locales: tuple[str, ...] = ()

    def provider(self, provider_id: str) -> IdentityProvider | None:
        return next((p for p in self.identity_providers if p.id == provider_id), None)

    def allows_return_to(self, url: str) -> bool:
        """Whether ``url`` (an SSO sign-in's ``return_to``) is on one of the tenant's allowed
        origins: http(s), no user info, no fragment, its scheme://host[:port] listed exactly."""
        from urllib.parse import urlsplit

        if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):  # urlsplit drops CR, LF, tab unseen
            return False
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None \
                or parts.password is not None or parts.fragment or "\\" in url:
            return False
        return f"{parts.scheme}://{parts.netloc}" in self.allowed_origins

    #: the website issuers whose JWTs ``POST /auth/exchange`` turns into level-1 visitors
    trusted_issuers: tuple[TrustedIssuer, ...] = ()

    def __repr__(self) -> str:  # the identity and hook secrets stay out of logs and tracebacks
        return f"Tenant(id={self.id!r}, name={self.name!r})"

    def allows_origin(self, origin: str | None) -> bool:
        """No Origin header (a server-side caller) is allowed; a browser's must be listed."""
        return origin is None or origin.rstrip("/") in self.allowed_origins

    def stored_secrets(self, kind: str, now: int) -> list[str]:
        """The stored (maybe sealed) ``identity`` or ``hook`` secrets that verify at ``now``:
        the current one first, then each previous one still inside its grace."""
        current, previous = ((self.identity_secret, self.previous_identity_secrets) if kind == "identity"
                             else (self.hook_secret, self.previous_hook_secrets))
        return [s for s in (current, *(p for p, until in previous if now < until)) if s]

    def widget_settings(self) -> dict[str, Any]:
        """What the widget may know of the tenant (``GET /tenants/{tenant}/widget``): the
        theme the tenant configured over sensible defaults, and whether visitors may attach."""
        w = self.widget
        position, color = w.get("position"), str(w.get("color") or "")
        if not re.fullmatch(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?", color):
            color = WIDGET_DEFAULT_COLOR  # it ends up in the widget's CSS: only a plain hex colour
        return {
            "title": str(w.get("title") or self.name),
            "color": color,
            "greeting": str(w.get("greeting") or "Hi! How can we help?"),
            "position": position if position in ("left", "right") else "right",
            "attachments": self.visitor_attachments,
        }


class Operator(msgspec.Struct, frozen=True):
    tenant: str
    id: str
    email: str
    name: str
    role: str
    password_hash: str | None
    blocked: bool = False
    created_at: int = 0
    totp_secret: str | None = None
    totp_enabled: bool = False
    totp_last_step: int = 0
    #: a secret enrolled but not yet confirmed by a code (MFA stays off until then)
    totp_pending: str | None = None
    #: the linked outside identities (OIDC, Cognito, Auth0) by identity id; ``None``: an item
    #: written before identities existed (no map stored yet: the first link writes it whole)
    identities: dict[str, Identity] | None = None

    def __repr__(self) -> str:  # no password hash, no TOTP secret in logs and tracebacks
        return f"Operator(tenant={self.tenant!r}, id={self.id!r}, role={self.role!r}, blocked={self.blocked!r})"

    @property
    def linked(self) -> dict[str, Identity]:
        return self.identities or {}

    @property
    def ways_in(self) -> int:
        """How many ways this person can sign in: the password (if set) and each linked identity."""
        return (self.password_hash is not None) + len(self.linked)

    @property
    def active(self) -> bool:
        """Can act: not blocked, and with a way in (an invitation never accepted, by password
        or by a linked identity, may lapse)."""
        return not self.blocked and self.ways_in > 0

    def to_json(self) -> dict[str, Any]:
        """The operator as admins see it: never the password hash or the TOTP secret."""
        return {"id": self.id, "email": self.email, "name": self.name, "role": self.role, "blocked": self.blocked,
                "mfa_enabled": self.totp_enabled, "created_at": self.created_at,
                "invited": self.ways_in == 0,
                "identities": sorted(i.kind_name for i in self.linked.values())
                + (["password"] if self.password_hash is not None else [])}


class Identity(msgspec.Struct, frozen=True):
    """One outside way in linked to a staff record: ``kind`` ``oidc`` (with ``provider``),
    ``cognito`` or ``auth0``; ``subject`` is the provider's stable user id (``sub``)."""

    id: str
    kind: str
    subject: str
    linked_at: int
    provider: str | None = None
    email: str | None = None

    @property
    def kind_name(self) -> str:
        """How sessions and the admin listing name it: ``oidc:<provider>``, ``cognito``, ``auth0``."""
        return f"{self.kind}:{self.provider}" if self.provider else self.kind

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, **({"provider": self.provider} if self.provider else {}),
                **({"email": self.email} if self.email else {}), "linked_at": self.linked_at}


#: how an operator's credentials were checked: a session opened so stands on the operator's
#: record, and is opened, renewed and connected only while that record is as it was (not
#: removed or blocked, same role; at sign-in, the same password hash)
OPERATOR_METHODS = frozenset({"password", "password+totp", "password+recovery_code", "invitation", "device"})


def stands_on_record(role: str, user_id: str) -> bool:
    """Whether a session of this user is a staff member's on an operator record (password,
    SSO, Cognito or Auth0 alike): then it is opened, renewed and connected only while that
    record is as it was. Staff signed in by a hook before identities were linked have ids of
    another form and no record."""
    return role in ("operator", "admin") and OPERATOR_ID.match(user_id) is not None


class SessionKey(msgspec.Struct, frozen=True):
    tenant: str
    user_id: str
    session_id: str


class Session(msgspec.Struct, frozen=True):
    """One sign-in on one device (Serverpod's "auth id")."""

    tenant: str
    user_id: str
    id: str
    role: str
    lvl: int
    anon: bool
    name: str
    scopes: frozenset[str]
    method: str
    device: str
    created_at: int
    last_used_at: int
    idle_expires_at: int
    expires_at: int
    status: str = "live"
    refresh_gen: int = 0
    email: str | None = None

    @property
    def key(self) -> SessionKey:
        return SessionKey(self.tenant, self.user_id, self.id)

    def is_live(self, now: int) -> bool:
        return self.status == "live" and now < self.ends_at

    @property
    def ends_at(self) -> int:
        """When the session ends unless it is used: the idle limit, never past the absolute one."""
        return min(self.expires_at, self.idle_expires_at)

    def stands_on(self, op: Operator | None) -> bool:
        """Whether the operator record (``None``: removed) still bears this session out: not
        blocked, the role it was opened with (storage writes the same as a ConditionCheck)."""
        return op is not None and not op.blocked and op.role == self.role

    @property
    def on_record(self) -> bool:
        return stands_on_record(self.role, self.user_id)


class AuditEvent(msgspec.Struct, frozen=True):
    tenant: str
    id: str
    kind: str
    at: int
    actor: str | None = None
    subject: str | None = None
    session_id: str | None = None
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


class Connection(msgspec.Struct, frozen=True):
    """A live WebSocket connection, authorised at ``$connect`` by a chat token.

    ``scopes`` are the connection's scopes *now*: revocation removes them from this record
    (see :class:`switchboard.chat.connections.LiveConnections`), and every action reads the record fresh.
    ``expires_at`` is when API Gateway closes the socket anyway (2 hours); a record found
    past it is stale (its ``$disconnect`` was lost) and is treated as gone.
    """

    id: str
    tenant: str
    user_id: str
    session_id: str
    role: str
    lvl: int
    name: str
    scopes: frozenset[str]
    connected_at: int
    expires_at: int

    def is_live(self, now: int) -> bool:
        return now < self.expires_at


class Watcher(msgspec.Struct, frozen=True):
    """A connection subscribed to a channel (``channel.watch``). Role and user are kept with
    the subscription so fan-out can re-check, without reading each connection, that the
    watcher may still read the channel (an operator watching a queued channel that a
    colleague then claims stops hearing of it)."""

    connection_id: str
    user_id: str
    role: str


class Channel(msgspec.Struct, frozen=True):
    id: str
    tenant: str
    type: str  # "support" | "team"
    status: str  # "queued" | "open" | "closed"
    subject: str | None
    members: tuple[str, ...]
    assignee: str | None
    visitor: str | None
    created_at: int
    last_message_at: int
    name: str | None = None
    #: the assignee's display name, so a visitor sees who is helping them from the start
    assignee_name: str | None = None
    #: when it was closed (epoch ms; not in the contract's shape)
    closed_at: int | None = None
    #: when the last transcript written read the messages (epoch ms), and when a message was last
    #: deleted after the close: the archive needs writing again while the second is not older
    archived_at: int | None = None
    last_deleted_at: int | None = None
    #: when it was first assigned (epoch ms): the end of its queue wait (reports)
    assigned_at: int | None = None
    #: staff's labels (``channel.label``, normalised): never in the visitor's view
    labels: tuple[str, ...] = ()
    #: contract section 8, the visitor's side: the page they are on (``{"url", "title",
    #: "referrer", "locale"}``), their pre-chat answers, where follow-up mail goes, their rating
    #: (``{"score", "comment", "at"}``)
    context: dict[str, Any] | None = None
    prechat: dict[str, Any] | None = None
    visitor_email: str | None = None
    csat: dict[str, Any] | None = None
    #: staff only: the website's attributes of the visitor (copied from their sign-in) and
    #: whether the website signed them - one set, all signed or all not, never mixed
    attributes: dict[str, Any] | None = None
    attributes_signed: bool = False

    def to_json(self, *, staff: bool = False) -> dict[str, Any]:
        """The channel as the contract shapes it. The visitor's view (the default, so that a
        caller who forgets gets the narrower one) never holds staff-only fields; ``staff``
        adds them (``attributes``, ``attributes_signed``, ``labels``)."""
        out: dict[str, Any] = {
            "id": self.id, "type": self.type, "status": self.status, "subject": self.subject,
            "members": list(self.members), "assignee": self.assignee, "visitor": self.visitor,
            "created_at": self.created_at, "last_message_at": self.last_message_at, "name": self.name,
            "assignee_name": self.assignee_name}
        if self.type == "support":
            out.update(context=self.context, prechat=self.prechat, visitor_email=self.visitor_email,
                       csat=self.csat)
            if staff:
                out.update(attributes=self.attributes, attributes_signed=self.attributes_signed)
        if staff:
            out["labels"] = list(self.labels)
        return out


class Message(msgspec.Struct, frozen=True):
    id: str
    channel_id: str
    sender_id: str
    sender_role: str
    sender_name: str
    text: str
    attachments: tuple[dict[str, Any], ...]
    client_id: str
    created_at: int
    deleted: bool = False
    #: a private note among staff (contract section 8): stored apart (``store/keys.py`` ``note_sk``),
    #: never sent, listed or archived for the visitor
    internal: bool = False
    #: epoch seconds DynamoDB's TTL removes it at: the tenant's ``message_retention_days`` when it
    #: was written (None: kept until its channel's visitor is erased; docs/privacy.md)
    expires_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "channel_id": self.channel_id,
               "sender": {"id": self.sender_id, "role": self.sender_role, "name": self.sender_name},
               "text": self.text, "attachments": list(self.attachments), "client_id": self.client_id,
               "created_at": self.created_at, "deleted": self.deleted}
        if self.internal:  # only notes say so: a visitor's messages keep the shape they always had
            out["internal"] = True
        return out


class OperatorPresence(msgspec.Struct, frozen=True):
    """An operator's live connections and load (open channels assigned), for assignment."""

    tenant: str
    user_id: str
    connections: frozenset[str]
    load: int
    last_assigned_at: int
    #: as its connections were made (an item written before roles were recorded: ``operator``,
    #: the role that may read less)
    role: str = "operator"
    #: the name their connection carries (the chat token's): what staff signed in through a
    #: post-login hook, who have no operator record, are called
    name: str | None = None
    #: ``presence.set`` away: keeps their chats, gets no new ones (contract section 8)
    away: bool = False
    #: the most open chats auto-assignment and handovers give them (``PATCH /admin/operators/{id}``);
    #: None: no cap
    max_chats: int | None = None

    @property
    def online(self) -> bool:
        return bool(self.connections)

    @property
    def answering(self) -> bool:
        """Online and not away: who makes the tenant "online" to its visitors (the widget's
        ``online``, ``support.open``'s email-when-offline check). An away operator takes no
        new chat, so a visitor met only by away staff would wait in the queue unasked for an
        address while the widget said someone was there; capacity does not count here (a full
        operator still answers their queue)."""
        return self.online and not self.away

    @property
    def available(self) -> bool:
        """Whether they may be given a new chat: online, not away, under their capacity."""
        return self.online and not self.away and (self.max_chats is None or self.load < self.max_chats)


class CannedReply(msgspec.Struct, frozen=True):
    """A tenant's saved answer (contract section 8): ``{visitor.name}`` and ``{operator.name}``
    in ``text`` are filled in by the back office when it is used, not here."""

    tenant: str
    id: str
    title: str
    text: str
    shortcut: str
    created_at: int
    updated_at: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "text": self.text, "shortcut": self.shortcut,
                "created_at": self.created_at, "updated_at": self.updated_at}

class OutboundEvent(msgspec.Struct, frozen=True):
    """Something a tenant's systems hear of (contract section 9; :mod:`switchboard.events.outbound`):
    ``id`` is the Standard Webhooks ``webhook-id`` (and EventBridge's ``id`` in the detail), the
    same on every delivery attempt, so receivers de-duplicate by it."""

    id: str
    type: str
    tenant: str
    #: when it happened, epoch milliseconds
    at: int
    data: dict[str, Any]
    #: the conversation it is about: the event is stored in that channel's partition, so that
    #: erasing the conversation erases its undelivered events too
    channel_id: str | None = None
