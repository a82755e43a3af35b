"""Records to items and back: the one place that knows which attribute holds which field.

Each ``*_item`` builds the stored item of a record (keys from :mod:`switchboard.store.keys`
included); each reader builds the record from an item read back, with the defaults an item
written by an older version needs (an attribute that did not exist then).
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.models import (
    AuditEvent,
    Channel,
    Connection,
    Identity,
    IdentityProvider,
    Message,
    Operator,
    Session,
    Tenant,
    TrustedIssuer,
)
from switchboard.store import keys

__all__ = [
    "assignment_item", "attributes_of", "attributes_text", "channel", "channel_item", "connection", "connection_item",
    "email_item", "event",
    "event_item", "identity_value", "membership_item", "message", "message_item", "operator", "operator_item",
    "session", "session_item", "status_index_of", "tenant", "tenant_item"
]


def tenant_item(t: Tenant) -> dict[str, Any]:
    return {
        "pk": keys.tenant_pk(t.id),
        "sk": keys.TENANT,
        "tenant": t.id,
        "name": t.name,
        "identity_secret": t.identity_secret,
        "hook_secret": t.hook_secret,
        "allowed_origins": list(t.allowed_origins),
        "visitor_attachments": t.visitor_attachments,
        "widget": dict(t.widget),
        "claims": dict(t.claims),
        "deny_email_domains": list(t.deny_email_domains),
        "verified_visitors_only": t.verified_visitors_only,
        "hours": t.hours,
        "away_message": t.away_message,
        "email_when_offline": t.email_when_offline,
        "prechat": [dict(f) for f in t.prechat],
        "message_retention_days": t.message_retention_days,
        "webhooks": [dict(w) for w in t.webhooks],
        "previous_identity_secrets": [{"secret": s, "until": u} for s, u in t.previous_identity_secrets],
        "previous_hook_secrets": [{"secret": s, "until": u} for s, u in t.previous_hook_secrets],
        "version": t.version,
        # the providers' settings; their client secrets are in Secrets Manager (secret_id names it)
        "identity_providers": [
            {"id": p.id, "kind": p.kind, "name": p.name, "issuer": p.issuer, "client_id": p.client_id,
             "scopes": list(p.scopes), "allowed_domains": list(p.allowed_domains), "secret_id": p.secret_id}
            for p in t.identity_providers],
        "trusted_issuers": [msgspec.to_builtins(i) for i in t.trusted_issuers],
        "locales": list(t.locales),
    }


def tenant(raw: dict[str, Any]) -> Tenant:
    return Tenant(
        id=raw["tenant"],
        name=raw.get("name", raw["tenant"]),
        identity_secret=raw["identity_secret"],
        hook_secret=raw.get("hook_secret", ""),
        allowed_origins=tuple(raw.get("allowed_origins", [])),
        visitor_attachments=bool(raw.get("visitor_attachments", False)),
        widget=raw.get("widget", {}),
        claims=raw.get("claims", {}),
        deny_email_domains=tuple(raw.get("deny_email_domains", [])),
        # a tenant stored before these settings existed reads as their defaults
        verified_visitors_only=bool(raw.get("verified_visitors_only", False)),
        hours=raw.get("hours"),
        away_message=raw.get("away_message"),
        email_when_offline=raw.get("email_when_offline") or "off",
        prechat=tuple(raw.get("prechat") or ()),
        message_retention_days=_int_or_none(raw.get("message_retention_days")),
        webhooks=tuple(raw.get("webhooks") or ()),
        previous_identity_secrets=_previous(raw.get("previous_identity_secrets")),
        previous_hook_secrets=_previous(raw.get("previous_hook_secrets")),
        version=int(raw.get("version", 0)),
        identity_providers=tuple(
            IdentityProvider(id=p["id"], kind=p.get("kind", "oidc"), name=p.get("name") or p["id"],
                             issuer=p["issuer"], client_id=p["client_id"], scopes=tuple(p.get("scopes") or ()),
                             allowed_domains=tuple(p.get("allowed_domains") or ()), secret_id=p.get("secret_id", ""))
            for p in raw.get("identity_providers") or ()),
        trusted_issuers=tuple(TrustedIssuer(**i) for i in raw.get("trusted_issuers", [])),
        locales=tuple(raw.get("locales") or ()),
    )



def _previous(stored: Any) -> tuple[tuple[str, int], ...]:
    return tuple((p["secret"], int(p["until"])) for p in stored or ())


def operator_item(op: Operator) -> dict[str, Any]:
    return {
        "pk": keys.tenant_pk(op.tenant),
        "sk": keys.operator_sk(op.id),
        "tenant": op.tenant,
        "user_id": op.id,
        "email": op.email,
        "name": op.name,
        "role": op.role,
        "password_hash": op.password_hash,
        "blocked": op.blocked,
        "created_at": op.created_at,
        "totp_secret": op.totp_secret,
        "totp_enabled": op.totp_enabled,
        "totp_last_step": op.totp_last_step,
        "totp_pending": op.totp_pending,
        "identities": {i: identity_value(v) for i, v in op.linked.items()},
    }


def identity_value(i: Identity) -> dict[str, Any]:
    """One linked identity, as a value of the operator item's ``identities`` map."""
    return {"id": i.id, "kind": i.kind, "subject": i.subject, "linked_at": i.linked_at,
            **({"provider": i.provider} if i.provider else {}), **({"email": i.email} if i.email else {})}


