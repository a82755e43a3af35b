"""The writes that span kinds of record, all in one place.

Each is one TransactWriteItems, so what it writes commits together or not at all, and each
checks, in that same transaction, the other record its write depends on:

* :func:`open_session` - a session, the ``sign_in`` audit event and (staff) the operator's
  standing;
* :func:`rotate_refresh` - the session, the ``refresh`` event, the rotated hash and (staff)
  the operator's standing;
* :func:`record_connection` - the connection, its entry under its user, staff presence, and
  a check of the session it stands on;
* :func:`create_channel`, :func:`assign_channel`, :func:`requeue_channel`,
  :func:`close_channel` - a channel with its memberships, assignments, the visitor's
  open-support pointer, and the staff load that assignment reads.

The record modules (:mod:`~switchboard.store.sessions`, :mod:`~switchboard.store.connections`,
:mod:`~switchboard.store.channels`) expose these as their methods and call in here; the
transaction items of one record that a transaction of another needs (a ConditionCheck of an
operator or a session, a load update, an assignment) are built here too, so that this module
depends on no record module and no record module on another.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from switchboard.errors import (
    AssigneeUnavailable,
    Conflict,
    RotationRefused,
    SessionRevoked,
    StandingChanged,
    Unavailable,
)
from switchboard.models import AuditEvent, Channel, Connection, Operator, OutboundEvent, Session, SessionKey
from switchboard.policy import HANDLES_CHATS
from switchboard.store import codecs, keys
from switchboard.store.dynamo import UNAVAILABLE, Cancelled, Table
from switchboard.store.events import event_item as outbound_item

__all__ = [
    "assign_channel", "close_channel", "create_channel", "open_session", "record_connection", "requeue_channel",
    "rotate_refresh",
]


# -- items of one kind that transactions of another need -------------------------------------------
def standing_check(table: Table, tenant: str, user_id: str, role: str, password_hash: str | None = None,
                   totp_enabled: bool | None = None, identity: str | None = None) -> dict[str, Any]:
    """A transaction item checking that an operator still exists, is not blocked and has
    ``role`` (and, given, ``password_hash`` and the second factor on or off): a session is
    only opened or renewed for the operator as they are, whatever an admin, a password
    change or turning MFA on or off did meanwhile."""
    condition = "attribute_exists(pk) AND blocked = :no AND #role = :role"
    values: dict[str, Any] = {":no": False, ":role": role}
    if password_hash is not None:
        condition += " AND password_hash = :hash"
        values[":hash"] = password_hash
    if totp_enabled is not None:
        condition += (" AND totp_enabled = :mfa" if totp_enabled else
                      " AND (attribute_not_exists(totp_enabled) OR totp_enabled = :mfa)")
        values[":mfa"] = totp_enabled
    names = {"#role": "role"}
    if identity is not None:  # a federated sign-in: the identity it used is still linked
        condition += " AND attribute_exists(identities.#ident)"
        names["#ident"] = identity
    return table.check_item(keys.tenant_pk(tenant), keys.operator_sk(user_id), condition, values, names=names)


def session_check(table: Table, c: Connection, now: int) -> dict[str, Any]:
    """ConditionCheck: the connection's session is live and holds every scope the connection has."""
    condition = "#st = :live AND expires_at > :now AND idle_expires_at > :now"
    values: dict[str, Any] = {":live": "live", ":now": now}
    for i, scope in enumerate(sorted(c.scopes)):
        condition += f" AND contains(scopes, :s{i})"
        values[f":s{i}"] = scope
    return table.check_item(keys.user_pk(c.tenant, c.user_id), keys.session_sk(c.session_id), condition, values,
                            names={"#st": "status"}, return_old=True)


