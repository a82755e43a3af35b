"""Audit events and counters: records that are only ever added to (an event, one more
attempt, a request seen once), each with a TTL.

Keys: ``T#<tid>#EV`` / ``<time-ordered id>`` (events, newest first), ``RL#<key>`` /
``H#<hour start>`` (rate-limit counters), ``ONCE#<key>`` / ``ONCE`` (replay guard).
A ``sign_in`` or ``refresh`` event is written in its session's transaction
(:mod:`switchboard.store.transactions`), not here.
"""

from __future__ import annotations

from switchboard.models import AuditEvent
from switchboard.store import codecs, cursors, keys
from switchboard.store.dynamo import Table

__all__ = ["AuditLog", "Counters"]


class AuditLog:
    """A tenant's audit events."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put(self, e: AuditEvent, *, ttl: int) -> None:
        self._table.put(codecs.event_item(e, ttl))

    def page(self, tenant_id: str, *, limit: int, cursor: str | None = None) -> tuple[list[AuditEvent], str | None]:
        """A page of events, newest first, and the opaque cursor of the next page (None at the
        end). A forged cursor is :class:`~switchboard.errors.ValidationFailed`."""
        after = cursors.decode_event_cursor(cursor) if cursor else None
        pk = keys.events_pk(tenant_id)
        items, _ = self._table.query_page("pk = :p", {":p": pk}, newest_first=True,
                                          # one more than the page: see Channels.query
                                          limit=limit + 1, start=keys.key(pk, after) if after else None)
        page = items[:limit]
        last = page[-1]["sk"] if len(items) > limit else None
        return [codecs.event(i) for i in page], (cursors.encode_event_cursor(last) if last else None)


class Counters:
    """Counts shared by every Lambda container: rate limits and "seen once"."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def hit_rate(self, key: str, *, now: int) -> tuple[int, int]:
        """Count one attempt for ``key``: returns (attempts this clock hour, this clock minute).

        One atomic ADD on one item, so every Lambda container shares the count and
        concurrent attempts are all counted. Fixed windows on purpose: a window always
        ends, however many refused attempts it saw, so a limited account is free again
        when the window turns (an attacker cannot extend a lock-out by hammering).
        """
        hour, minute_attr = _window(now)
        got = self._table.add(keys.rate_pk(key), keys.rate_sk(hour),
                              "ADD n :one, #m :one SET #ttl = if_not_exists(#ttl, :ttl)",
                              {":one": 1, ":ttl": hour + 7200}, {"#m": minute_attr, "#ttl": keys.TTL})
        return int(got["n"]), int(got[minute_attr])

    def give_back(self, key: str, *, now: int) -> None:
        """Take back one attempt :meth:`hit_rate` counted for ``key`` at ``now`` (the same item and
        minute): for an attempt another quota refused that must not count here (ratelimit)."""
        hour, minute_attr = _window(now)
        self._table.add(keys.rate_pk(key), keys.rate_sk(hour), "ADD n :back, #m :back",
                        {":back": -1}, {"#m": minute_attr})

    def hit_action(self, tenant: str, user_id: str, connection_id: str, kind: str, *,
                   now: int, window: int) -> tuple[int, int]:
        """Count one chat action of ``kind``: returns (the user's count, this connection's count)
        in the current window of ``window`` seconds (chat_limits).

        One UpdateItem ADDs 1 to the user's ``n`` and to the connection's own attribute in the
        same item, so both limits cost one write (the item holds at most as many connections as
        a user may open: small, one WCU). Atomic, so every Lambda container shares the counts and
        concurrent actions are all counted; a new window is a new item, so nothing is ever
        reset; TTL'd an hour after the window.
        """
        start = now - now % window
        attr = keys.action_connection_attr(connection_id)
        got = self._table.add(keys.action_rate_pk(tenant, user_id), keys.action_rate_sk(kind, start),
                              "ADD n :one, #c :one SET #ttl = if_not_exists(#ttl, :ttl)",
                              {":one": 1, ":ttl": start + window + 3600}, {"#c": attr, "#ttl": keys.TTL})
        return int(got["n"]), int(got[attr])

    def first_time(self, key: str, *, expires_at: int) -> bool:
        """Record ``key`` as seen; True the first time, False on every later call (until TTL)."""
        return self._table.put_if({"pk": keys.once_pk(key), "sk": keys.ONCE, "ttl": expires_at},
                                  condition="attribute_not_exists(pk)")


def _window(now: int) -> tuple[int, str]:
    """A rate counter's item (its clock hour) and the attribute counting ``now``'s minute."""
    return now - now % 3600, f"m{(now % 3600) // 60}"