def email_item(op: Operator) -> dict[str, Any]:
    """The operator's email pointer: sign-in finds the operator by it."""
    return {"pk": keys.tenant_pk(op.tenant), "sk": keys.email_sk(op.email), "user_id": op.id}


def operator(r: dict[str, Any]) -> Operator:
    return Operator(
        tenant=r["tenant"],
        id=r["user_id"],
        email=r["email"],
        name=r.get("name", ""),
        role=r["role"],
        password_hash=r.get("password_hash"),
        blocked=bool(r.get("blocked", False)),
        created_at=r.get("created_at", 0),
        totp_secret=r.get("totp_secret"),
        totp_enabled=bool(r.get("totp_enabled", False)),
        totp_last_step=r.get("totp_last_step", 0),
        totp_pending=r.get("totp_pending"),
        identities=None if "identities" not in r else {
            k: Identity(id=v["id"], kind=v["kind"], subject=v["subject"], linked_at=int(v["linked_at"]),
                        provider=v.get("provider"), email=v.get("email"))
            for k, v in r["identities"].items()},
    )


def event_item(e: AuditEvent, ttl: int) -> dict[str, Any]:
    return {
        "pk": keys.events_pk(e.tenant),
        "sk": e.id,
        "tenant": e.tenant,
        "kind": e.kind,
        "at": e.at,
        "actor": e.actor,
        "subject": e.subject,
        "session_id": e.session_id,
        "detail": e.detail,
        "ttl": ttl,
    }


def event(r: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        tenant=r["tenant"],
        id=r["sk"],
        kind=r["kind"],
        at=r["at"],
        actor=r.get("actor"),
        subject=r.get("subject"),
        session_id=r.get("session_id"),
        detail=r.get("detail", {}),
    )


def session_item(s: Session) -> dict[str, Any]:
    return {
        "pk": keys.user_pk(s.tenant, s.user_id),
        "sk": keys.session_sk(s.id),
        keys.GSI1_PK: keys.session_gsi1pk(s.id),
        keys.GSI1_SK: keys.SESSION_BY_ID,
        "tenant": s.tenant,
        "user_id": s.user_id,
        "session_id": s.id,
        "role": s.role,
        "lvl": s.lvl,
        "anon": s.anon,
        "name": s.name,
        "scopes": set(s.scopes) or None,
        "method": s.method,
        "device": s.device,
        "created_at": s.created_at,
        "last_used_at": s.last_used_at,
        "idle_expires_at": s.idle_expires_at,
        "expires_at": s.expires_at,
        "status": s.status,
        "refresh_gen": s.refresh_gen,
        "email": s.email,
        "ttl": s.expires_at + 86400,
    }


def session(r: dict[str, Any]) -> Session:
    return Session(
        tenant=r["tenant"],
        user_id=r["user_id"],
        id=r["session_id"],
        role=r["role"],
        lvl=r["lvl"],
        anon=bool(r["anon"]),
        name=r.get("name", ""),
        scopes=frozenset(r.get("scopes", ())),
        method=r.get("method", ""),
        device=r.get("device", ""),
        created_at=r["created_at"],
        last_used_at=r.get("last_used_at", r["created_at"]),
        idle_expires_at=r["idle_expires_at"],
        expires_at=r["expires_at"],
        status=r.get("status", "live"),
        refresh_gen=r.get("refresh_gen", 0),
        email=r.get("email"),
    )


def status_index_of(ch: Channel) -> str | None:
    """Support channels are listed per tenant and status; team channels only per member."""
    if ch.type == "support" and ch.status == "closed":
        return keys.closed_index(ch.tenant)  # issue 17: a tenant's closed conversations, for staff
    return keys.status_index(ch.tenant, ch.status) if ch.type == "support" else None


def channel_item(ch: Channel) -> dict[str, Any]:
    return {"pk": keys.channel_pk(ch.id), "sk": keys.CHANNEL, "channel_id": ch.id, "tenant": ch.tenant,
            "type": ch.type, "status": ch.status, "subject": ch.subject, "members": list(ch.members),
            "assignee": ch.assignee, "visitor": ch.visitor, "created_at": ch.created_at,
            "last_message_at": ch.last_message_at, "name": ch.name, "assignee_name": ch.assignee_name,
            "assigned_at": ch.assigned_at, "labels": list(ch.labels) or None, keys.GSI2_PK: status_index_of(ch),
            # issue 17: a new support channel waits for someone from its creation (the sweep's list)
            keys.GSI1_PK: keys.due_index() if ch.type == "support" and ch.status != "closed" else None,
            keys.GSI1_SK: keys.activity_sort(ch.created_at, ch.id) if ch.type == "support" and ch.status != "closed"
            else None,
            keys.GSI2_SK: keys.activity_sort(ch.last_message_at, ch.id),
            **{k: v for k, v in (("context", ch.context), ("prechat", ch.prechat), ("visitor_email", ch.visitor_email),
                                 ("csat", ch.csat),
                                 ("attributes", attributes_text(ch.attributes) if ch.attributes else None))
               if v is not None},
            **({"attributes_signed": True} if ch.attributes_signed else {})}