def load_update(table: Table, tenant: str, operator_id: str, delta: int, now_ms: int,
                available: bool = False) -> dict[str, Any]:
    """The staff load item (``T#<tid>#OPS`` / ``OP#<uid>``): open assignments up or down by
    ``delta``; an assignment also sets when they were last given one (assignment picks the
    least loaded, then the longest waiting). ``available``: only if they are not away and
    under their ``max_chats`` (a handover, an auto-assignment: checked in the same
    transaction, so two at once cannot take an operator past their cap)."""
    expression = "ADD #load :d SET user_id = :u"
    values: dict[str, Any] = {":d": delta, ":u": operator_id}
    if delta > 0:
        expression += ", last_assigned_at = :now"
        values[":now"] = now_ms
    condition = None
    if available:
        condition = ("(attribute_not_exists(away) OR away = :no) AND (attribute_not_exists(max_chats) "
                     "OR attribute_not_exists(#load) OR #load < max_chats)")
        values[":no"] = False
    return table.update_item(keys.staff_pk(tenant), keys.load_sk(operator_id), expression, values,
                             names={"#load": "load"}, condition=condition)


def _assignment_put(table: Table, ch: Channel, operator_id: str) -> dict[str, Any]:
    return table.put_item(codecs.assignment_item(ch, operator_id))


def _assignment_delete(table: Table, ch: Channel, operator_id: str) -> dict[str, Any]:
    return table.delete_item(keys.user_pk(ch.tenant, operator_id), keys.assignment_sk(ch.id))


# -- sessions -------------------------------------------------------------------------------------
def open_session(table: Table, s: Session, refresh_hash: str, *, event: AuditEvent, event_ttl: int,
                 operator: Operator | None = None, identity: str | None = None) -> None:
    """The session item and the audit event of the sign-in that opened it, in one
    transaction: one round trip, and no session exists without its ``sign_in`` event.

    For an operator's sign-in, the same transaction checks that the operator is still as
    read (not removed or blocked, same role, password hash and second factor on or off - or,
    with ``identity``, that identity still linked): an
    admin's block, a password change or MFA turned on that lands during the sign-in's argon2
    check either comes first and refuses it (:class:`StandingChanged`), or comes after and
    finds the session to end."""
    item = codecs.session_item(s)
    item["rt_hash"] = refresh_hash
    items: list[Any] = [
        table.put_item(item, condition="attribute_not_exists(pk)"),
        table.put_item(codecs.event_item(event, event_ttl)),
    ]
    if operator is not None and identity is not None:
        # signed in through a linked identity (SSO, Cognito, Auth0): the person is as read and
        # the identity still theirs; the provider owns the credentials and the second factor
        items.append(standing_check(table, operator.tenant, operator.id, operator.role, identity=identity))
    elif operator is not None:
        items.append(standing_check(table, operator.tenant, operator.id, operator.role,
                                    operator.password_hash or "-", totp_enabled=operator.totp_enabled))
    try:
        # the SDK retries a transaction that timed out; the token makes a retry of one
        # that did commit succeed again instead of failing its own condition
        table.write_transaction(items, token=s.id[:36])
    except Cancelled as exc:
        if exc.failed(2):
            raise StandingChanged() from exc
        if exc.failed(0):
            raise Conflict("session id collision") from exc
        raise Unavailable(UNAVAILABLE) from exc  # throttled, a conflicting transaction...


