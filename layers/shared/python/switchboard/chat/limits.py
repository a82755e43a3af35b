"""How often each chat action may be used - as data, enforced in one place (the WebSocket
edge's dispatch, :func:`switchboard.edge.ws.action_endpoint`, for every action).

Every action counts as one *kind* (:data:`ACTION_KIND`); every kind has a :class:`Limit`: so
many actions per clock minute on one connection, and so many for one user over all their
connections (tabs, devices). One over either is refused with ``rate_limited`` and a
``retry_after`` (seconds to the minute's end); the action then does nothing - nothing stored,
nothing sent to anyone.

Why these numbers (:data:`LIMITS`): each is at least twice what the widget and the back
office send in their busiest normal use (web/widget.js, web/backoffice/app.js: typing at most
every 3 s per connection, a read receipt per message received while the conversation is on
screen, a reconnect's inbox sync of up to 3 queries and 60 watches), so a person never meets
one; a script does, within the minute. docs/chat-policy.md lists them, and
tests/chat/test_action_limits.py checks that the two agree and that the clients' own cadence
stays under them.

Why fixed one-minute windows, like :mod:`switchboard.ratelimit`: one atomic ADD per action
and no read-modify-write race, and a window always ends, however hard a client keeps
hammering after its refusal.

The cost: one UpdateItem per action (``Store.counters.hit_action``), the user's and the
connection's counts in one item (the connection's an attribute of the user's window), sent
*at the same time* as the connection read every action starts with: the counter is keyed by
the identity API Gateway hands every event of the connection (``requestContext.authorizer``,
the authorizer's context at ``$connect``), so it need not wait for that read. No action waits
one more DynamoDB round trip (bench/README.md, "Chat: what the action limits cost").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

import msgspec

from switchboard import background
from switchboard.errors import RateLimited
from switchboard.models import Connection
from switchboard.settings import Settings
from switchboard.store import Store

__all__ = ["ACTION_KIND", "LIMITS", "WINDOW_SECONDS", "ActionCount", "Limit", "counting", "limits"]

#: the window every limit counts in (a clock minute)
WINDOW_SECONDS = 60


class Limit(msgspec.Struct, frozen=True):
    """Actions of one kind per clock minute: on one connection, and for one user."""

    per_connection: int
    per_user: int


#: action -> the kind of action it counts as. Every action of the dispatch table
#: (``switchboard.edge.actions.ACTIONS``) must be here: :func:`switchboard.edge.ws.action_endpoint` refuses to build a
#: handler for one that is not (and a test checks the two tables agree).
ACTION_KIND: dict[str, str] = {
    "message.send": "send",
    "typing": "typing",
    "read": "read",
    "channel.query": "query",
    "channel.watch": "query",
    "channel.history": "query",
    "attachment.presign": "presign",
    "attachment.open": "presign",
    "support.open": "manage",
    "channel.assign": "manage",
    "channel.create": "manage",
    "channel.close": "manage",
    "message.delete": "manage",
    # issue 17: labelling a conversation and saying online / away are managing, at a human pace
    "channel.label": "manage",
    "presence.set": "manage",
    # section 8: a page change sends visitor.context (a site that changes pages more than once a
    # second is not a person reading it)
    "visitor.email": "manage",
    "visitor.context": "manage",
    "channel.rate": "manage",
}

#: kind -> its limit, per clock minute (overridable per kind: the template's WebSocketRateLimits)
LIMITS: dict[str, Limit] = {
    # a fast human sends a message every 2-3 s; the widget's outbox, flushed on reconnect,
    # sends what was written offline back to back
    "send": Limit(per_connection=60, per_user=120),
    # both clients send typing at most every 3 s per connection: 20 a minute
    "typing": Limit(per_connection=40, per_user=80),
    # one receipt per message received while on screen, one per conversation opened: bounded by
    # the others' sends (a lively team channel), so the loosest but one
    "read": Limit(per_connection=120, per_user=240),
    # a back-office reconnect asks up to 3 channel.query and 60 channel.watch at once, then a
    # watch per conversation that comes in and a history page per scroll; a flaky network
    # reconnects (a new connection) a few times a minute, which the per-user limit allows
    "query": Limit(per_connection=150, per_user=300),
    # uploads and downloads, one per file a person picks or clicks
    "presign": Limit(per_connection=30, per_user=60),
    # opening, claiming, creating, closing conversations; deleting messages (a moderator
    # clearing a conversation)
    "manage": Limit(per_connection=60, per_user=120),
}


def limits(settings: Settings) -> dict[str, Limit]:
    """The limits in force: :data:`LIMITS`, with the kinds the settings name replaced
    (``WS_RATE_LIMITS="send=30/60,typing=20/40"``: per connection / per user). A kind that
    does not exist is a configuration error, raised at the first action rather than ignored."""
    table = dict(LIMITS)
    for kind, per_connection, per_user in settings.ws_rate_limits:
        if kind not in table:
            raise ValueError(f"WS_RATE_LIMITS names {kind!r}, which is no kind of action ({', '.join(table)})")
        table[kind] = Limit(per_connection, per_user)
    return table


class ActionCount:
    """One action being counted (:func:`counting`); :meth:`enforce` raises if it is over a limit."""

    def __init__(self, store: Store, kind: str, connection_id: str, now: int,
                 pending: tuple[tuple[str, str], Future[tuple[int, int]]] | None) -> None:
        self._store, self._kind, self._connection_id, self._now = store, kind, connection_id, now
        self._pending = pending

    def enforce(self, conn: Connection, table: dict[str, Limit]) -> None:
        """Raise :class:`RateLimited` if this action is over its kind's limit for ``conn``'s
        connection or user. Counted under the connection record's user: the write already in
        flight if it was keyed by the same user (always, behind API Gateway), else now."""
        if self._pending is not None and self._pending[0] == (conn.tenant, conn.user_id):
            user_count, connection_count = self._pending[1].result()
        else:  # no identity on the event to count by ahead of the read
            user_count, connection_count = self._store.counters.hit_action(
                conn.tenant, conn.user_id, self._connection_id, self._kind, now=self._now, window=WINDOW_SECONDS)
        limit = table[self._kind]
        if connection_count <= limit.per_connection and user_count <= limit.per_user:
            return
        over, quota = ("connection", limit.per_connection) if connection_count > limit.per_connection \
            else ("user", limit.per_user)
        retry_after = WINDOW_SECONDS - self._now % WINDOW_SECONDS
        raise RateLimited(
            f"too many {self._kind} actions (at most {quota} a minute per {over}); try again in {retry_after} s",
            retry_after=retry_after,
            policy=f'"ws-{self._kind}-connection";q={limit.per_connection};w={WINDOW_SECONDS}, '
                   f'"ws-{self._kind}-user";q={limit.per_user};w={WINDOW_SECONDS}',
            limit=f'"ws-{self._kind}-{over}";r=0;t={retry_after}',
        )


@contextmanager
def counting(store: Store, action: str, connection_id: str, user: tuple[str, str] | None, *,
             now: int | None = None) -> Iterator[ActionCount]:
    """Count one ``action`` of ``connection_id``; with the ``(tenant, user id)`` known from the
    event, the write starts at once and runs while the block reads the connection. The block
    must call :meth:`ActionCount.enforce` before the action does anything; on the way out the
    write is waited for in any case, so none outlives the invocation.

    Every attempt is counted, refused ones too: a client that keeps going after its refusal
    stays refused until the window ends, and no longer."""
    kind = ACTION_KIND[action]
    at = int(now if now is not None else time.time())
    pending = None
    if user is not None:
        future = background.submit(store.counters.hit_action, user[0], user[1], connection_id, kind,
                                   now=at, window=WINDOW_SECONDS)
        pending = (user, future)
    try:
        yield ActionCount(store, kind, connection_id, at, pending)
    finally:
        if pending is not None:
            pending[1].exception()  # waits; an error was raised by enforce() already, or does not matter