def channel(r: dict[str, Any]) -> Channel:
    return Channel(id=r["channel_id"], tenant=r["tenant"], type=r["type"], status=r["status"], subject=r.get("subject"),
                   members=tuple(r.get("members", ())), assignee=r.get("assignee"), visitor=r.get("visitor"),
                   created_at=r["created_at"], last_message_at=r.get("last_message_at", r["created_at"]),
                   name=r.get("name"), assignee_name=r.get("assignee_name"),
                   closed_at=_int_or_none(r.get("closed_at")), archived_at=_int_or_none(r.get("archived_at")),
                   last_deleted_at=_int_or_none(r.get("last_deleted_at")),
                   assigned_at=_int_or_none(r.get("assigned_at")), labels=tuple(r.get("labels") or ()),
                   context=r.get("context"), prechat=r.get("prechat"), visitor_email=r.get("visitor_email"),
                   csat=_csat(r.get("csat")),
                   attributes=attributes_of(r["attributes"]) if r.get("attributes") else None,
                   attributes_signed=bool(r.get("attributes_signed", False)))


def attributes_text(values: dict[str, Any]) -> str:
    """A visitor's attributes as stored: JSON text (DynamoDB takes no float; this keeps 99.5)."""
    import json

    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def attributes_of(text: Any) -> dict[str, Any]:
    import json

    value = json.loads(text) if isinstance(text, str) else text
    return dict(value) if isinstance(value, dict) else {}


def _csat(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    return {"score": int(raw["score"]), "comment": raw.get("comment"), "at": int(raw["at"])}



def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


def membership_item(ch: Channel, user_id: str) -> dict[str, Any]:
    return {"pk": keys.user_pk(ch.tenant, user_id), "sk": keys.membership_sk(ch.id), "channel_id": ch.id,
            "tenant": ch.tenant, keys.GSI2_PK: keys.member_index(ch.tenant, user_id),
            keys.GSI2_SK: keys.activity_sort(ch.last_message_at, ch.id)}


def assignment_item(ch: Channel, operator_id: str) -> dict[str, Any]:
    return {"pk": keys.user_pk(ch.tenant, operator_id), "sk": keys.assignment_sk(ch.id), "channel_id": ch.id,
            "tenant": ch.tenant, keys.GSI2_PK: keys.assignee_index(ch.tenant, operator_id),
            keys.GSI2_SK: keys.activity_sort(ch.last_message_at, ch.id)}


def message_item(m: Message) -> dict[str, Any]:
    item = {"pk": keys.channel_pk(m.channel_id), "sk": keys.note_sk(m.id) if m.internal else keys.message_sk(m.id),
            "message_id": m.id, "channel_id": m.channel_id, "sender_id": m.sender_id, "sender_role": m.sender_role,
            "sender_name": m.sender_name, "text": m.text, "attachments": list(m.attachments),
            "client_id": m.client_id, "created_at": m.created_at, "deleted": m.deleted,
            **({keys.TTL: m.expires_at} if m.expires_at else {})}
    if m.internal:
        item["internal"] = True
    return item


def message(r: dict[str, Any]) -> Message:
    return Message(id=r["message_id"], channel_id=r["channel_id"], sender_id=r["sender_id"],
                   sender_role=r["sender_role"], sender_name=r.get("sender_name", ""), text=r.get("text", ""),
                   attachments=tuple(r.get("attachments", ())), client_id=r["client_id"], created_at=r["created_at"],
                   deleted=bool(r.get("deleted", False)), internal=bool(r.get("internal", False)),
                   expires_at=_int_or_none(r.get(keys.TTL)))


def connection_item(c: Connection) -> dict[str, Any]:
    return {"pk": keys.connection_pk(c.id), "sk": keys.CONNECTION, "connection_id": c.id, "tenant": c.tenant,
            "user_id": c.user_id, "session_id": c.session_id, "role": c.role, "lvl": c.lvl, "name": c.name,
            "scopes": set(c.scopes) or None, "connected_at": c.connected_at, "expires_at": c.expires_at,
            "ttl": c.expires_at}


def connection(r: dict[str, Any]) -> Connection:
    return Connection(id=r["connection_id"], tenant=r["tenant"], user_id=r["user_id"], session_id=r["session_id"],
                      role=r["role"], lvl=r["lvl"], name=r.get("name", ""), scopes=frozenset(r.get("scopes", ())),
                      connected_at=r["connected_at"], expires_at=r["expires_at"])
