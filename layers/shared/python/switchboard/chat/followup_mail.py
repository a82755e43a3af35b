"""The scheduled side of follow-up mail (:mod:`switchboard.chat.followup` tells the flow):
what the ``FollowupMail`` function runs every minute, and the resume links its mails carry."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from switchboard.chat.followup import RESUME_SECONDS
from switchboard.errors import Unavailable
from switchboard.models import Channel, Message, Tenant
from switchboard.observability import logger
from switchboard.policy import STAFF_ROLES
from switchboard.runtime import Services

__all__ = ["BATCH", "resume_link", "resume_target", "send_due"]

#: the most conversations one run mails (the next run, a minute later, takes the rest)
BATCH = 100
#: a mail SES would not take is tried again after 1, 2, 4 ... minutes (at most an hour apart), then
#: given up after RETRY_ATTEMPTS tries (about 4 hours): a refused address never holds the head of
#: the due list, which every tenant shares (the probe held it with 100 bad addresses)
RETRY_FIRST_MS = 60_000
RETRY_MAX_MS = 3_600_000
RETRY_ATTEMPTS = 10


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


#: what a link's path, query and fragment keep as they are (RFC 3986's unreserved characters, the
#: delimiters a page address uses, brackets, and ``%`` so what the browser had encoded stays
#: encoded once); only what cannot stand in an address is encoded: spaces, ``"<>`{}|\\^``,
#: control and non-ASCII characters (a route such as ``/team/11(aux:chat)`` opens as it was)
_PATH_SAFE = "/:@!$&'()*+,;=-._~%[]"
_QUERY_SAFE = _PATH_SAFE + "?"


def resume_target(tenant: Tenant, page: str | None) -> str | None:
    """Where a resume link opens: the page the visitor was on (their conversation's
    ``context.url``) when its origin is exactly one of the tenant's allowed origins, else the
    first allowed origin's root (None: the tenant lists no origin).

    ``context.url`` is the visitor's own word (the widget sends it, anyone can send anything),
    so it only chooses a path: the link is rebuilt from the allowed origin as the tenant wrote
    it, and a page whose address a browser could read differently from this parser (user info,
    a backslash, whitespace or control characters, a path that is not absolute) falls back to
    the root rather than risk a link to another site."""
    if not tenant.allowed_origins:
        return None
    if page and not re.search(r"[\\\s\x00-\x1f\x7f]", page):
        try:
            parts = urlsplit(page)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return tenant.allowed_origins[0] + "/"
        origin = f"{parts.scheme}://{parts.netloc}"
        if (origin in tenant.allowed_origins and "@" not in parts.netloc
                and (parts.path == "" or (parts.path.startswith("/") and not parts.path.startswith("//")))):
            # the page's query as it was written, less an old token (its key compared decoded, as
            # the widget reads it: ``%72esume`` is ``resume``); then every character a mail
            # client's linkifier could end a link at (quotes, angle brackets, spaces) or
            # show misleadingly (non-ASCII, format characters) is percent-encoded, so the link
            # in the plain-text mail is one link, to this page
            query = "&".join(q for q in parts.query.split("&")
                             if q and unquote_plus(q.split("=", 1)[0]) != "resume")
            return urlunsplit((parts.scheme, parts.netloc, quote(parts.path or "/", safe=_PATH_SAFE),
                               quote(query, safe=_QUERY_SAFE), quote(parts.fragment, safe=_QUERY_SAFE)))
    return tenant.allowed_origins[0] + "/"


def resume_link(svc: Services, tenant: Tenant, ch: Channel, *, now: int) -> str | None:
    """A single-use link back into ``ch`` for its visitor, opening the page they were on
    (:func:`resume_target`: on one of the tenant's origins only; None when the tenant lists no
    origin, so there is nowhere safe to send them). The token is ``<id>.<secret>``: the id finds
    the record, only the secret's SHA-256 is stored (as the password reset links do)."""
    target = resume_target(tenant, (ch.context or {}).get("url"))
    if target is None or ch.visitor is None:
        return None
    resume_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    svc.store.followups.put_resume(resume_id, _hash(secret), tenant=tenant.id, visitor=ch.visitor,
                                   channel_id=ch.id, expires_at=now + RESUME_SECONDS)
    parts = urlsplit(target)
    query = "&".join(q for q in (parts.query, f"resume={resume_id}.{secret}") if q)  # the token is URL-safe
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


