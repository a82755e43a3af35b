"""Sessions and their refresh tokens.

Keys: ``U#<tid>#<uid>`` / ``S#<sid>`` (the session, its current refresh hash on it),
``RT#<sid>#<gen>`` (each rotated hash, TTL'd with the session), GSI1 ``SID#<sid>`` (a
session by id alone). Opening a session and rotating its refresh token are transactions with
other records (the audit event, the operator's standing): :mod:`switchboard.store.transactions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from switchboard.models import AuditEvent, Operator, Session, SessionKey
from switchboard.observability import count
from switchboard.store import codecs, keys, transactions
from switchboard.store.dynamo import Table

__all__ = ["Sessions"]

REFRESH_SLOTS = 32  # sessions made before RT# items kept their last rotated hashes in 32 slots (still read)


class Sessions:
    """A user's sessions: read on every authenticated call, listed, rotated, revoked."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, s: Session, refresh_hash: str, *, event: AuditEvent, event_ttl: int,
               operator: Operator | None = None, identity: str | None = None) -> None:
        """The session and its ``sign_in`` event, in one transaction (see
        :func:`switchboard.store.transactions.open_session`)."""
        transactions.open_session(self._table, s, refresh_hash, event=event, event_ttl=event_ttl, operator=operator,
                                  identity=identity)

    def get(self, key: SessionKey) -> Session | None:
        """Strongly consistent: a revocation is seen by the very next call."""
        raw = self._table.get(keys.user_pk(key.tenant, key.user_id), keys.session_sk(key.session_id),
                              consistent=True)
        return codecs.session(raw) if raw else None

    def find_key(self, session_id: str) -> SessionKey | None:
        """GSI1 lookup by session id alone (eventually consistent; callers re-read the item)."""
        found, _ = self._table.query_page(f"{keys.GSI1_PK} = :p", {":p": keys.session_gsi1pk(session_id)},
                                          index=keys.GSI1, limit=1)
        for r in found:
            tenant, user_id = keys.user_of(r["pk"])
            return SessionKey(tenant, user_id, session_id)
        return None

    def of_user(self, tenant_id: str, user_id: str) -> list[Session]:
        """Every session of a user: Query ``U#<tid>#<uid>`` begins_with ``S#``, consistent, so
        nothing just created is missed (revoke all, scope revocation, GET /auth/sessions)."""
        return [codecs.session(r)
                for r in self._table.query(keys.user_pk(tenant_id, user_id), keys.SESSIONS, consistent=True)]

    def read_refresh(self, key: SessionKey) -> tuple[Session, str | None] | None:
        """The session (consistent) and its current refresh-token hash."""
        raw = self._table.get(keys.user_pk(key.tenant, key.user_id), keys.session_sk(key.session_id),
                              consistent=True)
        if raw is None:
            return None
        return codecs.session(raw), raw.get("rt_hash")

    def rotated_hash(self, key: SessionKey, gen: int) -> str | None:
        """The hash of the session's refresh token of generation ``gen``, if it was rotated:
        ``U#<tid>#<uid>`` / ``RT#<sid>#<gen>`` (one per rotation, TTL'd with the session), or a
        slot of a session made before those items (``u<gen % 32>``: only the last 32)."""
        pk = keys.user_pk(key.tenant, key.user_id)
        found = self._table.get(pk, keys.rotated_sk(key.session_id, gen), consistent=True)
        if found is not None:
            return str(found["hash"])
        legacy = self._table.get(pk, keys.session_sk(key.session_id), consistent=True)
        slot = legacy.get(f"u{gen % REFRESH_SLOTS}") if legacy else None
        return str(slot) if slot and legacy and gen >= int(legacy.get("refresh_gen", 0)) - REFRESH_SLOTS else None

    def rotate_refresh(
        self, key: SessionKey, *, gen: int, presented_hash: str, new_hash: str, now: int, idle_until: int,
        expires_at: int, event: AuditEvent, event_ttl: int, operator_role: str | None = None,
    ) -> None:
        """Rotate the refresh token and record the ``refresh`` event, in one transaction (see
        :func:`switchboard.store.transactions.rotate_refresh`)."""
        transactions.rotate_refresh(self._table, key, gen=gen, presented_hash=presented_hash, new_hash=new_hash,
                                    now=now, idle_until=idle_until, expires_at=expires_at, event=event,
                                    event_ttl=event_ttl, operator_role=operator_role)

    def revoke(self, sessions: Iterable[SessionKey], *, reason: str, now: int) -> None:
        """Mark sessions revoked, in transactions of up to 100 (all of a user's at once)."""
        found = list(sessions)
        self._update_each(
            found,
            "SET #st = :revoked, revoked_at = :now, revoked_reason = :why REMOVE rt_hash",
            {"#st": "status"},
            {":revoked": "revoked", ":now": now, ":why": reason},
        )
        if found:
            count("SessionsRevoked", len(found))  # every revocation passes here, whatever its reason

    def revoke_scopes(self, sessions: Iterable[SessionKey], scopes: frozenset[str]) -> None:
        """Remove scopes from each session's current set (DELETE on a string set)."""
        self._update_each(sessions, "DELETE scopes :gone", {}, {":gone": set(scopes)})

    def _update_each(self, found: Iterable[SessionKey], expression: str, names: dict[str, str],
                     values: dict[str, Any]) -> None:
        updates = [self._table.update_item(keys.user_pk(k.tenant, k.user_id), keys.session_sk(k.session_id),
                                           expression, values, condition="attribute_exists(pk)", names=names or None)
                   for k in found]
        self._table.transact_in_chunks(updates, missing="session not found")

