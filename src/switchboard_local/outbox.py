"""The local stack's outbox: the mail the functions sent through (moto's) SES.

Nothing is stored here: moto's SES backend keeps every message it accepted
(``sent_messages``), and this module reads them back - the raw MIME the functions send
(:mod:`switchboard.mail`) parsed for its recipients, subject, text and ``Date``; a "simple"
message (sent by some other code) as moto recorded it. Newest first, every link in the text
in full (the text is decoded, never cut).
"""

from __future__ import annotations

import email
import email.policy
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["messages", "render_page"]


def _backends() -> list[Any]:
    from moto.ses.models import ses_backends

    found = []
    for account in list(ses_backends.keys()):
        for region in list(ses_backends[account].keys()):
            found.append(ses_backends[account][region])
    return found


def _raw(message: Any) -> dict[str, Any]:
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",)) if parsed.is_multipart() else parsed
    text = body.get_content() if body is not None else ""
    date = parsed.get("Date")
    sent_at = parsedate_to_datetime(str(date)).isoformat() if date else None
    # the To header (moto's destinations repeat it: those given to SendEmail, then the header's)
    to = str(parsed.get("To") or ", ".join(dict.fromkeys(str(a) for a in message.destinations)))
    return {"to": to, "subject": str(parsed.get("Subject", "")), "text": text, "sent_at": sent_at}


def _simple(message: Any) -> dict[str, Any]:
    to = ", ".join(a for kind in ("ToAddresses", "CcAddresses", "BccAddresses")
                   for a in message.destinations.get(kind, []))
    return {"to": to, "subject": message.subject, "text": message.body, "sent_at": None}


def messages() -> list[dict[str, Any]]:
    """``[{"to", "subject", "text", "sent_at"}]``, newest first (moto keeps them in the order sent)."""
    out: list[dict[str, Any]] = []
    for backend in _backends():
        for message in list(backend.sent_messages):
            if hasattr(message, "raw_data"):
                out.append(_raw(message))
            elif hasattr(message, "body"):
                out.append(_simple(message))
    out.reverse()
    return out


def render_page(found: list[dict[str, Any]]) -> str:
    """The outbox as a page: each message with its text, links clickable."""
    import html
    import re

    def linked(text: str) -> str:
        escaped = html.escape(text)
        return re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', escaped)

    items = "\n".join(
        f'<article><h2>{html.escape(m["subject"])}</h2><p class="meta">to {html.escape(m["to"])}'
        f' · {html.escape(m["sent_at"] or "")}</p><pre>{linked(m["text"])}</pre></article>' for m in found)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Outbox - Switchboard local"
            "</title><style>body{font:15px system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}"
            "article{border:1px solid #ccd;border-radius:6px;padding:0 1rem;margin:1rem 0}.meta{color:#556}"
            "pre{white-space:pre-wrap;overflow-wrap:anywhere}</style></head><body><h1>Outbox</h1>"
            "<p>Mail the local stack sent through (moto's) Amazon SES, newest first. "
            "<a href=\"messages.json\">messages.json</a></p>"
            + (items or "<p>No mail yet.</p>") + "</body></html>")
