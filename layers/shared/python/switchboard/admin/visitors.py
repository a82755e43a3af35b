"""Privacy requests about one visitor (contract section 9, issue 19): export everything stored
about them, or erase it everywhere. Scope ``admin:tenant``; another tenant's visitor, or an id
nothing is stored under, is 404.

What is stored about a visitor, and where (docs/privacy.md):

* the table: their sessions, connections, memberships and open-support pointer (their
  partition), their conversations with every message (each channel's partition), their
  chat-action counters, and the audit events naming them;
* the archive bucket: each closed conversation's transcript, every version of it (the bucket
  is versioned);
* the attachments bucket: the files uploaded to their conversations.

**Erasure** goes in an order that a failure can resume: first what stops them being live
(sessions revoked, sockets closed through the revocation path), then the files and the
conversations, last the visitor's own partition - what makes them "known". So a DELETE that
failed half-way is retried by the admin and finishes; one that finished makes the visitor
unknown, and a repeat is 404 with nothing changed. The erasure is audited as
``visitor_erased`` with the counts and a name drawn at random for this erasure (no id, no name,
no text, nothing that leads back to them); the audit events that named them are kept with their
kind and time, the person replaced by that name and their details dropped.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from switchboard.admin import audit
from switchboard.errors import NotFound
from switchboard.ids import now_ms

if TYPE_CHECKING:
    from switchboard.auth.sessions import Caller
    from switchboard.chat.context import ChatContext
    from switchboard.models import Channel
    from switchboard.runtime import Services

__all__ = ["erase", "export"]

#: a visitor's chat id (auth/identity.py: chat-safe); staff (``op-``) are not visitors here
_VISITOR_ID = re.compile(r"^(?!op-)[a-z0-9@_-]{1,128}\Z")
#: how long the export's links to files work
LINK_SECONDS = 900


def _found(svc: Services, caller: Caller, visitor_id: str) -> tuple[list[Channel], list[Any]]:
    """The visitor's conversations and sessions; NotFound when nothing is stored about them."""
    caller.require("admin:tenant")
    if not _VISITOR_ID.match(visitor_id):
        raise NotFound("no such visitor")
    tenant = caller.tenant
    channels = [ch for ch in svc.store.channels.get_many(svc.store.privacy.channel_ids(tenant, visitor_id))
                if ch.tenant == tenant and ch.type == "support" and ch.visitor == visitor_id]
    sessions = [s for s in svc.store.sessions.of_user(tenant, visitor_id) if s.role == "visitor"]
    if not channels and not sessions:
        raise NotFound("no such visitor")  # staff have sessions too: their role says they are no visitor
    return channels, sessions


def _chat(svc: Services) -> ChatContext:
    return svc.chat(svc.settings.ws_endpoint)


def _erased_name() -> str:
    """What stands for the visitor in the audit after the erasure: drawn at random for each
    erasure, so nothing links it back to them - a hash of the id would not do, as a website's
    user ids (``customer-77``) are few enough to hash them all and compare."""
    return "erased-" + secrets.token_hex(12)


def export(svc: Services, caller: Caller, visitor_id: str) -> dict[str, Any]:
    """``GET /admin/visitors/{id}/export``: the visitor's attributes, sessions, conversations
    with every message, and links (15 minutes) to their attachments and transcripts."""
    channels, sessions = _found(svc, caller, visitor_id)
    ctx = _chat(svc)
    newest = max(sessions, key=lambda s: s.last_used_at, default=None)
    attributes = ({"name": newest.name or None, "email": newest.email, "level": newest.lvl, "anonymous": newest.anon}
                  if newest else {})
    # what the website said of them (contract section 8: signed or not), kept apart from the above
    described = svc.store.visitors.attributes(caller.tenant, visitor_id)
    website = {"values": described.values, "signed": described.signed, "at": described.at} if described else None
    conversations = []
    for ch in channels:
        messages = []
        # everything stored about them: staff's private notes too (marked ``internal``); the
        # admin answering the request decides what to hand over
        for m in svc.store.messages.all_of(ch.id, viewer_role="admin"):
            item = m.to_json()
            item["attachments"] = [{**a, "url": _link(ctx, str(ctx.attachments_bucket), str(a.get("key", "")))}
                                   for a in m.attachments if a.get("key")]
            messages.append(item)
        conversations.append({**ch.to_json(staff=True), "closed_at": ch.closed_at, "messages": messages,
                              "transcript": _transcript_link(ctx, ch)})
    audit.record(svc.store, tenant=caller.tenant, kind="visitor_exported", actor=caller.user_id,
                 subject=visitor_id, session_id=caller.session.id,
                 retention_days=svc.settings.audit_retention_days)
    return {
        "visitor": {"id": visitor_id, "attributes": attributes, "website_attributes": website},
        "sessions": [{"id": s.id, "method": s.method, "device": s.device, "created_at": s.created_at,
                      "last_used_at": s.last_used_at, "expires_at": s.expires_at, "status": s.status,
                      "name": s.name or None, "email": s.email, "level": s.lvl} for s in sessions],
        "conversations": conversations,
        "exported_at": int(time.time()),
        "links_expire_in": LINK_SECONDS,
    }


