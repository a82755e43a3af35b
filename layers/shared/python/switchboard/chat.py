"""Support chat: channels, assignment, messages, receipts, archive (contract section 4).

Every action takes the caller's :class:`~switchboard.models.Connection` (loaded fresh, so
its scopes are current), checks :func:`switchboard.chat_policy.authorize` once, does its
storage work, then tells the watchers. Nothing here scans: fan-out reads the channel's
watchers, assignment reads the tenant's operators.
"""

from __future__ import annotations

import base64
import binascii
import json

from dataclasses import dataclass
from typing import Any, Protocol

from switchboard.chat_policy import authorize
from switchboard.chat_requests import (
    AssignParams,
    AttachmentParams,
    ChannelParams,
    CreateTeamParams,
    DeleteParams,
    HistoryParams,
    QueryParams,
    ReadParams,
    SendParams,
    SupportOpenParams,
)
from switchboard.errors import Conflict, Forbidden, NotFound, ValidationFailed
from switchboard.ids import now_ms, time_ordered_id
from switchboard.models import Channel, Connection, Message, OperatorPresence
from switchboard.observability import logger
from switchboard.realtime import MAX_FRAME_BYTES, event_frame
from switchboard.storage import Store

__all__ = ["ChatContext", "Notifier", "handle_disconnect", "pick_operator"]

WATCH_MESSAGES = 50
REPLY_BUDGET = MAX_FRAME_BYTES - 4096  # room for the reply envelope and the channel
ATTACHMENT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"})
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024


class Notifier(Protocol):
    def send(self, connection_ids: list[str], frame: dict[str, Any]) -> list[str]: ...
    def disconnect(self, connection_id: str) -> None: ...


@dataclass(frozen=True)
class ChatContext:
    """What chat actions need: storage, a way to reach connections, and the archive bucket."""

    store: Store
    notifier: Notifier
    archive_bucket: str | None = None
    attachments_bucket: str | None = None


# -- helpers -----------------------------------------------------------------------------
def _channel(ctx: ChatContext, conn: Connection, channel_id: str) -> Channel:
    ch = ctx.store.get_channel(channel_id)
    if ch is None or ch.tenant != conn.tenant:
        raise NotFound("no such channel")
    return ch


