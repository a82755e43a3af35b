"""WebSocket connections, their watches, and staff presence and load.

Keys: ``C#<cid>`` / ``CONN`` (the connection), ``U#<tid>#<uid>`` / ``C#<cid>`` (its entry
under its user), ``T#<tid>#OPS`` / ``OC#<uid>#<cid>`` (presence) and ``OP#<uid>`` (load),
``CH#<chid>`` / ``W#<cid>`` and ``C#<cid>`` / ``W#<chid>`` (both halves of a watch).

Watches live here, not with channels: a watch is made by a connection, lives as long as it
(its TTL is the connection's end) and is torn down with it - on ``$disconnect`` and when its
``chat:read`` is revoked - so its lifecycle is the connection's. Recording a connection
checks its session in the same transaction: :func:`switchboard.store.transactions.record_connection`.
Load is changed only by the channel transactions that assign (same module).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from switchboard.models import Connection, OperatorPresence, Watcher
from switchboard.policy import HANDLES_CHATS, STAFF_ROLES
from switchboard.store import codecs, keys, transactions
from switchboard.store.dynamo import Table

__all__ = ["Connections", "Presence", "Watchers"]


class Connections:
    """Who is connected: read at the start of every chat action, found by user on revocation."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put(self, c: Connection, *, operator: bool, now: int) -> Connection:
        """Record a connection, checking its session in the same transaction (see
        :func:`switchboard.store.transactions.record_connection`); what was recorded comes back."""
        return transactions.record_connection(self._table, c, operator=operator, now=now)

    def get(self, connection_id: str) -> Connection | None:
        """``C#<cid>`` / ``CONN``: one consistent GetItem at the start of every action."""
        raw = self._table.get(keys.connection_pk(connection_id), keys.CONNECTION, consistent=True)
        return codecs.connection(raw) if raw else None

    def of_user(self, tenant: str, user_id: str, *, readers_only: bool = False) -> list[tuple[str, str]]:
        """(connection id, session id) of a user's connections: Query ``U#<tid>#<uid>`` begins_with
        ``C#``, consistent (revocation must not miss one just made, nor one past its end).
        ``readers_only``: those that still hold ``chat:read`` and have not reached their end
        (their session's, or API Gateway's 2 hours: the entry's TTL, which DynamoDB applies
        lazily) - who may be told of a channel."""
        now = int(time.time())
        return [(r["connection_id"], r["session_id"])
                for r in self._table.query(keys.user_pk(tenant, user_id), keys.USER_CONNECTIONS, consistent=True)
                if not readers_only or (r.get("reads", True) and int(r.get("ttl", now + 1)) > now)]

    def count_of_user(self, tenant: str, user_id: str, *, now: int) -> int:
        """Live connections of a user, every session of theirs: their entries (``U#<tid>#<uid>``
        begins_with ``C#``, one consistent Query, growing with that user's connections only),
        past their end (their TTL, applied lazily) not counted."""
        return sum(1 for r in self._table.query(keys.user_pk(tenant, user_id), keys.USER_CONNECTIONS,
                                                consistent=True)
                   if int(r.get("ttl", now + 1)) > now)

    def delete(self, connection_id: str) -> Connection | None:
        """Remove every record of a connection (idempotent); returns what it was, if anything.

        Reads the connection and its watch list (``C#<cid>`` begins_with ``W#``), then deletes
        the connection, its user entry, its presence item and both halves of each watch in
        batches. Deletes need no transaction: each is idempotent and TTL catches stragglers.
        """
        conn = self.get(connection_id)
        pk = keys.connection_pk(connection_id)
        watched = [r["channel_id"] for r in self._table.query(pk, keys.WATCHES, consistent=True)]
        found = [keys.key(pk, keys.CONNECTION)]
        found += [keys.key(pk, keys.watch_sk(ch)) for ch in watched]
        found += [keys.key(keys.channel_pk(ch), keys.watch_sk(connection_id)) for ch in watched]
        if conn is not None:
            found.append(keys.key(keys.user_pk(conn.tenant, conn.user_id), keys.user_connection_sk(connection_id)))
            if conn.role in STAFF_ROLES:
                found.append(keys.key(keys.staff_pk(conn.tenant), keys.presence_sk(conn.user_id, connection_id)))
        self._table.batch_delete(found)
        return conn

    def remove_scopes(self, tenant: str, user_id: str, connection_ids: Iterable[str], scopes: frozenset[str]) -> None:
        """``DELETE scopes`` on each connection record (conditional: a connection gone meanwhile
        is skipped). Without ``chat:read`` its user entry stops counting it as a reader; staff
        without :data:`~switchboard.policy.HANDLES_CHATS` lose their presence items (no longer
        assignable)."""
        ids = list(connection_ids)
        for cid in ids:
            updated = self._table.update_if(keys.connection_pk(cid), keys.CONNECTION, "DELETE scopes :gone",
                                            {":gone": set(scopes)}, condition="attribute_exists(pk)")
            if updated and "chat:read" in scopes:
                self._table.update_if(keys.user_pk(tenant, user_id), keys.user_connection_sk(cid), "SET #r = :no",
                                      {":no": False}, condition="attribute_exists(pk)", names={"#r": "reads"})
        if scopes & HANDLES_CHATS:  # idempotent deletes: a visitor has no presence items to lose
            self._table.batch_delete([keys.key(keys.staff_pk(tenant), keys.presence_sk(user_id, cid)) for cid in ids])