def _link(ctx: ChatContext, bucket: str, key: str) -> str | None:
    if not bucket or not key or ctx.files.content_type(bucket, key) is None:
        return None  # gone (expired by the bucket's lifecycle): no link to an S3 error
    return ctx.files.presigned_download(bucket, key, disposition="attachment", expires_in=LINK_SECONDS)


def _transcript_link(ctx: ChatContext, ch: Channel) -> str | None:
    from switchboard.chat.transcripts import transcript_key

    if ch.status != "closed" or not ctx.archive_bucket:
        return None
    return _link(ctx, ctx.archive_bucket, transcript_key(ch))


def erase(svc: Services, caller: Caller, visitor_id: str) -> dict[str, Any]:
    """``DELETE /admin/visitors/{id}``: erase the visitor everywhere (see the module's
    docstring) and answer ``{"erased": {counts}}``."""
    channels, sessions = _found(svc, caller, visitor_id)
    from switchboard.auth.sessions import end_user_sessions
    from switchboard.chat.attachments import attachment_prefix
    from switchboard.chat.transcripts import transcript_key

    tenant = caller.tenant
    counts = {"sessions": len(sessions), "conversations": len(channels), "messages": 0, "attachments": 0,
              "transcript_versions": 0, "records": 0, "audit_events_scrubbed": 0}
    # 1. no longer live: sessions revoked, their sockets closed (the revocation path)
    end_user_sessions(svc, tenant, visitor_id, reason="erased")
    ctx = _chat(svc)
    for ch in channels:
        # 2. an open conversation is closed first (its assignee's load moves back), with no event:
        #    an erasure tells nobody what the conversation held
        if ch.status != "closed":
            from switchboard.errors import Conflict

            try:
                ch = svc.store.channels.close(ch, now_ms=now_ms())
            except Conflict:
                ch = svc.store.channels.get(ch.id) or ch
                if ch.status != "closed":
                    ch = svc.store.channels.close(ch, now_ms=now_ms())
        # 3. the files: every version of the transcript (and of its older key), every attachment
        if ctx.archive_bucket:
            keys = {transcript_key(ch), f"transcripts/{ch.tenant}/{ch.id}.jsonl"}
            counts["transcript_versions"] += sum(_delete_every_version(ctx, ctx.archive_bucket, k, exact=True)
                                                 for k in keys)
        if ctx.attachments_bucket:
            counts["attachments"] += _delete_every_version(ctx, ctx.attachments_bucket, attachment_prefix(ch),
                                                           exact=False)
        # 4. the conversation's records
        gone = svc.store.privacy.erase_channel(ch)
        counts["messages"] += gone["messages"]
        counts["records"] += gone["items"]
    # 5. the audit keeps each event's kind and time, without the person
    name = _erased_name()
    counts["audit_events_scrubbed"] = svc.store.privacy.scrub_audit(tenant, visitor_id, replacement=name)
    # 6. last, what made them known: their partition (sessions, connections, lists) and counters
    counts["records"] += svc.store.privacy.erase_user(tenant, visitor_id)
    audit.record(svc.store, tenant=tenant, kind="visitor_erased", actor=caller.user_id, subject=name,
                 session_id=caller.session.id, retention_days=svc.settings.audit_retention_days, counts=counts)
    return {"erased": counts}


def _delete_every_version(ctx: ChatContext, bucket: str, key: str, *, exact: bool) -> int:
    """Delete every version and delete marker of ``key`` (or of every key under it); how many
    object versions (delete markers not counted)."""
    s3 = ctx.files.client
    deleted = 0
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
    while True:
        page = s3.list_object_versions(**kwargs)
        for kind in ("Versions", "DeleteMarkers"):
            for v in page.get(kind, []):
                if exact and v["Key"] != key:
                    continue
                s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
                deleted += kind == "Versions"
        if not page.get("IsTruncated"):
            return deleted
        kwargs.update(KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"])