def rotate_refresh(
    table: Table, key: SessionKey, *, gen: int, presented_hash: str, new_hash: str, now: int, idle_until: int,
    expires_at: int, event: AuditEvent, event_ttl: int, operator_role: str | None = None,
) -> None:
    """Rotate the refresh token and record the ``refresh`` event, in one transaction.

    Succeeds only if the presented hash is the session's current one, for the
    generation the token names, and the session is live. The rotated hash is kept as its
    own item (``RT#<sid>#<gen>``, until the session's end) so that a later replay of it,
    however many rotations later, is recognised as reuse (theft) rather than as a random
    guess; the session item stays small. On failure the item as it was comes back in the
    cancellation reason (ReturnValuesOnConditionCheckFailure): :class:`RotationRefused`.
    The new hash is the idempotency token: the SDK's retry of a transaction that did
    commit succeeds again instead of looking like reuse of the token it just rotated.
    With ``operator_role`` (an operator's session), the same transaction checks that the
    operator still exists, is not blocked and has that role (:class:`StandingChanged`).
    """
    pk = keys.user_pk(key.tenant, key.user_id)
    standing: list[Any] = [standing_check(table, key.tenant, key.user_id, operator_role)] if operator_role else []
    items: list[Any] = [
        table.update_item(
            pk, keys.session_sk(key.session_id),
            "SET rt_hash = :new, refresh_gen = :next, last_used_at = :now, idle_expires_at = :idle",
            {":new": new_hash, ":old": presented_hash, ":gen": gen, ":next": gen + 1, ":now": now,
             ":idle": idle_until, ":live": "live"},
            condition="rt_hash = :old AND refresh_gen = :gen AND #st = :live "
                      "AND expires_at > :now AND idle_expires_at > :now",
            names={"#st": "status"}, return_old=True),
        table.put_item(codecs.event_item(event, event_ttl)),
        table.put_item({"pk": pk, "sk": keys.rotated_sk(key.session_id, gen), "hash": presented_hash,
                        "ttl": expires_at + 86400}),
        *standing,
    ]
    try:
        table.write_transaction(items, token=new_hash[:36])
    except Cancelled as exc:
        if exc.failed(0):
            old = exc.item(0)
            raise RotationRefused(codecs.session(old) if old else None) from exc
        if standing and exc.failed(3):
            raise StandingChanged() from exc
        raise Unavailable(UNAVAILABLE) from exc  # throttled, a conflicting transaction...


# -- connections ------------------------------------------------------------------------------------
def record_connection(table: Table, c: Connection, *, operator: bool, now: int) -> Connection:
    """Record a connection, in one transaction that also checks its session.

    Writes the connection, its entry under its user (revocation finds it there; it says
    whether the connection may read, for fan-out) and, for staff holding
    :data:`~switchboard.policy.HANDLES_CHATS`, a presence item; and checks - atomically with
    those writes - that the session is still live and still holds every scope the connection
    claims. A revocation either commits first (this check fails) or after (its Query of the
    user's connections sees this one), so no connection slips past a revocation between
    ``$connect``'s authorizer and this write. If only scopes were taken meanwhile, the
    connection is recorded with what is left. Raises :class:`SessionRevoked` if the session
    is no longer live.
    """
    for _ in range(3):
        items: list[Any] = [
            table.put_item(codecs.connection_item(c)),
            table.put_item({"pk": keys.user_pk(c.tenant, c.user_id), "sk": keys.user_connection_sk(c.id),
                            "connection_id": c.id, "session_id": c.session_id, "reads": "chat:read" in c.scopes,
                            "ttl": c.expires_at}),
            session_check(table, c, now),
        ]
        if operator and c.scopes >= HANDLES_CHATS:
            items.append(table.put_item({"pk": keys.staff_pk(c.tenant), "sk": keys.presence_sk(c.user_id, c.id),
                                         "user_id": c.user_id, "role": c.role, "name": c.name,
                                         "connection_id": c.id, "expires_at": c.expires_at, "ttl": c.expires_at}))
        try:
            table.write_transaction(items)
            return c
        except Cancelled as exc:
            if not exc.failed(2):
                raise Unavailable(UNAVAILABLE) from exc
            old = exc.item(2)
            session = codecs.session(old) if old else None
            if session is None or not session.is_live(now):
                raise SessionRevoked() from exc
            c = replace(c, scopes=c.scopes & session.scopes)  # scopes revoked meanwhile: keep the rest
    raise Unavailable(UNAVAILABLE)