#: what the mail says where the widget's catalogue has no word of its own (en is the default)
_WORDS = {"en": {"support": "Support", "no_link": "Open the chat on our website to answer."},
          "es": {"support": "Soporte", "no_link": "Abre el chat en nuestro sitio web para responder."}}


def mail_language(tenant: Tenant, ch: Channel) -> str:
    """The language the visitor's widget spoke, as the widget picks it: the page's or browser's
    language (``context.locale``, its primary subtag) when the tenant offers it, else the
    tenant's first language, else English."""
    from switchboard.chat.visitors import offered_locales

    offered = offered_locales(tenant)
    wanted = str((ch.context or {}).get("locale") or "").split("-")[0].lower()
    return wanted if wanted in offered else offered[0]


def _render(messages: list[Message], language: str) -> str:
    support = _WORDS.get(language, _WORDS["en"])["support"]
    return "\n\n".join(f"{m.sender_name or support}:\n{m.text}" for m in messages)


def send_due(svc: Services, *, now_ms: int | None = None, limit: int = BATCH) -> dict[str, int]:
    """Mail every conversation whose follow-up is due at ``now_ms``; what happened, counted
    (``due``, ``mailed``, ``seen_live``, ``nothing_new``, ``failed``)."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    counts = {"due": 0, "mailed": 0, "seen_live": 0, "nothing_new": 0, "failed": 0}
    for channel_id in svc.store.followups.due(now_ms, limit=limit):
        counts["due"] += 1
        counts[_one(svc, channel_id, now_ms)] += 1
    if counts["due"]:
        logger.info("follow-up mail run", extra=counts)
    return counts


def _one(svc: Services, channel_id: str, now_ms: int) -> str:
    record = svc.store.followups.get(channel_id)
    ch = svc.store.channels.get(channel_id)
    if record is None:
        return "nothing_new"  # finished by a run alongside
    last_ms = int(record["last_ms"])
    if ch is None or not ch.visitor or not ch.visitor_email:
        svc.store.followups.finish(channel_id, last_ms=last_ms)
        return "nothing_new"
    if svc.store.connections.of_user(ch.tenant, ch.visitor, readers_only=True):
        svc.store.followups.finish(channel_id, last_ms=last_ms)  # the widget shows them the replies
        return "seen_live"
    replies = [m for m in svc.store.followups.replies_since(channel_id, int(record["from_ms"]))
               if m.sender_role in STAFF_ROLES and not m.deleted and m.created_at <= last_ms]
    if not replies:
        svc.store.followups.finish(channel_id, last_ms=last_ms)
        return "nothing_new"
    tenant = svc.tenants.find(ch.tenant)
    if tenant is None:
        svc.store.followups.finish(channel_id, last_ms=last_ms)
        return "nothing_new"
    link = resume_link(svc, tenant, ch, now=now_ms // 1000)
    language = mail_language(tenant, ch)
    params: dict[str, Any] = {
        "tenant_name": tenant.name, "messages": _render(replies, language),
        "link": link or _WORDS.get(language, _WORDS["en"])["no_link"],
    }
    try:
        svc.mailer.send(to=ch.visitor_email, template="followup", params=params, language=language)
    except ValueError:  # an address stored before addresses were checked as strictly: never mailable
        logger.warning("follow-up mail not sent: not one plain address; given up", extra={"channel_id": channel_id})
        svc.store.followups.finish(channel_id, last_ms=last_ms)
        return "failed"
    except Unavailable:
        attempts = int(record.get("attempts") or 0) + 1
        if attempts >= RETRY_ATTEMPTS:
            logger.warning("follow-up mail not sent: given up", extra={"channel_id": channel_id, "attempts": attempts})
            svc.store.followups.finish(channel_id, last_ms=last_ms)
        else:
            backoff_ms = min(RETRY_FIRST_MS << (attempts - 1), RETRY_MAX_MS)
            logger.warning("follow-up mail not sent: tried again later",
                           extra={"channel_id": channel_id, "attempts": attempts, "in_ms": backoff_ms})
            svc.store.followups.retry_later(channel_id, due_ms=now_ms + backoff_ms, attempts=attempts)
        return "failed"
    if not svc.store.followups.finish(channel_id, last_ms=last_ms):
        svc.store.followups.move_on(channel_id, from_ms=last_ms + 1)  # a reply came meanwhile: next batch
    return "mailed"
