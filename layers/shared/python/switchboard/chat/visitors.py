"""The visitor's side of a support conversation (contract section 8): where they are
(``context``), their pre-chat answers, the address follow-up mail goes to, their rating.

Apart from :mod:`switchboard.chat.actions` (the conversation's life: open, assign, send, close)
because these are the visitor's own fields on a conversation, checked against the tenant's
settings; ``support.open`` calls :func:`check_open` and :func:`fields_of` before it stores a
channel. Every field here is the visitor's own: their view of the channel shows it to them,
and the staff's view adds what only staff see (:meth:`switchboard.models.Channel.to_json`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from switchboard.chat.context import ChatContext, Reply
from switchboard.chat.policy import authorize
from switchboard.errors import Conflict, NotFound, ValidationFailed
from switchboard.events.outbound import new_event
from switchboard.mail import ADDRESS
from switchboard.models import Channel, Connection, Tenant
from switchboard.store import Store

__all__ = ["CSAT_SUBMITTED", "LOCALES", "channel_rate", "check_open", "fields_of", "offered_locales",
           "on_csat_submitted", "visitor_context", "visitor_email", "widget_settings"]

#: the widget's catalogues (web/widget.js): what ``GET /tenants/{tenant}/widget`` offers
LOCALES = ("en", "es")

#: the total size of one conversation's pre-chat answers (JSON): 20 fields of a sentence or two
MAX_PRECHAT_BYTES = 4096
_EMAIL = ADDRESS  # one plain address (switchboard.mail): a pre-chat email field is one a mail could go to

#: called once per rating stored, after it is stored (the outbound ``csat.submitted`` event is
#: not one of these: it is written in the rating's own transaction, see :func:`channel_rate`)
CSAT_SUBMITTED: list[Callable[[ChatContext, Channel], None]] = []


def on_csat_submitted(ctx: ChatContext, ch: Channel) -> None:
    """``csat.submitted``: the one call site outbound events hook into (see :data:`CSAT_SUBMITTED`)."""
    for listener in CSAT_SUBMITTED:
        listener(ctx, ch)


def _tenant(ctx: ChatContext, tenant_id: str) -> Tenant | None:
    return ctx.tenants(tenant_id) if ctx.tenants else None


def _missing(answer: Any) -> bool:
    """A required field's answer that is no answer: absent, an unticked checkbox, or text that
    is empty or only whitespace (a name of three spaces tells staff nothing)."""
    return answer is None or answer is False or (isinstance(answer, str) and not answer.strip())


def check_prechat(tenant: Tenant | None, answers: Mapping[str, Any] | None, *, new: bool) -> dict[str, Any] | None:
    """The answers, checked against the tenant's configured fields: an unknown field, a
    ``select`` answer that is not one of its options, a malformed ``email``, a ``checkbox``
    that is not true/false or text that is not text are each ``validation_error``; so is a
    required field left out, empty or only whitespace when the conversation is ``new`` (the form is asked
    before the first message, so an open conversation has passed it)."""
    fields = {f["id"]: f for f in (tenant.prechat if tenant else ())}
    answers = dict(answers or {})
    for name, value in answers.items():
        field = fields.get(name)
        if field is None:
            raise ValidationFailed(f"prechat.{name}: no such pre-chat field")
        kind = field.get("kind", "text")
        if kind == "checkbox":
            if not isinstance(value, bool):
                raise ValidationFailed(f"prechat.{name}: true or false")
            continue
        if not isinstance(value, str):
            raise ValidationFailed(f"prechat.{name}: text")
        if kind == "select" and value and value not in (field.get("options") or ()):
            raise ValidationFailed(f"prechat.{name}: not one of the field's options")
        if kind == "email" and value and not _EMAIL.match(value):
            raise ValidationFailed(f"prechat.{name}: not an email address")
        if kind in ("text", "email", "phone", "select") and len(value) > 200:
            raise ValidationFailed(f"prechat.{name}: at most 200 characters")
    if new:
        for name, field in fields.items():
            if field.get("required") and _missing(answers.get(name)):
                raise ValidationFailed(f"prechat.{name}: required")
    if not answers:
        return None
    import json

    if len(json.dumps(answers, ensure_ascii=False).encode()) > MAX_PRECHAT_BYTES:
        raise ValidationFailed(f"prechat: at most {MAX_PRECHAT_BYTES} bytes in all")
    return answers


def check_open(ctx: ChatContext, conn: Connection, *, prechat: Mapping[str, Any] | None, email: str | None,
               new: bool, anyone_online: Callable[[], bool]) -> dict[str, Any] | None:
    """What ``support.open`` checks before it stores anything: the pre-chat answers
    (:func:`check_prechat`) and, for a new conversation of a tenant whose
    ``email_when_offline`` is ``required``, an email while nobody is online (``anyone_online``
    is asked only then: the presence Query is one the open makes anyway)."""
    tenant = _tenant(ctx, conn.tenant)
    answers = check_prechat(tenant, prechat, new=new)
    if new and email is None and tenant is not None and tenant.email_when_offline == "required" \
            and not anyone_online():
        raise ValidationFailed("email: required while nobody is online (the answer comes by email)")
    return answers


def fields_of(*, context: Mapping[str, Any] | None, prechat: dict[str, Any] | None, email: str | None,
              ) -> dict[str, Any]:
    """The channel fields a ``support.open`` sets (only those it was given). An email is kept
    whatever ``email_when_offline`` says: that setting is whether the widget *asks* for one
    while nobody is online; a visitor who gives one anyway gets follow-up mail."""
    out: dict[str, Any] = {}
    if context is not None:
        out["context"] = {k: v for k, v in context.items() if v is not None}
    if prechat:
        out["prechat"] = prechat
    if email is not None:
        out["visitor_email"] = email
    return out


def _own_channel(ctx: ChatContext, conn: Connection, channel_id: str, permission: str) -> Channel:
    ch = ctx.store.channels.get(channel_id)
    if ch is None or ch.tenant != conn.tenant:
        raise NotFound("no such channel")
    authorize(conn, permission, ch)
    return ch


def _set(ctx: ChatContext, conn: Connection, ch: Channel, fields: dict[str, Any]) -> Channel:
    if ch.status == "closed":
        raise Conflict("the channel is closed")
    new = ctx.store.channels.set_visitor_fields(ch, fields)
    if new is None:
        raise Conflict("the channel was closed or handed over meanwhile")
    return new


def visitor_email(ctx: ChatContext, conn: Connection, *, channel_id: str, email: str,
                  announce: Callable[[Channel], None]) -> Reply:
    """``visitor.email``: the channel's visitor sets or changes where follow-up mail goes
    (while it is open; staff hear of it, so their panel shows the address)."""
    ch = _own_channel(ctx, conn, channel_id, "visitor_profile")
    new = _set(ctx, conn, ch, {"visitor_email": email})
    announce(new)
    return Reply({"channel": new.to_json()})


def visitor_context(ctx: ChatContext, conn: Connection, *, channel_id: str, context: Mapping[str, Any],
                    announce: Callable[[Channel], None]) -> Reply:
    """``visitor.context``: the page the visitor is on now; ``channel.updated`` to staff."""
    ch = _own_channel(ctx, conn, channel_id, "visitor_profile")
    new = _set(ctx, conn, ch, {"context": {k: v for k, v in context.items() if v is not None}})
    announce(new)
    return Reply({"channel": new.to_json()})


def channel_rate(ctx: ChatContext, conn: Connection, *, channel_id: str, score: int, comment: str | None,
                 announce: Callable[[Channel], None]) -> Reply:
    """``channel.rate``: the channel's visitor rates it, once, after it closed: ``csat``
    (``{"score", "comment", "at"}``) on the channel, ``channel.updated`` to staff, and the
    ``csat.submitted`` seam (:func:`on_csat_submitted`). A second rating, or one before the
    close, is ``conflict`` and changes nothing."""
    ch = _own_channel(ctx, conn, channel_id, "rate")
    if ch.status != "closed":
        raise Conflict("a conversation is rated once it is closed")
    if ch.csat is not None:
        raise Conflict("this conversation was rated already")
    rated_at = int(time.time() * 1000)
    csat = {"score": score, "comment": comment or None, "at": rated_at}
    # csat.submitted (contract section 9) in the rating's own transaction: never lost, never
    # told of a rating that was not stored
    event = new_event("csat.submitted", ch.tenant, {"conversation_id": ch.id, "score": score,
                                                    "comment": comment or None, "visitor": ch.visitor},
                      at_ms=rated_at, channel_id=ch.id)
    if not ctx.store.channels.rate(ch, csat, events=(event,) if ch.type == "support" else ()):
        raise Conflict("this conversation was rated already")
    from msgspec.structs import replace

    new = replace(ch, csat=csat)
    announce(new)
    on_csat_submitted(ctx, new)
    return Reply({"channel": new.to_json()})


def offered_locales(tenant: Tenant) -> list[str]:
    """The languages the tenant's visitors are spoken to in, in its order: its ``locales`` the
    catalogue has, or every catalogue language when it chose none (the widget, the follow-up mail)."""
    return [lc for lc in tenant.locales if lc in LOCALES] or list(LOCALES)


def widget_settings(store: Store, tenant: Tenant, *, now_ms: int) -> dict[str, Any]:
    """``GET /tenants/{tenant}/widget``: the theme (:meth:`Tenant.widget_settings`) and the
    support day's public settings (contract section 8) - ``online``: any staff member online now
    and not away (``OperatorPresence.answering``; one consistent Query of the tenant's staff
    partition, which grows with its staff, never its visitors); ``open_now``: inside business
    hours (or no hours set); ``hours``, ``away_message``, the ``prechat`` fields,
    ``email_when_offline`` and ``locales``."""
    from switchboard.chat.hours import outside_hours

    online = any(p.answering for p in store.presence.of_tenant(tenant.id, now=now_ms // 1000))
    return {
        **tenant.widget_settings(),
        "online": online,
        "open_now": not outside_hours(tenant.hours, now_ms),
        "hours": tenant.hours,
        "away_message": tenant.away_message,
        "prechat": [{k: f[k] for k in ("id", "label", "kind", "required", "options") if k in f}
                    for f in tenant.prechat],
        "email_when_offline": tenant.email_when_offline,
        # the tenant's choice, in its order (the widget falls back to the first), else all
        "locales": offered_locales(tenant),
    }