# -- channels ---------------------------------------------------------------------------------------
def create_channel(table: Table, ch: Channel, *, support_pointer: bool, now_ms: int,
                   events: tuple[OutboundEvent, ...] = ()) -> None:
    """Channel, memberships, the visitor's open-support pointer and the assignee's
    assignment and load, atomically. A second concurrent support.open of the same
    visitor fails on the pointer: Conflict. ``events``: outbound events put in the same
    transaction (:mod:`switchboard.store.events`).

    A channel born assigned carries the same condition as every other automatic assignment
    (:func:`load_update` with ``available``): its assignee is not away and under their
    ``max_chats`` when it commits, not only when presence was read - ten visitors opening at
    once cannot take one operator past their cap. When that condition fails, nothing is
    written and :class:`AssigneeUnavailable` says so (the caller picks again or queues). A
    transaction cancelled for a concurrent one on the same items is tried again (3 in all)."""
    items: list[Any] = [table.put_item(codecs.channel_item(ch), condition="attribute_not_exists(pk)")]
    items += [table.put_item(codecs.membership_item(ch, m)) for m in ch.members]
    if support_pointer and ch.visitor:
        items.append(table.put_item({"pk": keys.user_pk(ch.tenant, ch.visitor), "sk": keys.SUPPORT,
                                     "channel_id": ch.id}, condition="attribute_not_exists(pk)"))
    load_at = None
    if ch.assignee and ch.type == "support" and ch.status == "open":
        load_at = len(items) + 1
        items += [_assignment_put(table, ch, ch.assignee),
                  load_update(table, ch.tenant, ch.assignee, 1, now_ms, available=True)]
    items += [table.put_item(outbound_item(e)) for e in events]
    for attempt in range(3):
        try:
            table.write_transaction(items)
            return
        except Cancelled as exc:
            if load_at is not None and exc.failed(load_at) and exc.codes.count("ConditionalCheckFailed") == 1:
                raise AssigneeUnavailable() from exc  # only the assignee refused: the visitor's pointer held
            if exc.conditional:
                raise Conflict("the channel already exists") from exc
            # TransactionConflict: another transaction held one of these items at that moment (many
            # opens at once to one operator's load item); DynamoDB asks us to retry, botocore does not
            if "TransactionConflict" in exc.codes and attempt < 2:
                continue
            raise Unavailable(UNAVAILABLE) from exc  # throttled...
    raise Unavailable(UNAVAILABLE)


def assign_channel(table: Table, ch: Channel, operator_id: str, *, now_ms: int,
                   operator_name: str | None = None, available: bool = False,
                   events: tuple[OutboundEvent, ...] = ()) -> Channel:
    """Set the assignee if the channel is still as ``ch`` saw it (status and assignee):
    two operators claiming one queued channel - exactly one wins, the other gets Conflict.
    A closed channel is never assigned: that would reopen it (its condition reads "as seen")."""
    if ch.status == "closed":
        raise Conflict("the channel is closed")
    members = tuple(dict.fromkeys([*ch.members, operator_id]))
    new = replace(ch, status="open", assignee=operator_id, members=members, assignee_name=operator_name,
                  assigned_at=ch.assigned_at or now_ms)
    condition = "#st = :st AND " + ("assignee = :old" if ch.assignee else "attribute_not_exists(assignee)")
    values: dict[str, Any] = {":st": ch.status, ":open": "open", ":a": operator_id, ":m": list(members),
                              ":g2": codecs.status_index_of(new), ":an": operator_name or "", ":now": now_ms,
                              ":d1": keys.due_index(), ":d2": keys.activity_sort(now_ms, ch.id)}
    if ch.assignee:
        values[":old"] = ch.assignee
    items: list[Any] = [table.update_item(
        keys.channel_pk(ch.id), keys.CHANNEL,
        # assigned_at: the first assignment's time only (the end of the queue wait, for reports)
        f"SET #st = :open, assignee = :a, members = :m, {keys.GSI2_PK} = :g2, assignee_name = :an, "
        # the new assignee has N minutes to answer (the support sweep): their clock starts now
        f"assigned_at = if_not_exists(assigned_at, :now), {keys.GSI1_PK} = :d1, {keys.GSI1_SK} = :d2", values,
        condition=condition, names={"#st": "status"})]
    items.append(table.put_item(codecs.membership_item(new, operator_id)))
    items += [_assignment_put(table, new, operator_id),
              load_update(table, ch.tenant, operator_id, 1, now_ms, available=available)]
    if ch.assignee and ch.status == "open":
        items += [_assignment_delete(table, ch, ch.assignee), load_update(table, ch.tenant, ch.assignee, -1, now_ms)]
    items += [table.put_item(outbound_item(e)) for e in events]
    table.transact(items, conflict="the channel changed meanwhile")
    return new


