"""Outbound events as table items: the transactional outbox (issue 19).

Key: ``CH#<chid>`` / ``EVT#<event id>`` for an event about a conversation, ``EVT#<event id>`` /
``EVT#<event id>`` otherwise (:func:`switchboard.store.keys.event_sk`). An event is put
in the *same* transaction as the change it tells of (a message, a channel created, assigned
or closed: :mod:`switchboard.store.transactions`, :meth:`switchboard.store.channels.Messages.put`),
so a change is never stored without its event, nor the reverse. The table's stream hands the
INSERT to the dispatcher (``EventsDispatchFunction``), which reads it back with
:func:`from_stream_image`. A TTL of 3 days removes it; nothing reads it by key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from switchboard.models import OutboundEvent
from switchboard.store import keys
from switchboard.store.dynamo import Table, from_wire

__all__ = ["EVENT_TTL_SECONDS", "Outbox", "event_item", "events_of_stream", "from_stream_image", "is_event_image"]

EVENT_TTL_SECONDS = 3 * 24 * 3600


def event_item(e: OutboundEvent) -> dict[str, Any]:
    pk = keys.channel_pk(e.channel_id) if e.channel_id else keys.event_pk(e.id)
    return {"pk": pk, "sk": keys.event_sk(e.id), "event_id": e.id, "type": e.type, "tenant": e.tenant,
            "at": e.at, "data": e.data, "ttl": e.at // 1000 + EVENT_TTL_SECONDS,
            **({"channel_id": e.channel_id} if e.channel_id else {})}


def is_event_image(image: dict[str, Any]) -> bool:
    """Whether a stream record's image (DynamoDB JSON) is an event item (the template's filter
    says the same; this holds when the dispatcher is handed records another way)."""
    return str(image.get(keys.SK, {}).get("S", "")).startswith(keys.EVENTS) and "event_id" in image


def from_stream_image(image: dict[str, Any]) -> OutboundEvent:
    """The event in a stream record's ``NewImage`` (DynamoDB JSON)."""
    r = from_wire(image)
    return OutboundEvent(id=r["event_id"], type=r["type"], tenant=r["tenant"], at=int(r["at"]), data=_plain(r["data"]),
                         channel_id=r.get("channel_id"))


def events_of_stream(records: Iterable[dict[str, Any]]) -> list[OutboundEvent]:
    """The events among a stream batch's records: INSERTs of event items (the template's filter
    passes only those; anything else handed here is skipped)."""
    return [from_stream_image(r["dynamodb"]["NewImage"]) for r in records
            if r.get("eventName") == "INSERT" and is_event_image(r.get("dynamodb", {}).get("NewImage") or {})]


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: integers here (events carry no fractions)."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


class Outbox:
    """Events put on their own, for a change that is not a transaction of ours (a seam: issue
    17's CSAT rating): one PutItem after the change, so a crash between the two loses the event;
    changes that are transactions put their event inside them instead."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def item(self, e: OutboundEvent) -> dict[str, Any]:
        """The event as a ``Put`` of a transaction."""
        return self._table.put_item(event_item(e), condition="attribute_not_exists(pk)")
