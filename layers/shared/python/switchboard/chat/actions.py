"""Support chat's actions: channels, assignment, messages, receipts (contract section 4).

Every action takes the caller's :class:`~switchboard.models.Connection` (read fresh, so its
scopes are current), checks :func:`switchboard.chat.policy.authorize` once, does its storage
work, then tells whoever must hear of it. Nothing here scans: fan-out reads the channel's
watchers, assignment reads the tenant's staff presence.

An action returns a :class:`Reply`: its ``data`` is the reply to the caller; ``then``, when
set, is work to do *after* the caller has its reply (``message.send``: stored, acknowledged,
then fanned out - the sender does not wait for the watchers).

Actions take plain keyword arguments, never a frame: :mod:`switchboard.edge.actions` maps each
action's validated params onto them. Transcripts (:mod:`switchboard.chat.transcripts`) and
attachments (:mod:`switchboard.chat.attachments`) live apart, with the S3 client behind
:class:`switchboard.chat.s3.ChatFiles`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from msgspec.structs import replace

from switchboard.chat import attachments as _attachments  # the actions' own parameter is `attachments`
from switchboard.chat import followup, transcripts, visitors
from switchboard.chat.context import ChatContext, Reply
from switchboard.chat.policy import authorize, may_read
from switchboard.chat.realtime import MAX_FRAME_BYTES, event_frame, size_of
from switchboard.errors import AssigneeUnavailable, Conflict, Forbidden, NotFound, ValidationFailed
from switchboard.events.outbound import conversation_event, message_event
from switchboard.ids import now_ms, time_ordered_id
from switchboard.models import OPERATOR_ID, Channel, Connection, Message, OperatorPresence, OutboundEvent
from switchboard.observability import count, logger, timing
from switchboard.policy import STAFF_ROLES

__all__ = [
    "announce", "attachment_open", "attachment_presign", "channel_assign", "channel_close", "channel_create",
    "channel_history", "channel_query", "channel_watch", "hand_back_if_away", "handle_disconnect", "message_delete",
    "message_send", "pick_operator", "read", "support_open", "typing", "view",
]
__all__ += ["assigned", "channel_label", "normalise_label", "presence_set", "reassign", "take_back"]  # issue 17

WATCH_MESSAGES = 50
#: what a reply's envelope (type, rid, ok, keys, a cursor) may take besides its list
ENVELOPE_BYTES = 1024
#: the largest stored message (its JSON): a message.new event or a send reply must fit one frame
MAX_MESSAGE_BYTES = MAX_FRAME_BYTES - ENVELOPE_BYTES
# support.open: how many operators a new conversation may be offered to when the one picked
# went away or filled up before the creation committed; then it is created queued
MAX_PICKS = 3


def _now() -> int:
    return int(time.time())


# -- helpers -----------------------------------------------------------------------------
def _channel(ctx: ChatContext, conn: Connection, channel_id: str) -> Channel:
    """The channel, if it is of the caller's tenant (policy then decides what they see)."""
    ch = ctx.store.channels.get(channel_id)
    if ch is None or ch.tenant != conn.tenant:
        raise NotFound("no such channel")
    return ch


def _watchers(ctx: ChatContext, ch: Channel, *, exclude: str | None = None, staff_only: bool = False) -> list[str]:
    """Connections watching ``ch`` that may still read it (an operator who watched it queued
    and saw a colleague claim it no longer hears of it); ``staff_only`` (a note, or its
    deletion): staff connections only - the visitor's are skipped by role, whatever they watch."""
    return [w.connection_id for w in ctx.store.watchers.of_channel(ch.id, now=_now())
            if w.connection_id != exclude and may_read(ch.tenant, w.user_id, w.role, ch)
            and (not staff_only or w.role in STAFF_ROLES)]


def _user_connections(ctx: ChatContext, tenant: str, user_ids: Iterable[str]) -> list[str]:
    """The connections of these users that may still read (a revoked ``chat:read`` is told nothing)."""
    return [cid for uid in dict.fromkeys(user_ids)
            for cid, _ in ctx.store.connections.of_user(tenant, uid, readers_only=True)]


def _announce(ctx: ChatContext, ch: Channel, *, left_queue: bool = False, caller: str | None = None,
              presence: list[OperatorPresence] | None = None, staff_only: bool = False) -> None:
    """``channel.updated`` to who may read the channel as it is now: its watchers and its
    members' connections that still may, and for a support channel the present staff who may
    (admins: every one; operators: a queued one - the queue view - or one they are members
    of). When it has just ``left_queue`` as staff saw it (claimed, assigned from it, closed),
    every present staff member is told, so that their queue view drops it: they saw it a
    moment ago. Nobody else hears of it: an open conversation's subject and people stay with
    those who may read it. Not to the ``caller``'s connection: its reply says it."""
    # the visitor's connections get the visitor's view, everyone else the staff's
    # (Channel.to_json: staff-only fields never reach a visitor); the watchers are read once
    watching = [w for w in ctx.store.watchers.of_channel(ch.id, now=_now())
                if may_read(ch.tenant, w.user_id, w.role, ch)]
    visitor_targets = {w.connection_id for w in watching if w.user_id == ch.visitor or w.role == "visitor"}
    if ch.visitor:
        visitor_targets.update(_user_connections(ctx, ch.tenant, [ch.visitor]))
    targets = [w.connection_id for w in watching] + _user_connections(
        ctx, ch.tenant, [m for m in ch.members if m != ch.visitor])
    if ch.type == "support":
        staff = presence if presence is not None else ctx.store.presence.of_tenant(ch.tenant, now=_now())
        # who hears of it is who could read it as it was: the "closed" relation lets an operator
        # read a past conversation when asked, it does not announce every close to them
        seen = replace(ch, status="open") if ch.status == "closed" else ch
        targets += [cid for p in staff if left_queue or may_read(ch.tenant, p.user_id, p.role, seen)
                    for cid in p.connections]
    staff_targets = [t for t in dict.fromkeys(targets) if t != caller and t not in visitor_targets]
    ctx.notifier.send(staff_targets, event_frame("channel.updated", {"channel": ch.to_json(staff=True)}))
    if not staff_only and visitor_targets - {caller}:
        ctx.notifier.send([t for t in visitor_targets if t != caller],
                          event_frame("channel.updated", {"channel": ch.to_json()}))