def requeue_channel(table: Table, ch: Channel, *, now_ms: int) -> Channel:
    """The assignee went away: back to the queue (they stay a member, for the history)."""
    if not ch.assignee:
        raise Conflict("the channel has no assignee")
    new = replace(ch, status="queued", assignee=None, assignee_name=None)
    items: list[Any] = [
        table.update_item(keys.channel_pk(ch.id), keys.CHANNEL,
                          f"SET #st = :q, {keys.GSI2_PK} = :g2, {keys.GSI1_PK} = :d1, {keys.GSI1_SK} = :d2 "
                          "REMOVE assignee, assignee_name",
                          {":q": "queued", ":open": "open", ":a": ch.assignee, ":g2": codecs.status_index_of(new),
                           ":d1": keys.due_index(), ":d2": keys.activity_sort(now_ms, ch.id)},
                          condition="#st = :open AND assignee = :a", names={"#st": "status"}),
        _assignment_delete(table, ch, ch.assignee), load_update(table, ch.tenant, ch.assignee, -1, now_ms)]
    table.transact(items, conflict="the channel changed meanwhile")
    return new


def close_channel(table: Table, ch: Channel, *, now_ms: int, events: tuple[OutboundEvent, ...] = ()) -> Channel:
    """Status ``closed`` (conditional on not being closed already), out of the status lists,
    the visitor's open-support pointer gone, the assignee's load down."""
    new = replace(ch, status="closed", closed_at=now_ms)
    condition = "#st = :was" + (" AND assignee = :a" if ch.assignee else " AND attribute_not_exists(assignee)")
    values: dict[str, Any] = {":closed": "closed", ":now": now_ms, ":was": ch.status}
    if ch.assignee:
        values[":a"] = ch.assignee
    if ch.type == "support":
        # out of the queued / open lists, into the tenant's closed list, newest close first
        values.update({":g2": keys.closed_index(ch.tenant), ":s2": keys.activity_sort(now_ms, ch.id)})
        expression = (f"SET #st = :closed, closed_at = :now, {keys.GSI2_PK} = :g2, {keys.GSI2_SK} = :s2 "
                      f"REMOVE {keys.GSI1_PK}, {keys.GSI1_SK}")  # waits for nobody now
    else:
        expression = f"SET #st = :closed, closed_at = :now REMOVE {keys.GSI2_PK}"
    items: list[Any] = [table.update_item(keys.channel_pk(ch.id), keys.CHANNEL, expression, values,
                                          condition=condition, names={"#st": "status"})]
    if ch.visitor and ch.type == "support":
        items.append(table.delete_item(keys.user_pk(ch.tenant, ch.visitor), keys.SUPPORT))
    if ch.assignee and ch.type == "support" and ch.status == "open":
        items += [_assignment_delete(table, ch, ch.assignee), load_update(table, ch.tenant, ch.assignee, -1, now_ms)]
    items += [table.put_item(outbound_item(e)) for e in events]
    table.transact(items, conflict="the channel changed meanwhile")
    return new
