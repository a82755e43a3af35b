"""Transcripts: a closed channel archived to S3 as JSON Lines, and kept free of deleted text.

``transcripts/tenant=<tenant>/closed_on=<YYYY-MM-DD, UTC>/<channel id>.jsonl``: the channel
first (with its ``report``: the figures reports add up, docs/reports.md), then every message in
order (deleted ones as tombstones). The folders are the Glue table's partitions (tenant and
day, template.yaml's ``TranscriptsTable``), so Athena and DuckDB read only the days asked for.
A channel closed before ``closed_at`` was recorded keeps the layout of its time,
``transcripts/<tenant>/<channel id>.jsonl``, and is rewritten there; reports do not count it.

Written when a channel closes and again when a message of a closed channel is deleted - only
while it lacks something, and only while the archive still keeps it (the bucket expires it
``archive_retention_days`` after its last write).
"""

from __future__ import annotations

import json
import time
from typing import Any

from switchboard.chat.context import ChatContext
from switchboard.chat.hours import outside_hours
from switchboard.ids import now_ms
from switchboard.models import Channel, Message
from switchboard.observability import timing

__all__ = ["archive", "report", "transcript_key", "write"]

#: who answers a visitor: a message by one of them ends the wait for a first response
STAFF_ROLES = frozenset({"operator", "admin"})
#: the archive is staff's (reports, search, a closed conversation read in the back office): it
#: keeps the notes, marked ``internal``; nothing of it is sent to the visitor
ARCHIVE_READER = "admin"


def transcript_key(ch: Channel) -> str:
    if ch.closed_at is None:  # closed before closed_at was recorded: where its archive has always been
        return f"transcripts/{ch.tenant}/{ch.id}.jsonl"
    day = time.strftime("%Y-%m-%d", time.gmtime(ch.closed_at / 1000))
    return f"transcripts/tenant={ch.tenant}/closed_on={day}/{ch.id}.jsonl"


def first_response_at(messages: list[Message]) -> int | None:
    """When staff first wrote to the visitor (epoch ms), if they did: a private note answers
    nobody, so the figures count what the visitor saw."""
    return next((m.created_at for m in messages if m.sender_role in STAFF_ROLES and not m.internal), None)


def report(ch: Channel, messages: list[Message], hours: dict[str, Any] | None) -> dict[str, Any]:
    """The conversation's figures, computed once when its transcript is written, so that reports
    add up one row per conversation (times in epoch ms; ``None`` where a figure does not apply:
    never assigned, never answered, no business hours set, no CSAT yet)."""
    first_response = first_response_at(messages)
    return {
        "channel_id": ch.id, "type": ch.type, "visitor": ch.visitor, "assignee": ch.assignee,
        "created_at": ch.created_at, "assigned_at": ch.assigned_at, "first_response_at": first_response,
        "closed_at": ch.closed_at, "csat": None,
        "outside_hours": outside_hours(hours, ch.created_at) if ch.type == "support" else None,
        "messages": sum(1 for m in messages if not m.deleted and not m.internal),
    }


def archive(ctx: ChatContext, ch: Channel) -> None:
    """Write the closed channel's transcript if it lacks something and the archive still keeps
    it: closing again or deleting again is not a full rewrite at will."""
    if _due(ch) and _kept(ctx, ch):
        _write_checked(ctx, ch)


def write(ctx: ChatContext, ch: Channel) -> frozenset[str]:
    """Write the transcript (nothing without an archive bucket). Returns the ids of the deleted
    messages it wrote as such."""
    if not ctx.archive_bucket:
        return frozenset()
    read_at = now_ms()
    messages = list(ctx.store.messages.all_of(ch.id, viewer_role=ARCHIVE_READER))
    tenant = ctx.tenants(ch.tenant) if ctx.tenants else None
    figures = report(ch, messages, tenant.hours if tenant else None)
    lines = [json.dumps({"channel": ch.to_json(), "report": figures}, ensure_ascii=False)]
    lines += [json.dumps({"message": m.to_json()}, ensure_ascii=False) for m in messages]
    ctx.files.put(ctx.archive_bucket, transcript_key(ch), ("\n".join(lines) + "\n").encode(),
                  content_type="application/x-ndjson")
    ctx.store.channels.mark_archived(ch.id, read_at)
    return frozenset(m.id for m in messages if m.deleted)


def _write_checked(ctx: ChatContext, ch: Channel) -> None:
    """Write, then read the messages once more and write again if one was deleted in the
    meantime: that deletion's own rewrite may have reached S3 before this one, which would
    otherwise put the deleted text back."""
    written = write(ctx, ch)
    if not ctx.archive_bucket:
        return
    messages = list(ctx.store.messages.all_of(ch.id, viewer_role=ARCHIVE_READER))
    first = first_response_at(messages)
    if ch.archived_at is None and ch.type == "support" and first is not None:
        # the close's write (the first): the conversation's first response time, recorded once,
        # from the same messages as the reports' figure
        timing("FirstResponse", first - ch.created_at)
    if frozenset(m.id for m in messages if m.deleted) != written:
        write(ctx, ch)


def _kept(ctx: ChatContext, ch: Channel) -> bool:
    """Whether the archive still holds the closed channel's transcript: the bucket expires it
    ``archive_retention_days`` after its last write (less a margin: expiry is not to the
    minute). Past that, writing it again would bring the whole conversation back."""
    written = max((t for t in (ch.archived_at, ch.closed_at) if t is not None), default=None)
    if written is None:
        return True
    retention = ctx.archive_retention_days * 86_400_000
    return now_ms() - written < retention - min(86_400_000, retention // 2)


def _due(ch: Channel) -> bool:
    """Whether the transcript lacks something: never written (a first write that failed), or
    a message deleted after the close since the last write read the messages."""
    return ch.archived_at is None or (ch.last_deleted_at is not None and ch.last_deleted_at >= ch.archived_at)
