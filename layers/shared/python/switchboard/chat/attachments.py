"""Attachments: presigned uploads into a channel's prefix, the checks on what a message
carries, and short-lived download links.

An upload goes to ``attachments/<tenant>/<channel id>/<uploader's user id>/<id>`` (keys made
before uploads were filed under their uploader have no user segment: still opened, never sent
again). The actions that use these (:mod:`switchboard.chat.actions`) check the chat policy first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from switchboard.chat.context import ChatContext
from switchboard.errors import Forbidden, NotFound, ValidationFailed
from switchboard.ids import time_ordered_id
from switchboard.models import Channel, Connection, Message

__all__ = ["ATTACHMENT_TYPES", "EXTENSIONS", "PRESIGN_SECONDS", "attachment_prefix", "check_own_uploads",
           "check_visitor_may_attach", "download_link", "presign_upload", "uploads_prefix"]

ATTACHMENT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"})
PRESIGN_SECONDS = 300
#: the file name extensions each type an upload may have is saved under
EXTENSIONS = {"image/png": (".png",), "image/jpeg": (".jpg", ".jpeg"), "image/gif": (".gif",),
              "image/webp": (".webp",), "application/pdf": (".pdf",), "text/plain": (".txt",)}


def attachment_prefix(ch: Channel) -> str:
    return f"attachments/{ch.tenant}/{ch.id}/"


def uploads_prefix(ch: Channel, user_id: str) -> str:
    """Where one member's uploads to a channel go: a message may carry its sender's only."""
    return f"{attachment_prefix(ch)}{user_id}/"


def check_visitor_may_attach(ctx: ChatContext, conn: Connection) -> None:
    """Visitors attach only while their tenant allows it now (their chat:attach was granted
    at sign-in; the tenant may have turned attachments off since)."""
    if conn.role != "visitor":
        return
    tenant = ctx.tenants(conn.tenant) if ctx.tenants else None
    if tenant is None or not tenant.visitor_attachments:
        raise Forbidden("this site does not accept attachments from visitors")


def check_own_uploads(ch: Channel, user_id: str, attachments: Iterable[dict[str, Any]]) -> None:
    """What a message carries: one's own uploads only, not another member's (a file whose
    message its author deleted would come back under someone else's name), of a type uploads
    may have."""
    prefix = uploads_prefix(ch, user_id)
    if any(not a["key"].startswith(prefix) or a.get("content_type") not in (None, *ATTACHMENT_TYPES)
           for a in attachments):
        raise ValidationFailed("attachments must be your own uploads made for this channel")


def presign_upload(ctx: ChatContext, ch: Channel, user_id: str, *, content_type: str, size: int) -> dict[str, Any]:
    """An S3 presigned POST for one upload into the uploader's prefix of the channel: the
    content type is fixed, the size bounded (``content-length-range``), valid for 5 minutes."""
    if content_type not in ATTACHMENT_TYPES:
        raise ValidationFailed(f"content type must be one of {', '.join(sorted(ATTACHMENT_TYPES))}")
    if size > ctx.max_attachment_bytes:
        raise ValidationFailed(f"attachments are at most {ctx.max_attachment_bytes} bytes")
    if not ctx.attachments_bucket:
        raise Forbidden("attachments are not configured")
    key = f"{uploads_prefix(ch, user_id)}{time_ordered_id()}"
    post = ctx.files.presigned_upload(ctx.attachments_bucket, key, content_type=content_type, max_bytes=size,
                                      expires_in=PRESIGN_SECONDS)
    return {"url": post["url"], "fields": post["fields"], "key": key, "max_bytes": size}


def download_link(ctx: ChatContext, ch: Channel, message: Message | None, key: str) -> dict[str, Any]:
    """A presigned GET of one attachment ``message`` carries (the caller may read ``ch``). Only
    an attachment of a message that is not deleted, whose upload exists (``not_found``
    otherwise: a deleted message's file is not handed out, a key never uploaded or expired is
    no link to an S3 error page). The answer is a download (``Content-Disposition:
    attachment``, under the name the message shows), never a page rendered on the bucket's
    origin; the link lives 5 minutes (it is asked for on a click)."""
    attached = [a for a in (message.attachments if message and not message.deleted else ()) if a.get("key") == key]
    if not attached or not key.startswith(attachment_prefix(ch)) or not ctx.attachments_bucket:
        raise NotFound("no such attachment")
    stored_type = ctx.files.content_type(ctx.attachments_bucket, key)
    name = _download_name(str(attached[0].get("name") or key.rsplit("/", 1)[-1]), stored_type)
    url = ctx.files.presigned_download(ctx.attachments_bucket, key, disposition=_download_disposition(name),
                                       expires_in=PRESIGN_SECONDS)
    return {"url": url, "name": name, "expires_in": PRESIGN_SECONDS}


def _download_name(name: str, content_type: str | None) -> str:
    """The name the message shows, ending in an extension of what the file is (the type the
    upload was held to): a text file named ``invoice.html`` or ``setup.exe`` by its sender
    is saved as ``invoice.html.txt`` - nobody's computer opens it as a page or a program."""
    allowed = EXTENSIONS.get(content_type or "", ())
    if not allowed:
        return name + ".bin" if not name.lower().endswith(".bin") else name
    return name if name.lower().endswith(allowed) else name + allowed[0]


def _download_disposition(name: str) -> str:
    """``attachment`` with the file name (RFC 6266/5987: an ASCII fallback without quotes or
    control characters, and the UTF-8 name percent-encoded)."""
    from urllib.parse import quote

    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