def announce(ctx: ChatContext, ch: Channel, *, caller: str | None = None) -> None:
    """``channel.updated`` to who may read the channel (the visitor's side of a conversation
    changed: :mod:`switchboard.chat.visitors`)."""
    _announce(ctx, ch, caller=caller)


def view(ch: Channel, conn: Connection) -> dict[str, Any]:
    """The channel as the caller may see it: staff the staff's view, a visitor their own."""
    return ch.to_json(staff=conn.role in STAFF_ROLES)


def pick_operator(presence: list[OperatorPresence], *, besides: str | None = None) -> OperatorPresence | None:
    """The least-loaded available operator (online, not away, under their ``max_chats``; not
    ``besides``); ties go to whoever was assigned least recently (round-robin), then by id so
    the choice is deterministic."""
    online = [p for p in presence if p.available and p.user_id != besides]
    return min(online, key=lambda p: (p.load, p.last_assigned_at, p.user_id)) if online else None


def _fit(items: list[dict[str, Any]], budget: int) -> int:
    """How many of ``items`` (in order) fit in ``budget`` bytes of a frame."""
    used = 0
    for n, item in enumerate(items):
        used += size_of(item) + 1
        if used > budget:
            return n
    return len(items)


# -- support channels and assignment ----------------------------------------------------
def support_open(ctx: ChatContext, conn: Connection, *, subject: str | None = None,
                 context: dict[str, Any] | None = None, prechat: dict[str, Any] | None = None,
                 email: str | None = None) -> Reply:
    """Open the visitor's support channel, or return the one already open (assigning it if
    it is still queued and an operator has come online).

    Contract section 8: ``context`` (the page), ``prechat`` (checked against the tenant's
    fields; required ones only for a new conversation) and ``email`` are stored on the
    channel - on the one already open too, where given (the page changed, an address added);
    the visitor's website attributes are copied onto a new one."""
    authorize(conn, "open_support")
    existing = ctx.store.channels.open_support_id(conn.tenant, conn.user_id)
    found = ctx.store.channels.get(existing) if existing else None
    is_new = found is None or found.status == "closed"
    presence_now: list[OperatorPresence] | None = None

    def anyone_online() -> bool:
        nonlocal presence_now
        presence_now = ctx.store.presence.of_tenant(conn.tenant, now=_now())
        return any(p.answering for p in presence_now)  # away staff take no new chat

    answers = visitors.check_open(ctx, conn, prechat=prechat, email=email, new=is_new, anyone_online=anyone_online)
    fields = visitors.fields_of(context=context, prechat=answers, email=email)
    if found is not None and not is_new and fields:
        if found.prechat and "prechat" in fields:
            fields["prechat"] = {**found.prechat, **fields["prechat"]}
        found = ctx.store.channels.set_visitor_fields(found, fields) or ctx.store.channels.get(found.id) or found
        _announce(ctx, found, caller=conn.id)
    in_queue = found is not None and found.status == "queued"  # as staff have seen it
    if found is not None and found.status == "open" and found.assignee:
        found = _requeue_if_assignee_gone(ctx, found)
    if found is not None and found.status == "queued":
        found = _try_assign(ctx, found, from_queue=in_queue)
        if found.status == "queued" and not in_queue:
            _announce(ctx, found)  # handed back, and nobody to take it: it joins the queue
    if found is not None and found.status != "closed":
        return Reply({"channel": view(found, conn)})
    now = now_ms()
    presence = presence_now if presence_now is not None else ctx.store.presence.of_tenant(conn.tenant, now=now // 1000)
    attributes = ctx.store.visitors.attributes(conn.tenant, conn.user_id)
    refused: set[str] = set()  # picked, then refused by the creation's own condition (away or full by then)
    for attempt in range(MAX_PICKS + 1):
        # the last try is queued: a conversation is never lost nor an error to the visitor
        chosen = pick_operator([p for p in presence if p.user_id not in refused]) if attempt < MAX_PICKS else None
        members = (conn.user_id, chosen.user_id) if chosen else (conn.user_id,)
        ch = Channel(id=time_ordered_id(now), tenant=conn.tenant, type="support",
                     status="open" if chosen else "queued", subject=subject, members=members,
                     assignee=chosen.user_id if chosen else None, visitor=conn.user_id, created_at=now,
                     last_message_at=now, assignee_name=_staff_name(ctx, conn.tenant, chosen) if chosen else None,
                     assigned_at=now if chosen else None, context=fields.get("context"),
                     prechat=fields.get("prechat"), visitor_email=fields.get("visitor_email"),
                     attributes=attributes.values if attributes else None,
                     attributes_signed=attributes.signed if attributes else False)
        # its outbound events in the same transaction (switchboard.events.outbound)
        created: tuple[OutboundEvent, ...] = (conversation_event("conversation.created", ch, at_ms=now),)
        if chosen:
            created += (conversation_event("conversation.assigned", ch, at_ms=now),)
        try:
            ctx.store.channels.create(ch, support_pointer=True, now_ms=now, events=created)
            break
        except AssigneeUnavailable:
            # another open took their last slot, or they turned away, since presence was read:
            # read it again (their load and everyone else's as they are now) and pick another
            refused.add(ch.assignee or "")  # only a channel born assigned is refused so
            logger.info("assignment raced: picking again", extra={"operator_id": ch.assignee})
            presence = ctx.store.presence.of_tenant(conn.tenant, now=_now())
        except Conflict:
            # a concurrent support.open of the same visitor won: answer with its channel
            winner = ctx.store.channels.open_support_id(conn.tenant, conn.user_id)
            won = ctx.store.channels.get(winner) if winner else None
            if won is None:
                raise
            return Reply({"channel": view(won, conn)})
    _announce(ctx, ch, caller=conn.id, presence=presence)
    if chosen:
        timing("QueueWait", 0)  # assigned at once: the reports count it as 0 too
    return Reply({"channel": view(ch, conn)})


def _staff_name(ctx: ChatContext, tenant: str, who: OperatorPresence) -> str | None:
    """An assignee's display name: their operator record's (one GetItem, only when a channel
    is assigned), or for staff signed in through a post-login hook, who have no record, the
    name their connection carries."""
    if not OPERATOR_ID.match(who.user_id):
        return who.name or None
    op = ctx.store.staff.get(tenant, who.user_id)
    return op.name if op is not None and op.name else None


class _Staff:
    """Who may be given a support channel or put in a team channel: an operator or admin of
    the tenant. One with an operator record (password sign-in) by that record - not removed,
    not blocked, even while offline; staff signed in through a post-login hook (Auth0,
    Cognito), who have no record, while they have a staff connection open (the tenant's IdP
    vouched for their role, and their session is live). The tenant's presence is read once."""

    def __init__(self, ctx: ChatContext, tenant: str) -> None:
        self.ctx, self.tenant = ctx, tenant
        self._presence: dict[str, OperatorPresence] | None = None

    def name_of(self, user_id: str) -> str | None:
        """Their display name; :class:`NotFound` if they are no staff member one may name."""
        if OPERATOR_ID.match(user_id):
            op = self.ctx.store.staff.get(self.tenant, user_id)
            if op is None or op.blocked:
                raise NotFound("no such operator in this tenant")
            return op.name or None
        if self._presence is None:
            self._presence = {p.user_id: p for p in self.ctx.store.presence.of_tenant(self.tenant, now=_now())}
        here = self._presence.get(user_id)
        if here is None or not here.online:
            raise NotFound("no such operator in this tenant")
        return here.name

    def presence_of(self, user_id: str) -> OperatorPresence | None:
        """Their presence and load (one Query of the tenant's staff, made once)."""
        if self._presence is None:
            self._presence = {p.user_id: p for p in self.ctx.store.presence.of_tenant(self.tenant, now=_now())}
        return self._presence.get(user_id)


def _requeue_if_assignee_gone(ctx: ChatContext, ch: Channel) -> Channel:
    """An assignee with no live connection left (their ``$disconnect`` was lost and their
    records expired) hands the channel back when the visitor comes back to it."""
    presence = {p.user_id: p for p in ctx.store.presence.of_tenant(ch.tenant, now=_now())}
    mine = presence.get(ch.assignee or "")
    if mine is not None and mine.online:
        return ch
    try:
        queued = ctx.store.channels.requeue(ch, now_ms=now_ms())
    except Conflict:
        return ctx.store.channels.get(ch.id) or ch
    logger.info("channel requeued: its assignee is gone", extra={"channel_id": ch.id})
    return queued


def _try_assign(ctx: ChatContext, ch: Channel, *, from_queue: bool, besides: str | None = None) -> Channel:
    """Give a queued channel to the least-loaded available operator, if there is one (not
    ``besides``: the one it is being taken from). ``from_queue``: staff have seen it queued
    (not just handed back by its assignee)."""
    chosen = pick_operator(ctx.store.presence.of_tenant(ch.tenant, now=_now()), besides=besides)
    if chosen is None:
        return ch
    try:
        new = _assign(ctx, ch, chosen.user_id, _staff_name(ctx, ch.tenant, chosen), available=True)
    except Conflict:  # claimed or closed meanwhile, or they went away or filled up meanwhile
        return ctx.store.channels.get(ch.id) or ch
    _queue_wait(ch, new)
    assigned(ctx, new, by=None)
    _announce(ctx, new, left_queue=from_queue)
    return new


def _queue_wait(before: Channel, after: Channel) -> None:
    """The queue wait ends at a conversation's first assignment (as the reports count it)."""
    if before.assigned_at is None and after.assigned_at is not None:
        timing("QueueWait", after.assigned_at - before.created_at)


def reassign(ctx: ChatContext, ch: Channel, *, from_queue: bool) -> Channel:
    """The support sweep's door to auto-assignment (:func:`_try_assign`)."""
    return _try_assign(ctx, ch, from_queue=from_queue)


def take_back(ctx: ChatContext, ch: Channel) -> Channel:
    """The support sweep: an assigned chat its operator did not answer in time goes back to
    the queue and on to the next available operator - never the same one - if there is one.
    ``channel.updated`` to the old assignee (still a member), the new one, and the queue's
    viewers when it joins the queue. :class:`Conflict` if it changed meanwhile."""
    previous = ch.assignee
    queued = ctx.store.channels.requeue(ch, now_ms=now_ms())
    logger.info("channel taken back: not answered in time", extra={"channel_id": ch.id})
    moved = _try_assign(ctx, queued, from_queue=False, besides=previous)
    if moved.status == "queued":
        _announce(ctx, moved)
    return moved


def assigned(ctx: ChatContext, ch: Channel, *, by: str | None, previous: str | None = None) -> None:
    """The one seam where a channel's new assignee is known (claim, admin assignment, handover,
    auto-assignment, the sweep): outbound events (issue 19's ``conversation.assigned``) plug in
    here. Logs only today."""
    logger.info("channel assigned", extra={"channel_id": ch.id, "assignee": ch.assignee, "by": by,
                                           "previous": previous})


def _assign(ctx: ChatContext, ch: Channel, operator_id: str, name: str | None, *, available: bool = False) -> Channel:
    """Assign (``available``: only if the operator is not away and under capacity), with its
    ``conversation.assigned`` event in the same transaction."""
    at = now_ms()
    new = replace(ch, status="open", assignee=operator_id, assignee_name=name,
                  members=tuple(dict.fromkeys([*ch.members, operator_id])), assigned_at=ch.assigned_at or at)
    return ctx.store.channels.assign(ch, operator_id, now_ms=at, operator_name=name, available=available,
                                     events=(conversation_event("conversation.assigned", new, at_ms=at),))


def channel_assign(ctx: ChatContext, conn: Connection, *, channel_id: str, operator_id: str | None = None,
                   note: str | None = None) -> Reply:
    """An operator claims a queued channel (for themselves); an admin assigns any support
    channel of the tenant to any operator; the assignee hands their open channel over to a
    colleague (a *handover*, contract section 8).

    Giving a channel to someone else (an admin's assignment, a handover) is refused
    (``conflict``) when they are away or at their ``max_chats`` - checked in the assignment's
    own transaction, so two handovers at once cannot take them past it - and a handover by an
    operator also when they are offline. ``note`` (≤ 500) is stored as a private note of the
    channel, written by the caller. Both the old and the new assignee get ``channel.updated``."""
    ch = _channel(ctx, conn, channel_id)
    authorize(conn, "assign", ch)
    target = operator_id or conn.user_id
    handover = target != conn.user_id
    if handover and conn.role != "admin" and not (ch.assignee == conn.user_id and ch.status == "open"):
        raise Forbidden("operators claim channels for themselves, or hand over their own")
    if note is not None and not handover:
        raise ValidationFailed("a note goes with a handover to someone else")
    if ch.status == "closed":
        raise Conflict("the channel is closed")
    staff = _Staff(ctx, conn.tenant)
    name = staff.name_of(target)
    if ch.assignee == target and ch.status == "open":
        return Reply({"channel": view(ch, conn)})
    if handover:
        _check_available(staff.presence_of(target), operator=conn.role != "admin")
    try:
        new = _assign(ctx, ch, target, name, available=handover)
    except Conflict:
        now = ctx.store.channels.get(ch.id)
        if now is not None and now.status == "open" and now.assignee == target:
            return Reply({"channel": view(now, conn)})  # the same claim, twice at once
        if handover and now is not None and now.status == ch.status and now.assignee == ch.assignee:
            raise Conflict("the operator is away or has as many chats as they may take") from None
        raise Conflict("the channel was claimed or closed meanwhile") from None
    _queue_wait(ch, new)
    assigned(ctx, new, by=conn.user_id, previous=ch.assignee)
    if note is not None:
        _store_note(ctx, conn, new, note)
    _announce(ctx, new, left_queue=ch.status == "queued", caller=conn.id)
    return Reply({"channel": view(new, conn)})


def _check_available(p: OperatorPresence | None, *, operator: bool) -> None:
    """A handover's target must be able to take it: not away, under their cap; and, when an
    operator hands over (not an admin deciding for the team), online."""
    if p is not None and p.away:
        raise Conflict("the operator is away")
    if p is not None and p.max_chats is not None and p.load >= p.max_chats:
        raise Conflict("the operator has as many chats as they may take")
    if operator and (p is None or not p.online):
        raise Conflict("the operator is not online")


def _store_note(ctx: ChatContext, conn: Connection, ch: Channel, text: str) -> None:
    """A handover's note: a private note of the channel, told to its staff watchers only."""
    now = now_ms()
    note = Message(id=time_ordered_id(now), channel_id=ch.id, sender_id=conn.user_id, sender_role=conn.role,
                   sender_name=conn.name, text=text, attachments=(), client_id=f"handover-{time_ordered_id(now)}",
                   created_at=now, internal=True, expires_at=_retention_ttl(ctx, ch.tenant, now))
    # like any note: ``message.internal.created`` for the webhooks that subscribe to staff events
    stored = ctx.store.messages.put(ch, note, events=(message_event(ch, note),))
    ctx.notifier.send(_watchers(ctx, ch, staff_only=True), event_frame("message.new", {"message": stored.to_json()}))


def presence_set(ctx: ChatContext, conn: Connection, *, status: str) -> Reply:
    """``presence.set``: ``away`` staff keep their open chats and get no new ones (auto-assignment
    and handovers skip them); ``online`` takes new chats again (the queue reaches them through
    the next auto-assignment, a claim or the reassignment sweep). Kept on the staff load item,
    so it outlives the connection."""
    authorize(conn, "presence")
    ctx.store.presence.set_away(conn.tenant, conn.user_id, status == "away")
    return Reply({"status": status})


def handle_disconnect(ctx: ChatContext, connection_id: str) -> None:
    """Forget a connection. A staff member whose last connection it was hands their open
    channels back to the queue - and to another online operator if there is one - so that
    no conversation is stranded with someone who is not there."""
    conn = ctx.store.connections.delete(connection_id)
    if conn is None or conn.role not in STAFF_ROLES:
        return
    hand_back_if_away(ctx, conn.tenant, conn.user_id)


def hand_back_if_away(ctx: ChatContext, tenant: str, user_id: str) -> None:
    """A staff member with no present connection left (gone, or no longer holding
    ``chat:read`` and ``chat:write``) hands their open channels back to the queue, and to
    another present operator if there is one."""
    presence = {p.user_id: p for p in ctx.store.presence.of_tenant(tenant, now=_now())}
    mine = presence.get(user_id)
    if mine is not None and mine.online:
        return
    for ch in ctx.store.channels.get_many(ctx.store.channels.assigned_ids(tenant, user_id)):
        if ch.status != "open" or ch.assignee != user_id:
            continue
        try:
            queued = ctx.store.channels.requeue(ch, now_ms=now_ms())
        except Conflict:
            continue
        logger.info("channel requeued", extra={"channel_id": ch.id})
        assigned = _try_assign(ctx, queued, from_queue=False)  # handed straight on: never seen queued
        if assigned.status == "queued":
            _announce(ctx, assigned)  # it joins the queue: every present staff member may read it


# -- listing and reading -------------------------------------------------------------------
def channel_query(ctx: ChatContext, conn: Connection, *, status: str | None = None, visitor: str | None = None,
                  label: str | None = None, assignee: str | None = None, limit: int = 20,
                  cursor: str | None = None) -> Reply:
    """Pages of channels, newest activity first, from GSI2 (never a Scan).

    ``status`` None (``{"member": "me"}``): the caller's channels. ``{"status": "queued"}``: the tenant's queue
    (staff). ``{"status": "open"}``: an admin's view of every open support channel of the
    tenant; an operator's open assignments. Visitors only ever see their own channels.

    Staff's inbox filters (issue 17): ``{"status": "closed"}`` the tenant's closed support
    channels (newest close first); ``{"visitor": id}`` one visitor's support channels (their
    memberships: the visitor's own list, read by staff); ``{"label": l}`` those labelled ``l``;
    ``{"assignee": id}`` an operator's open ones. Each lists only what the caller may read
    (an operator: closed ones, the queue, their own), a page at a time.
    """
    authorize(conn, "query")
    staff_filter = visitor is not None or label is not None or assignee is not None
    if staff_filter or status == "closed":
        # contract section 8's filters are staff's: a visitor using one is told so, rather than
        # handed their own list as if the filter had been applied
        try:
            authorize(conn, "inbox_filter")
        except Forbidden:
            raise Forbidden('the visitor, label, assignee and {"status": "closed"} filters are for staff; '
                            'list your own conversations with {"member": "me"}') from None
    if conn.role == "visitor" or (status is None and not staff_filter):
        # a visitor's {"status": "queued" | "open"} narrows their own list (contract section 4)
        entries, more = ctx.store.channels.query(conn.tenant, member=conn.user_id, limit=limit, cursor=cursor)
    elif visitor is not None:
        entries, more = ctx.store.channels.query(conn.tenant, member=visitor, limit=limit, cursor=cursor)
    elif label is not None:
        label = normalise_label(label)
        entries, more = ctx.store.channels.query(conn.tenant, label=label, limit=limit, cursor=cursor)
    elif assignee is not None:
        entries, more = ctx.store.channels.query(conn.tenant, assignee=assignee, limit=limit, cursor=cursor)
    elif status == "open" and conn.role != "admin":
        entries, more = ctx.store.channels.query(conn.tenant, assignee=conn.user_id, limit=limit, cursor=cursor)
    else:
        entries, more = ctx.store.channels.query(conn.tenant, status=status, limit=limit, cursor=cursor)
    channels = {c.id: c for c in ctx.store.channels.get_many([cid for cid, _ in entries])}
    out: list[dict[str, Any]] = []
    used, last = 0, None
    for cid, resume in entries:
        ch = channels.get(cid)
        # the index lags the table a little: trust the channel item for tenant, status, the rest
        if ch is not None and ch.tenant == conn.tenant and status in (None, ch.status) \
                and _matches(conn, ch, visitor=visitor, label=label, assignee=assignee):
            shown = view(ch, conn)
            size = size_of(shown) + 1
            if used + size > MAX_FRAME_BYTES - ENVELOPE_BYTES:
                more = True  # the rest of this page comes with the next one
                break
            used += size
            out.append(shown)
        last = resume
    return Reply({"channels": out, "cursor": last if more and last else None})


def _matches(conn: Connection, ch: Channel, *, visitor: str | None, label: str | None,
             assignee: str | None) -> bool:
    """Whether a channel an inbox filter's index listed belongs in the caller's page: as the
    channel item says now, and readable by the caller (a filter never widens what one sees)."""
    if visitor is not None and (ch.type != "support" or ch.visitor != visitor):
        return False
    if label is not None and label not in ch.labels:
        return False
    if assignee is not None and (ch.assignee != assignee or ch.status != "open"):
        return False
    return conn.role == "visitor" or may_read(conn.tenant, conn.user_id, conn.role, ch)


#: labels: at most this many on a channel, each at most LABEL_CHARS characters once normalised
MAX_LABELS = 20
LABEL_CHARS = 32


def normalise_label(raw: str) -> str:
    """One spelling per label: Unicode NFKC, case-folded, runs of whitespace as one space, no
    leading or trailing space ("  VIP  customer" -> "vip customer"). Control and format
    characters are refused (they would show as nothing in the inbox); empty or longer than
    :data:`LABEL_CHARS` once normalised is ``validation_error``."""
    import unicodedata

    label = " ".join(unicodedata.normalize("NFKC", raw).casefold().split())
    if not label or len(label) > LABEL_CHARS:
        raise ValidationFailed(f"a label is 1 to {LABEL_CHARS} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in label):
        raise ValidationFailed("a label holds no control characters")
    return label


def channel_label(ctx: ChatContext, conn: Connection, *, channel_id: str, add: Sequence[str] = (),
                  remove: Sequence[str] = ()) -> Reply:
    """``channel.label``: staff add and remove free-form labels (normalised, at most
    :data:`MAX_LABELS`) on a support channel; ``channel.updated`` to staff only (the visitor's
    view has no labels, and hears nothing of them). Removing one not there, adding one there:
    no error. Two editors at once: read again and apply once more."""
    ch = _channel(ctx, conn, channel_id)
    authorize(conn, "label", ch)
    adding = [normalise_label(x) for x in add]
    removing = {normalise_label(x) for x in remove}
    for _ in range(3):
        labels = tuple(dict.fromkeys([*(x for x in ch.labels if x not in removing),
                                      *(x for x in adding if x not in removing)]))
        if len(labels) > MAX_LABELS:
            raise ValidationFailed(f"a conversation has at most {MAX_LABELS} labels")
        if labels == ch.labels:
            return Reply({"channel": view(ch, conn)})
        try:
            ch = ctx.store.channels.set_labels(ch, labels, now_ms=now_ms())
            break
        except Conflict:
            ch = _channel(ctx, conn, channel_id)
    else:
        raise Conflict("the labels are being changed by someone else; try again")
    _announce(ctx, ch, caller=conn.id, staff_only=True)
    return Reply({"channel": view(ch, conn)})


def channel_watch(ctx: ChatContext, conn: Connection, *, channel_id: str) -> Reply:
    """Subscribe this connection to the channel; the channel and its latest messages (as
    many of the latest 50 as fit one frame; ``cursor`` pages further back with history)."""
    ch = _channel(ctx, conn, channel_id)
    authorize(conn, "read", ch)
    ctx.store.watchers.add(ch.id, conn)
    messages, more = ctx.store.messages.page(ch.id, before=None, limit=WATCH_MESSAGES, viewer_role=conn.role)
    shown = view(ch, conn)
    page, cursor = _page(messages, more, MAX_FRAME_BYTES - ENVELOPE_BYTES - size_of(shown))
    return Reply({"channel": shown, "messages": page, "cursor": cursor})


def channel_history(ctx: ChatContext, conn: Connection, *, channel_id: str, before: str | None = None,
                    limit: int = 50) -> Reply:
    """Older messages, oldest first within the page; ``cursor`` (the oldest id) for the next."""
    ch = _channel(ctx, conn, channel_id)
    authorize(conn, "read", ch)
    messages, more = ctx.store.messages.page(ch.id, before=before, limit=limit, viewer_role=conn.role)
    page, cursor = _page(messages, more, MAX_FRAME_BYTES - ENVELOPE_BYTES)
    return Reply({"messages": page, "cursor": cursor})


def _page(messages: list[Message], more: bool, budget: int) -> tuple[list[dict[str, Any]], str | None]:
    """The newest of ``messages`` (oldest first) that fit ``budget``; a cursor if older remain."""
    newest_first = [m.to_json() for m in reversed(messages)]
    n = _fit(newest_first, budget)
    page = list(reversed(newest_first[:n]))
    return page, (page[0]["id"] if page and (more or n < len(messages)) else None)


# -- team channels, closing ----------------------------------------------------------------
def channel_create(ctx: ChatContext, conn: Connection, *, members: list[str], name: str) -> Reply:
    """An internal channel among staff of the tenant (the caller is always a member)."""
    authorize(conn, "create_team")
    members = list(dict.fromkeys([conn.user_id, *members]))
    staff = _Staff(ctx, conn.tenant)
    for uid in members[1:]:
        try:
            staff.name_of(uid)
        except NotFound:
            raise NotFound(f"no operator {uid} in this tenant") from None
    now = now_ms()
    ch = Channel(id=time_ordered_id(now), tenant=conn.tenant, type="team", status="open", subject=None,
                 members=tuple(members), assignee=None, visitor=None, created_at=now, last_message_at=now, name=name)
    ctx.store.channels.create(ch, support_pointer=False, now_ms=now)
    _announce(ctx, ch, caller=conn.id)
    return Reply({"channel": view(ch, conn)})


def channel_close(ctx: ChatContext, conn: Connection, *, channel_id: str) -> Reply:
    """Status ``closed`` (no more messages), transcript archived; closing again re-archives."""
    ch = _channel(ctx, conn, channel_id)
    authorize(conn, "close", ch)
    was_queued = ch.status == "queued"
    if ch.status != "closed":
        try:
            ch = _close(ctx, ch)
        except Conflict:
            ch = _channel(ctx, conn, channel_id)  # changed meanwhile: close what it is now
            was_queued = ch.status == "queued"
            if ch.status != "closed":
                ch = _close(ctx, ch)
    # closing again writes the transcript only if it lacks something (a first write that
    # failed, a deletion since) and the archive still keeps it: not a full rewrite at will
    transcripts.archive(ctx, ch)
    _announce(ctx, ch, left_queue=was_queued, caller=conn.id)
    return Reply({"channel": view(ch, conn)})


def _close(ctx: ChatContext, ch: Channel) -> Channel:
    """Close, with ``conversation.closed`` (support conversations only) in the same transaction."""
    at = now_ms()
    events = ((conversation_event("conversation.closed", replace(ch, status="closed", closed_at=at), at_ms=at),)
              if ch.type == "support" else ())
    return ctx.store.channels.close(ch, now_ms=at, events=events)


# -- messages -------------------------------------------------------------------------------
def message_send(ctx: ChatContext, conn: Connection, *, channel_id: str, text: str, client_id: str,
                 attachments: tuple[dict[str, Any], ...] = (), internal: bool = False) -> Reply:
    """Store, then acknowledge, then ``message.new`` to every watcher (the reply's ``then``).

    A retried ``client_id`` gets the stored message back (and its watchers hear of it again:
    clients de-duplicate by message id), never a second copy - even when the sender may no
    longer write there: an operator whose socket dropped after the message was stored (the
    ack lost) hands the channel back to the queue, and their retry must learn the message
    was kept, not that it was refused (the answer only: nothing is sent to the watchers again).
    A ``client_id`` reused for another text or other attachments is ``conflict``
    (:func:`_retry_of`): nothing stored, nothing sent.

    ``internal``: a private note among staff (``note`` permission: staff who may read the
    support channel - its assignee, a colleague reading the queue or a past conversation of
    theirs, an admin; never the visitor). Stored apart from the visitor's messages (``NOTE#``),
    told only to staff watchers, never in a visitor's history, watch page or reads; no
    attachments (an upload's link would be the visitor's to open).
    """
    ch = _channel(ctx, conn, channel_id)
    try:
        authorize(conn, "note" if internal else "write", ch)
    except Forbidden:
        kept = ctx.store.messages.get_by_client_id(ch.id, conn.user_id, client_id)  # on refusal only
        if kept is None:
            raise
        # the answer only: who may no longer write here causes nothing more (its first send
        # told the watchers)
        return Reply({"message": _retry_of(kept, text=text, attachments=attachments, internal=internal).to_json()})
    if internal and attachments:
        raise ValidationFailed("a note carries no attachments")
    if attachments:
        authorize(conn, "attach", ch)
        _attachments.check_visitor_may_attach(ctx, conn)
        _attachments.check_own_uploads(ch, conn.user_id, attachments)
    now = now_ms()
    message = Message(id=time_ordered_id(now), channel_id=ch.id, sender_id=conn.user_id, sender_role=conn.role,
                      sender_name=conn.name, text=text, attachments=attachments, client_id=client_id,
                      created_at=now, internal=internal, expires_at=_retention_ttl(ctx, ch.tenant, now))
    if size_of(message.to_json()) > MAX_MESSAGE_BYTES:
        raise ValidationFailed(f"the message is larger than {MAX_MESSAGE_BYTES} bytes")
    stored = _store_message(ctx, conn, ch, message)
    if stored.id != message.id:  # the client_id was taken: this is a retry, or a client's mistake
        stored = _retry_of(stored, text=text, attachments=attachments, internal=internal)
        return _sent(ctx, ch, stored)
    count("Messages")
    reply = _sent(ctx, ch, stored)
    # a note is never mailed to the visitor; a plain message: no more DynamoDB calls than before
    if internal or not followup.owed(ch, conn):
        return reply
    fan_out = reply.then

    def then() -> None:  # after the sender's reply: the visitor may get this by mail (chat/followup.py)
        if fan_out is not None:
            fan_out()
        followup.schedule(ctx, ch, stored)

    return Reply(reply.data, then=then)


def _retention_ttl(ctx: ChatContext, tenant_id: str, now: int) -> int | None:
    """When DynamoDB's TTL removes a message written now: the tenant's ``message_retention_days``
    as it is now (docs/privacy.md: changing it affects messages written afterwards only)."""
    tenant = ctx.tenants(tenant_id) if ctx.tenants else None
    days = tenant.message_retention_days if tenant is not None else None
    return now // 1000 + days * 86400 if days else None


def _retry_of(kept: Message, *, text: str, attachments: tuple[dict[str, Any], ...], internal: bool = False) -> Message:
    """``kept``, the message stored under this sender's ``client_id``, if this send is a retry
    of it: the same text and the same attachments. Another payload under a used idempotency key is
    a client bug - answering the first message would tell the client its new text was sent when
    it was dropped - so it is :class:`Conflict`, and nothing is stored or sent.

    A deleted message (a tombstone: its text and attachments are gone) cannot be compared; a
    retry gets the tombstone, which tells nothing of what it held."""
    if kept.internal != internal:  # a note's key reused for a message (or back): never the other's answer
        raise Conflict("this client_id was used for another message: send a new message with a new client_id")
    if kept.deleted:
        return kept
    if kept.text != text or list(kept.attachments) != list(attachments):
        raise Conflict("this client_id was used for another message: send a new message with a new client_id")
    return kept


def _sent(ctx: ChatContext, ch: Channel, stored: Message) -> Reply:
    """The reply to a stored message, then ``message.new`` to the watchers who may read it."""
    def fan_out() -> None:
        ctx.notifier.send(_watchers(ctx, ch, staff_only=stored.internal),
                          event_frame("message.new", {"message": stored.to_json()}))

    return Reply({"message": stored.to_json()}, then=fan_out)


def _store_message(ctx: ChatContext, conn: Connection, ch: Channel, message: Message) -> Message:
    for attempt in range(2):
        if ch.status == "closed":
            retried = ctx.store.messages.get_by_client_id(ch.id, conn.user_id, message.client_id)
            if retried is not None:
                return retried
            raise Conflict("the channel is closed")
        try:
            # durable first, with its message.created (support conversations: team channels are
            # staff's own) in the same transaction ...
            events = (message_event(ch, message),) if ch.type == "support" else ()
            return ctx.store.messages.put(ch, message, events=events)
        except Conflict:
            if attempt:
                raise
            # closed or reassigned since we read it: read it again and re-check
            ch = _channel(ctx, conn, ch.id)
            authorize(conn, "note" if message.internal else "write", ch)
    raise Conflict("the channel changed meanwhile")  # pragma: no cover


def message_delete(ctx: ChatContext, conn: Connection, *, channel_id: str, message_id: str) -> Reply:
    """The author (``delete_own``) or a moderator (``moderate``) replaces a message with a
    tombstone; watchers get ``message.deleted``. In a closed channel the transcript is
    archived again at once: the archive must not keep what was deleted."""
    ch = _channel(ctx, conn, channel_id)
    message = ctx.store.messages.get(ch.id, message_id, viewer_role=conn.role)
    if message is None:
        authorize(conn, "read", ch)  # reveals nothing to whom may not read the channel
        raise NotFound("no such message")
    authorize(conn, "delete_own" if message.sender_id == conn.user_id else "moderate", ch)
    deleted = message if message.deleted else ctx.store.messages.mark_deleted(message)
    if ch.status != "closed":  # closed meanwhile? its transcript may have been written with the text
        ch = ctx.store.channels.get(ch.id) or ch
    if ch.status == "closed":
        if not message.deleted:
            at = now_ms()
            ctx.store.channels.mark_deleted_after_close(ch.id, at)
            ch = replace(ch, last_deleted_at=at)
        # a retry after a rewrite that failed writes it still; a repeat after one that worked does not
        transcripts.archive(ctx, ch)
    ctx.notifier.send(_watchers(ctx, ch, staff_only=deleted.internal),
                      event_frame("message.deleted", {"message": deleted.to_json()}))
    return Reply({})


def typing(ctx: ChatContext, conn: Connection, *, channel_id: str) -> Reply:
    """``typing`` to the channel's other watching connections (whoever may write may type)."""
    ch = _channel(ctx, conn, channel_id)
    authorize(conn, "write", ch)
    if ch.status == "closed":
        raise Conflict("the channel is closed")
    ctx.notifier.send(_watchers(ctx, ch, exclude=conn.id),
                      event_frame("typing", {"channel_id": ch.id, "user": _user(conn)}))
    return Reply({})


def read(ctx: ChatContext, conn: Connection, *, channel_id: str, message_id: str) -> Reply:
    """A read receipt: the member's read marker moves forward; ``read`` to the other watchers."""
    ch = _channel(ctx, conn, channel_id)
    authorize(conn, "receipt", ch)
    found = ctx.store.messages.get(ch.id, message_id, viewer_role=conn.role)
    if found is None:
        raise NotFound("no such message")
    ctx.store.messages.put_read_marker(ch.id, conn.user_id, message_id, now_ms())
    # a note's id is staff's to know (it would tell the visitor a note exists, and when)
    ctx.notifier.send(_watchers(ctx, ch, exclude=conn.id, staff_only=found.internal),
                      event_frame("read", {"channel_id": ch.id, "user": _user(conn), "message_id": message_id}))
    return Reply({})


# -- attachments ----------------------------------------------------------------------------
def attachment_presign(ctx: ChatContext, conn: Connection, *, channel_id: str, content_type: str,
                       size: int) -> Reply:
    """An S3 presigned POST for one upload into this channel (:func:`switchboard.chat.attachments.presign_upload`)."""
    ch = _channel(ctx, conn, channel_id)
    authorize(conn, "attach", ch)
    _attachments.check_visitor_may_attach(ctx, conn)
    if ch.status == "closed":
        raise Conflict("the channel is closed")
    return Reply(_attachments.presign_upload(ctx, ch, conn.user_id, content_type=content_type, size=size))


def attachment_open(ctx: ChatContext, conn: Connection, *, channel_id: str, message_id: str, key: str) -> Reply:
    """A short-lived download link for one attachment of a message, for whoever may read the
    channel (not in the contract: without it, what visitors attach could never be seen;
    :func:`switchboard.chat.attachments.download_link`)."""
    ch = _channel(ctx, conn, channel_id)
    authorize(conn, "read", ch)
    return Reply(_attachments.download_link(ctx, ch, ctx.store.messages.get(ch.id, message_id,
                                                                            viewer_role=conn.role), key))


def _user(conn: Connection) -> dict[str, str]:
    return {"id": conn.user_id, "name": conn.name, "role": conn.role}