class Watchers:
    """Which connections watch a channel (the fan-out list)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, channel_id: str, conn: Connection) -> None:
        """``CH#<chid>`` / ``W#<cid>`` (fan-out reads these) and ``C#<cid>`` / ``W#<chid>`` (disconnect
        deletes both), with the connection's expiry as TTL."""
        self._table.batch_put([
            {"pk": keys.channel_pk(channel_id), "sk": keys.watch_sk(conn.id), "connection_id": conn.id,
             "user_id": conn.user_id, "role": conn.role, "expires_at": conn.expires_at, "ttl": conn.expires_at},
            {"pk": keys.connection_pk(conn.id), "sk": keys.watch_sk(channel_id), "channel_id": channel_id,
             "ttl": conn.expires_at},
        ])

    def of_channel(self, channel_id: str, *, now: int) -> list[Watcher]:
        """Connections watching a channel: one consistent Query of ``CH#<chid>`` begins_with ``W#``
        - it grows with the channel's watchers only. Expired ones (stale) are left out."""
        return [Watcher(connection_id=r["connection_id"], user_id=r.get("user_id", ""), role=r.get("role", ""))
                for r in self._table.query(keys.channel_pk(channel_id), keys.WATCHES, consistent=True)
                if r.get("expires_at", now + 1) > now]

    def remove_all(self, connection_ids: Iterable[str]) -> None:
        """Unsubscribe connections from every channel (their chat:read was revoked)."""
        found: list[dict[str, str]] = []
        for cid in connection_ids:
            for r in self._table.query(keys.connection_pk(cid), keys.WATCHES, consistent=True):
                found += [keys.key(keys.connection_pk(cid), keys.watch_sk(r["channel_id"])),
                          keys.key(keys.channel_pk(r["channel_id"]), keys.watch_sk(cid))]
        self._table.batch_delete(found)


class Presence:
    """Staff presence and load, read by assignment."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def of_tenant(self, tenant: str, *, now: int) -> list[OperatorPresence]:
        """Staff presence and load: one consistent Query of ``T#<tid>#OPS``.

        ``OP#<uid>`` holds an operator's load (open support channels assigned) and when they
        were last assigned one; ``OC#<uid>#<cid>`` is one per live staff connection. The
        Query grows with the tenant's staff and their connections, never with visitors.
        Connections past their expiry are stale (a lost ``$disconnect``) and do not count.
        """
        loads: dict[str, tuple[int, int]] = {}
        settings: dict[str, tuple[bool, int | None]] = {}
        conns: dict[str, set[str]] = {}
        roles: dict[str, str] = {}
        names: dict[str, str] = {}
        for r in self._table.query(keys.staff_pk(tenant), keys.STAFF, consistent=True):
            if keys.is_load(r["sk"]):
                loads[r["user_id"]] = (max(0, int(r.get("load", 0))), int(r.get("last_assigned_at", 0)))
                cap = r.get("max_chats")
                settings[r["user_id"]] = (bool(r.get("away", False)), int(cap) if cap is not None else None)
            elif r.get("expires_at", 0) > now:
                conns.setdefault(r["user_id"], set()).add(r["connection_id"])
                if roles.get(r["user_id"], "admin") == "admin":  # any connection made as operator: operator
                    roles[r["user_id"]] = str(r.get("role", "operator"))
                if r.get("name"):
                    names[r["user_id"]] = str(r["name"])
        return [OperatorPresence(tenant=tenant, user_id=uid, connections=frozenset(conns.get(uid, ())),
                                 load=loads.get(uid, (0, 0))[0], last_assigned_at=loads.get(uid, (0, 0))[1],
                                 role=roles.get(uid, "operator"), name=names.get(uid),
                                 away=settings.get(uid, (False, None))[0],
                                 max_chats=settings.get(uid, (False, None))[1])
                for uid in sorted(set(loads) | set(conns))]

    def set_away(self, tenant: str, user_id: str, away: bool) -> None:
        """``presence.set``: on the load item (``T#<tid>#OPS`` / ``OP#<uid>``), so the one Query
        assignment makes already says it - no extra read per assignment. It outlives the
        connection: an operator who said away and reconnects is still away until they say online."""
        self._table.update(keys.staff_pk(tenant), keys.load_sk(user_id), "SET away = :a, user_id = :u",
                                    {":a": away, ":u": user_id})

    def set_max_chats(self, tenant: str, user_id: str, max_chats: int | None) -> None:
        """An admin's cap on an operator's open chats, on the same load item; ``None`` removes
        it (the tenant's default: no cap - assignment's condition reads a missing cap as none)."""
        if max_chats is None:
            self._table.update(keys.staff_pk(tenant), keys.load_sk(user_id), "SET user_id = :u REMOVE max_chats",
                               {":u": user_id})
            return
        self._table.update(keys.staff_pk(tenant), keys.load_sk(user_id), "SET max_chats = :m, user_id = :u",
                                    {":m": max_chats, ":u": user_id})

    def caps(self, tenant: str) -> dict[str, int]:
        """Every staff member's ``max_chats`` that is set (``GET /admin/operators``): one Query of
        the load items alone (``T#<tid>#OPS`` begins_with ``OP#``; the connections' ``OC#`` items
        are not read), growing with the tenant's staff only."""
        return {str(r["user_id"]): int(r["max_chats"]) for r in self._table.query(keys.staff_pk(tenant), keys.LOADS)
                if r.get("max_chats") is not None and r.get("user_id")}

    def max_chats(self, tenant: str, user_id: str) -> int | None:
        raw = self._table.get(keys.staff_pk(tenant), keys.load_sk(user_id), consistent=True)
        return int(raw["max_chats"]) if raw and raw.get("max_chats") is not None else None
