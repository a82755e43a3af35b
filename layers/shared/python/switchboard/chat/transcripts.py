"""Transcripts: a closed channel archived to S3 as JSON Lines, and kept free of deleted text.

``transcripts/<tenant>/<channel id>.jsonl``: the channel first, then every message in order
(deleted ones as tombstones). Written when a channel closes and again when a message of a closed
channel is deleted - only while it lacks something, and only while the archive still keeps it
(the bucket expires it ``archive_retention_days`` after its last write).
"""

from __future__ import annotations

import json

from switchboard.chat.context import ChatContext
from switchboard.ids import now_ms
from switchboard.models import Channel

__all__ = ["archive", "transcript_key", "write"]


def transcript_key(ch: Channel) -> str:
    return f"transcripts/{ch.tenant}/{ch.id}.jsonl"


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
    messages = list(ctx.store.messages.all_of(ch.id))
    lines = [json.dumps({"channel": ch.to_json()}, ensure_ascii=False)]
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
    if ctx.archive_bucket and frozenset(m.id for m in ctx.store.messages.all_of(ch.id) if m.deleted) != written:
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