def _user_connections(ctx: ChatContext, tenant: str, user_ids: list[str] | tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for uid in dict.fromkeys(user_ids):
        out += [cid for cid, _ in ctx.store.list_user_connections(tenant, uid)]
    return out


def _online_operator_connections(ctx: ChatContext, tenant: str) -> list[str]:
    return [cid for p in ctx.store.list_presence(tenant) for cid in p.connections]


def _announce(ctx: ChatContext, ch: Channel, *, to_operators: bool = False) -> None:
    """channel.updated to the channel's watchers and members (and, for queue changes, every
    online operator of the tenant, whose inbox lists queued channels)."""
    targets = ctx.store.list_watchers(ch.id) + _user_connections(ctx, ch.tenant, ch.members)
    if to_operators:
        targets += _online_operator_connections(ctx, ch.tenant)
    ctx.notifier.send(list(dict.fromkeys(targets)), event_frame("channel.updated", {"channel": ch.to_json()}))


def pick_operator(presence: list[OperatorPresence]) -> OperatorPresence | None:
    """The least-loaded online operator; ties go to whoever was assigned least recently
    (round-robin), then by id so the choice is deterministic."""
    online = [p for p in presence if p.online]
    return min(online, key=lambda p: (p.load, p.last_assigned_at, p.user_id)) if online else None


def _fit_messages(messages: list[Message], budget: int = REPLY_BUDGET) -> tuple[list[dict[str, Any]], bool]:
    """Newest messages that fit one API Gateway frame; True if older ones were left out."""
    out: list[dict[str, Any]] = []
    used = 0
    for m in reversed(messages):
        size = len(json.dumps(m.to_json(), separators=(",", ":")).encode()) + 1
        if used + size > budget:
            break
        out.append(m.to_json())
        used += size
    out.reverse()
    return out, len(out) < len(messages)


# -- actions -------------------------------------------------------------------------------
def support_open(ctx: ChatContext, conn: Connection, p: SupportOpenParams) -> dict[str, Any]:
    authorize(conn, "open_support")
    existing = ctx.store.open_support_channel_id(conn.tenant, conn.user_id)
    if existing:
        ch = ctx.store.get_channel(existing)
        if ch is not None and ch.status != "closed":
            if ch.status == "queued":
                ch = _try_assign(ctx, ch)
            return {"channel": ch.to_json()}
    now = now_ms()
    chosen = pick_operator(ctx.store.list_presence(conn.tenant))
    members = (conn.user_id, chosen.user_id) if chosen else (conn.user_id,)
    ch = Channel(id=time_ordered_id(now), tenant=conn.tenant, type="support", status="open" if chosen else "queued",
                 subject=p.subject, members=members, assignee=chosen.user_id if chosen else None,
                 visitor=conn.user_id, created_at=now, last_message_at=now)
    try:
        ctx.store.create_channel(ch, support_pointer=True, now_ms=now)
    except Conflict:
        # a concurrent support.open of the same visitor won: answer with its channel
        winner = ctx.store.open_support_channel_id(conn.tenant, conn.user_id)
        found = ctx.store.get_channel(winner) if winner else None
        if found is None:
            raise
        return {"channel": found.to_json()}
    _announce(ctx, ch, to_operators=ch.status == "queued")
    return {"channel": ch.to_json()}


def _try_assign(ctx: ChatContext, ch: Channel) -> Channel:
    chosen = pick_operator(ctx.store.list_presence(ch.tenant))
    if chosen is None:
        return ch
    try:
        new = ctx.store.assign_channel(ch, chosen.user_id, now_ms=now_ms())
    except Conflict:
        return ctx.store.get_channel(ch.id) or ch
    _announce(ctx, new, to_operators=True)
    return new


def channel_query(ctx: ChatContext, conn: Connection, p: QueryParams) -> dict[str, Any]:
    authorize(conn, "query")
    if conn.role == "visitor" or p.filter.status is None:
        index = f"MEM#{conn.tenant}#{conn.user_id}"  # visitors only ever see their own channels
    else:
        index = f"ST#{conn.tenant}#{p.filter.status}"
    start = _decode_cursor(p.cursor, index)
    ids, last = ctx.store.query_channels(index, limit=p.limit, cursor=start)
    channels = [c for c in ctx.store.get_channels(ids) if c.tenant == conn.tenant]
    return {"channels": [c.to_json() for c in channels], "cursor": _encode_cursor(last)}


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, index: str) -> dict[str, Any] | None:
    """A cursor is only good for the list it came from (so it cannot reach another tenant's)."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise ValidationFailed("cursor is not valid") from exc
    if not isinstance(key, dict) or key.get("gsi2pk") != index or not all(isinstance(v, str) for v in key.values()):
        raise ValidationFailed("cursor is not valid for this query")
    return key


def channel_watch(ctx: ChatContext, conn: Connection, p: ChannelParams) -> dict[str, Any]:
    ch = _channel(ctx, conn, p.channel_id)
    authorize(conn, "watch", ch)
    ctx.store.add_watcher(ch.id, conn.id, ttl=conn.expires_at)
    messages, _ = ctx.store.list_messages(ch.id, before=None, limit=WATCH_MESSAGES)
    fitted, truncated = _fit_messages(messages)
    return {"channel": ch.to_json(), "messages": fitted,
            "cursor": fitted[0]["id"] if fitted and (truncated or len(messages) == WATCH_MESSAGES) else None}


def channel_history(ctx: ChatContext, conn: Connection, p: HistoryParams) -> dict[str, Any]:
    ch = _channel(ctx, conn, p.channel_id)
    authorize(conn, "history", ch)
    messages, cursor = ctx.store.list_messages(ch.id, before=p.before, limit=p.limit)
    fitted, truncated = _fit_messages(messages)
    if truncated and fitted:
        cursor = fitted[0]["id"]
    return {"messages": fitted, "cursor": cursor}


def channel_assign(ctx: ChatContext, conn: Connection, p: AssignParams) -> dict[str, Any]:
    ch = _channel(ctx, conn, p.channel_id)
    authorize(conn, "assign", ch)
    target = p.operator_id or conn.user_id
    if conn.role != "admin" and target != conn.user_id:
        raise Forbidden("operators claim channels for themselves")
    if ch.status == "closed":
        raise Conflict("the channel is closed")
    op = ctx.store.get_operator(conn.tenant, target)
    if op is None or op.blocked:
        raise NotFound("no such operator")
    if ch.assignee == target and ch.status == "open":
        return {"channel": ch.to_json()}
    new = ctx.store.assign_channel(ch, target, now_ms=now_ms())
    _announce(ctx, new, to_operators=True)
    return {"channel": new.to_json()}


def channel_create(ctx: ChatContext, conn: Connection, p: CreateTeamParams) -> dict[str, Any]:
    authorize(conn, "create_team")
    members = list(dict.fromkeys([conn.user_id, *p.members]))
    for uid in members:
        if uid != conn.user_id:
            op = ctx.store.get_operator(conn.tenant, uid)
            if op is None or op.blocked:
                raise ValidationFailed(f"{uid} is not an operator of this tenant")
    now = now_ms()
    ch = Channel(id=time_ordered_id(now), tenant=conn.tenant, type="team", status="open", subject=None,
                 members=tuple(members), assignee=None, visitor=None, created_at=now, last_message_at=now, name=p.name)
    ctx.store.create_channel(ch, support_pointer=False, now_ms=now)
    _announce(ctx, ch)
    return {"channel": ch.to_json()}


def channel_close(ctx: ChatContext, conn: Connection, p: ChannelParams) -> dict[str, Any]:
    ch = _channel(ctx, conn, p.channel_id)
    authorize(conn, "close", ch)
    if ch.status != "closed":
        try:
            ch = ctx.store.close_channel(ch, now_ms=now_ms())
        except Conflict:
            ch = _channel(ctx, conn, p.channel_id)  # closed concurrently: archive (again) below
    _archive(ctx, ch)
    _announce(ctx, ch)
    return {"channel": ch.to_json()}


def _archive(ctx: ChatContext, ch: Channel) -> None:
    """Transcript as JSON Lines: the channel first, then every message in order."""
    if not ctx.archive_bucket:
        return
    lines = [json.dumps({"channel": ch.to_json()})]
    lines += [json.dumps(m.to_json()) for m in ctx.store.all_messages(ch.id)]
    _s3().put_object(Bucket=ctx.archive_bucket, Key=f"transcripts/{ch.tenant}/{ch.id}.jsonl",
                     Body=("\n".join(lines) + "\n").encode(), ContentType="application/x-ndjson",
                     ServerSideEncryption="AES256")


def message_send(ctx: ChatContext, conn: Connection, p: SendParams) -> dict[str, Any]:
    ch = _channel(ctx, conn, p.channel_id)
    authorize(conn, "write", ch)
    if ch.status == "closed":
        raise Conflict("the channel is closed")
    if p.attachments:
        authorize(conn, "attach", ch)
        prefix = _attachment_prefix(ch)
        if any(not a.key.startswith(prefix) for a in p.attachments):
            raise ValidationFailed("attachments must be uploads to this channel")
    now = now_ms()
    message = Message(id=time_ordered_id(now), channel_id=ch.id, sender_id=conn.user_id, sender_role=conn.role,
                      sender_name=conn.name, text=p.text, attachments=p.attachment_dicts(), client_id=p.client_id,
                      created_at=now)
    stored = ctx.store.put_message(ch, message)  # durable first ...
    # ... then everyone watching hears of it (again, for a retry: clients de-duplicate by id)
    ctx.notifier.send(ctx.store.list_watchers(ch.id), event_frame("message.new", {"message": stored.to_json()}))
    return {"message": stored.to_json()}


def message_delete(ctx: ChatContext, conn: Connection, p: DeleteParams) -> dict[str, Any]:
    ch = _channel(ctx, conn, p.channel_id)
    message = ctx.store.get_message(ch.id, p.message_id)
    if message is None:
        authorize(conn, "history", ch)  # do not reveal what is in a channel one may not read
        raise NotFound("no such message")
    authorize(conn, "write" if message.sender_id == conn.user_id else "moderate", ch)
    deleted = ctx.store.mark_message_deleted(message)
    ctx.notifier.send(ctx.store.list_watchers(ch.id), event_frame("message.deleted", {"message": deleted.to_json()}))
    return {}


def typing(ctx: ChatContext, conn: Connection, p: ChannelParams) -> dict[str, Any]:
    ch = _channel(ctx, conn, p.channel_id)
    authorize(conn, "write", ch)
    others = [c for c in ctx.store.list_watchers(ch.id) if c != conn.id]
    ctx.notifier.send(others, event_frame("typing", {"channel_id": ch.id, "user": _user(conn)}))
    return {}


def read(ctx: ChatContext, conn: Connection, p: ReadParams) -> dict[str, Any]:
    ch = _channel(ctx, conn, p.channel_id)
    authorize(conn, "receipt", ch)
    if ctx.store.get_message(ch.id, p.message_id) is None:
        raise NotFound("no such message")
    ctx.store.put_read_marker(ch.id, conn.user_id, p.message_id, now_ms())
    others = [c for c in ctx.store.list_watchers(ch.id) if c != conn.id]
    ctx.notifier.send(others, event_frame("read", {"channel_id": ch.id, "user": _user(conn),
                                                   "message_id": p.message_id}))
    return {}


def attachment_presign(ctx: ChatContext, conn: Connection, p: AttachmentParams) -> dict[str, Any]:
    ch = _channel(ctx, conn, p.channel_id)
    authorize(conn, "attach", ch)
    if ch.status == "closed":
        raise Conflict("the channel is closed")
    if p.content_type not in ATTACHMENT_TYPES:
        raise ValidationFailed(f"content type must be one of {', '.join(sorted(ATTACHMENT_TYPES))}")
    if p.size > ATTACHMENT_MAX_BYTES:
        raise ValidationFailed(f"attachments are at most {ATTACHMENT_MAX_BYTES} bytes")
    if not ctx.attachments_bucket:
        raise Forbidden("attachments are not configured")
    key = f"{_attachment_prefix(ch)}{time_ordered_id()}"
    post = _s3().generate_presigned_post(
        Bucket=ctx.attachments_bucket, Key=key, Fields={"Content-Type": p.content_type},
        Conditions=[{"Content-Type": p.content_type}, ["content-length-range", 1, p.size]], ExpiresIn=300)
    return {"url": post["url"], "fields": post["fields"], "key": key, "max_bytes": p.size}


def _attachment_prefix(ch: Channel) -> str:
    return f"attachments/{ch.tenant}/{ch.id}/"


def _user(conn: Connection) -> dict[str, str]:
    return {"id": conn.user_id, "name": conn.name, "role": conn.role}


_s3_client: Any = None


def _s3() -> Any:
    global _s3_client
    if _s3_client is None:
        import boto3

        _s3_client = boto3.client("s3")
    return _s3_client


# -- connection lifecycle --------------------------------------------------------------------
def handle_disconnect(ctx: ChatContext, connection_id: str) -> None:
    """Forget a connection; an operator whose last connection it was hands their open
    channels back to the queue (and to another online operator if there is one), so that
    nobody's conversation is stranded with an absent operator."""
    conn = ctx.store.delete_connection(connection_id)
    if conn is None or conn.role not in ("operator", "admin"):
        return
    presence = {p.user_id: p for p in ctx.store.list_presence(conn.tenant)}
    mine = presence.get(conn.user_id)
    if mine is not None and mine.online:
        return
    for ch in ctx.store.assigned_open_channels(conn.tenant, conn.user_id):
        try:
            queued = ctx.store.requeue_channel(ch, now_ms=now_ms())
        except Conflict:
            continue
        logger.info("channel requeued", extra={"channel_id": ch.id})
        _announce(ctx, _try_assign(ctx, queued), to_operators=True)


#: action name -> (params model, function)
ACTIONS: dict[str, tuple[type[Any], Any]] = {
    "support.open": (SupportOpenParams, support_open),
    "channel.query": (QueryParams, channel_query),
    "channel.watch": (ChannelParams, channel_watch),
    "channel.history": (HistoryParams, channel_history),
    "channel.assign": (AssignParams, channel_assign),
    "channel.create": (CreateTeamParams, channel_create),
    "channel.close": (ChannelParams, channel_close),
    "message.send": (SendParams, message_send),
    "message.delete": (DeleteParams, message_delete),
    "typing": (ChannelParams, typing),
    "read": (ReadParams, read),
    "attachment.presign": (AttachmentParams, attachment_presign),
}

