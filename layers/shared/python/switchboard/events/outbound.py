"""Outbound events: what a tenant's own systems (a CRM, a ticketing tool) hear of (contract
section 9, issue 19).

One domain door, :func:`publish` (and the event builders below for changes that are
transactions of ours): the chat writes each event in the same DynamoDB transaction as the change
it tells of (the transactional outbox, :mod:`switchboard.store.events`), the table's stream hands
it to the dispatcher (:mod:`switchboard.events.dispatch`), which puts it on the EventBridge bus
and queues one delivery per subscribed webhook (:mod:`switchboard.events.webhooks`). So an event
is never lost when a receiver is down, and never sent for a change that did not happen.

The catalogue (docs/webhooks.md): ``conversation.created``, ``conversation.assigned``,
``conversation.closed``, ``message.created``, ``csat.submitted`` - and
``message.internal.created``, staff's internal notes, which a webhook receives only when it names
that type itself (a subscriber to ``message.created`` never gets a note).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from switchboard.ids import now_ms, time_ordered_id
from switchboard.models import Channel, Message, OutboundEvent, Tenant

if TYPE_CHECKING:
    pass

__all__ = ["TYPES", "body", "conversation_event", "message_event", "new_event", "subscribers"]

#: every event type; a webhook subscribes to a list of them
TYPES = ("conversation.created", "conversation.assigned", "conversation.closed", "message.created",
         "csat.submitted", "message.internal.created")


def new_event(type_: str, tenant: str, data: dict[str, Any], *, at_ms: int | None = None,
              channel_id: str | None = None) -> OutboundEvent:
    """An event with a fresh id (``evt_`` + a time-ordered id): its ``webhook-id`` on every
    attempt. ``channel_id``: the conversation it is about (erasing it erases the event too)."""
    if type_ not in TYPES:
        raise ValueError(f"unknown event type {type_}")
    at = at_ms if at_ms is not None else now_ms()
    return OutboundEvent(id=f"evt_{time_ordered_id(at)}", type=type_, tenant=tenant, at=at, data=data,
                         channel_id=channel_id)


def conversation_event(type_: str, ch: Channel, *, at_ms: int | None = None) -> OutboundEvent:
    """``conversation.*``: the conversation as the chat shows it (``channel.updated``'s shape)."""
    return new_event(type_, ch.tenant, {"conversation": ch.to_json()}, at_ms=at_ms, channel_id=ch.id)


def message_event(ch: Channel, m: Message) -> OutboundEvent:
    """``message.created`` - or ``message.internal.created`` for an internal note (a message
    with ``internal`` true: issue 17's notes), which only webhooks naming that type receive."""
    internal = bool(getattr(m, "internal", False))
    return new_event("message.internal.created" if internal else "message.created", ch.tenant,
                     {"conversation_id": ch.id, "message": m.to_json()}, at_ms=m.created_at, channel_id=ch.id)


def timestamp(at_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, as the body's ``timestamp``."""
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body(e: OutboundEvent) -> str:
    """The webhook body, ``{"type", "timestamp", "data"}`` (contract section 9): made once when
    the delivery is queued, so every attempt sends (and signs) the same bytes."""
    return json.dumps({"type": e.type, "timestamp": timestamp(e.at), "data": e.data}, separators=(",", ":"),
                      ensure_ascii=False)


def subscribers(tenant: Tenant, e: OutboundEvent) -> list[dict[str, Any]]:
    """The tenant's webhooks that subscribe to this event's type."""
    return [h for h in tenant.webhooks if e.type in (h.get("events") or ())]
