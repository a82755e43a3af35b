"""Channels and their messages: memberships, assignments, the open-support pointer, the
client-id records that make a send idempotent, read markers.

Keys: ``CH#<chid>`` / ``META`` (the channel; GSI2 ``ST#<tid>#<status>``), ``MSG#<mid>``,
``CID#<uid>#<cli>``, ``R#<uid>``; under the user ``U#<tid>#<uid>``: ``M#<chid>`` (GSI2
``MEM#<tid>#<uid>``), ``A#<chid>`` (GSI2 ``ASG#<tid>#<uid>``), ``SUPPORT``. Creating,
assigning, requeuing and closing a channel also move staff load:
:mod:`switchboard.store.transactions`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from msgspec.structs import replace

from switchboard.errors import Conflict, Unavailable
from switchboard.models import Channel, Message, OutboundEvent
from switchboard.policy import STAFF_ROLES
from switchboard.store import codecs, cursors, keys, transactions
from switchboard.store.dynamo import UNAVAILABLE, Cancelled, Table
from switchboard.store.events import event_item as outbound_item

__all__ = ["Channels", "Messages"]


class Channels:
    """Channels, who is in them, who is assigned them, and the lists they appear in."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, channel_id: str) -> Channel | None:
        """``CH#<chid>`` / ``META``, consistent."""
        raw = self._table.get(keys.channel_pk(channel_id), keys.CHANNEL, consistent=True)
        return codecs.channel(raw) if raw else None

    def get_many(self, channel_ids: list[str]) -> list[Channel]:
        """BatchGetItem (one call per 100 ids), consistent, in the order given."""
        unique = list(dict.fromkeys(channel_ids))
        found = {ch.id: ch for ch in (codecs.channel(r) for r in self._table.batch_get(
            [keys.key(keys.channel_pk(cid), keys.CHANNEL) for cid in unique]))}
        return [found[c] for c in unique if c in found]

    def open_support_id(self, tenant: str, visitor: str) -> str | None:
        """``U#<tid>#<visitor>`` / ``SUPPORT``: the visitor's one open support channel."""
        raw = self._table.get(keys.user_pk(tenant, visitor), keys.SUPPORT, consistent=True)
        return raw["channel_id"] if raw else None

    def create(self, ch: Channel, *, support_pointer: bool, now_ms: int,
               events: tuple[OutboundEvent, ...] = ()) -> None:
        """Channel, memberships, pointer, assignment and load, atomically (see
        :func:`switchboard.store.transactions.create_channel`); ``events`` in the same transaction."""
        transactions.create_channel(self._table, ch, support_pointer=support_pointer, now_ms=now_ms, events=events)

    def assign(self, ch: Channel, operator_id: str, *, now_ms: int, operator_name: str | None = None,
               available: bool = False, events: tuple[OutboundEvent, ...] = ()) -> Channel:
        """Assign if the channel is still as ``ch`` saw it (see
        :func:`switchboard.store.transactions.assign_channel`); ``available``: and only if the
        operator is not away and under their ``max_chats``; ``events`` - all in the same transaction."""
        return transactions.assign_channel(self._table, ch, operator_id, now_ms=now_ms, operator_name=operator_name,
                                           available=available, events=events)

    def requeue(self, ch: Channel, *, now_ms: int) -> Channel:
        """Back to the queue (see :func:`switchboard.store.transactions.requeue_channel`)."""
        return transactions.requeue_channel(self._table, ch, now_ms=now_ms)

    def close(self, ch: Channel, *, now_ms: int, events: tuple[OutboundEvent, ...] = ()) -> Channel:
        """Closed once (see :func:`switchboard.store.transactions.close_channel`); ``events`` in the
        same transaction."""
        return transactions.close_channel(self._table, ch, now_ms=now_ms, events=events)

    def hand_over(self, ch: Channel, *, from_user: str, to_user: str) -> Channel:
        """Give a visitor's open support channel to another user id of the same person (an
        anonymous visitor identified by the website): channel, membership and open-support
        pointer move in one transaction. Conflict if the channel changed, or if ``to_user``
        already has an open support channel of their own."""
        members = tuple(to_user if m == from_user else m for m in ch.members)
        new = replace(ch, visitor=to_user, members=members)
        t = self._table
        t.transact([
            t.update_item(keys.channel_pk(ch.id), keys.CHANNEL, "SET visitor = :to, members = :m",
                          {":to": to_user, ":from": from_user, ":m": list(members), ":closed": "closed"},
                          condition="visitor = :from AND #st <> :closed", names={"#st": "status"}),
            t.delete_item(keys.user_pk(ch.tenant, from_user), keys.SUPPORT),
            t.put_item({"pk": keys.user_pk(ch.tenant, to_user), "sk": keys.SUPPORT, "channel_id": ch.id},
                       condition="attribute_not_exists(pk)"),
            t.delete_item(keys.user_pk(ch.tenant, from_user), keys.membership_sk(ch.id)),
            t.put_item(codecs.membership_item(new, to_user)),
        ], conflict="the conversation cannot be handed over")
        return new

    def assigned_ids(self, tenant: str, operator_id: str) -> list[str]:
        """Open support channels assigned to an operator: Query ``U#<tid>#<uid>`` begins_with ``A#``
        (one item per current assignment, so it grows with their open channels only)."""
        return [r["channel_id"]
                for r in self._table.query(keys.user_pk(tenant, operator_id), keys.ASSIGNMENTS, consistent=True)]

    def query(self, tenant: str, *, member: str | None = None, assignee: str | None = None,
              status: str | None = None, label: str | None = None, limit: int,
              cursor: str | None) -> tuple[list[tuple[str, str]], bool]:
        """A page of one GSI2 list (newest activity first) and whether more follow.

        Exactly one of: ``member`` (a user's channels, ``MEM#<tid>#<uid>`` on the membership
        items), ``assignee`` (an operator's open assignments, ``ASG#<tid>#<uid>``), ``status``
        (a tenant's support channels by status, ``ST#<tid>#<status>`` on the channel item).
        ``gsi2sk`` is ``<last activity ms, 15 digits>#<channel id>``. The index projects keys
        only, so each entry is (channel id, an opaque cursor that resumes right after it).
        ``cursor`` must come from the same list (:class:`~switchboard.errors.ValidationFailed`
        otherwise: it cannot reach another tenant's or user's list).

        Issue 17: ``status`` ``closed`` is the tenant's closed support channels
        (``CLOSED#<tid>``, on the channel item from its close; newest close first); ``label``
        the support channels carrying it (``LBL#<tid>#<label>``, on the label items under the
        channel; newest labelled first).
        """
        if (member is None) + (assignee is None) + (status is None) + (label is None) != 3:
            raise ValueError("exactly one of member, assignee, status, label")
        if member is not None:
            index = keys.member_index(tenant, member)
        elif assignee is not None:
            index = keys.assignee_index(tenant, assignee)
        elif label is not None:
            index = keys.label_index(tenant, label)
        elif status == "closed":
            index = keys.closed_index(tenant)
        else:
            index = keys.status_index(tenant, str(status))
        start = cursors.decode_index_cursor(cursor, index)
        # one more than the page: DynamoDB returns a LastEvaluatedKey whenever a Query stops
        # at its Limit, even with nothing after it, so that key cannot say whether more
        # follow; the extra entry can (and is not returned: the next page starts with it)
        found, _ = self._table.query_page(f"{keys.GSI2_PK} = :p", {":p": index}, index=keys.GSI2,
                                          newest_first=True, limit=limit + 1, start=start)
        entries = [(keys.channel_of_sort(k[keys.GSI2_SK]), cursors.encode_index_cursor(k)) for k in found]
        return entries[:limit], len(entries) > limit

    def set_labels(self, ch: Channel, labels: tuple[str, ...], *, now_ms: int) -> Channel:
        """The channel's labels as ``labels``, if they are still as ``ch`` read them (two editors at
        once: the second gets Conflict and reads again). One transaction: the channel's
        ``labels`` attribute (what its views show) and one item per label, ``CH#<chid>`` /
        ``LBL#<label>`` in GSI2 ``LBL#<tid>#<label>`` (the inbox's label filter), put or deleted."""
        t = self._table
        was, now = set(ch.labels), set(labels)
        condition = "attribute_exists(pk) AND " + ("labels = :was" if ch.labels else "attribute_not_exists(labels)")
        values: dict[str, Any] = {":l": list(labels)} if labels else {}
        if ch.labels:
            values[":was"] = list(ch.labels)
        items: list[Any] = [t.update_item(keys.channel_pk(ch.id), keys.CHANNEL,
                                          "SET labels = :l" if labels else "REMOVE labels", values,
                                          condition=condition)]
        items += [t.put_item({"pk": keys.channel_pk(ch.id), "sk": keys.label_sk(label), "channel_id": ch.id,
                              "tenant": ch.tenant, keys.GSI2_PK: keys.label_index(ch.tenant, label),
                              keys.GSI2_SK: keys.activity_sort(now_ms, ch.id)}) for label in sorted(now - was)]
        items += [t.delete_item(keys.channel_pk(ch.id), keys.label_sk(label)) for label in sorted(was - now)]
        t.transact(items, conflict="the labels changed meanwhile")
        return replace(ch, labels=labels)


    def set_visitor_fields(self, ch: Channel, fields: dict[str, Any]) -> Channel | None:
        """Set the visitor's side of a support channel (``context``, ``prechat``,
        ``visitor_email``, ``attributes``...) while it is still the same visitor's and not
        closed: one conditional UpdateItem; None if the condition did not hold."""
        if not fields:
            return ch
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        stored = {k: codecs.attributes_text(v) if k == "attributes" and v is not None else v
                  for k, v in fields.items()}
        values: dict[str, Any] = {f":f{i}": value for i, value in enumerate(stored.values())}
        sets = ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        names["#st"] = "status"
        ok = self._table.update_if(keys.channel_pk(ch.id), keys.CHANNEL, f"SET {sets}",
                                   {**values, ":v": ch.visitor, ":closed": "closed"},
                                   condition="visitor = :v AND #st <> :closed", names=names)
        return replace(ch, **fields) if ok else None

    def rate(self, ch: Channel, csat: dict[str, Any], *, events: tuple[OutboundEvent, ...] = ()) -> bool:
        """``csat`` on a closed support channel, once: a conditional UpdateItem (closed, the same
        visitor, not rated yet), with ``events`` (``csat.submitted``) in the same transaction.
        False if it was rated already (or changed meanwhile)."""
        expression, values = "SET csat = :c", {":c": csat, ":v": ch.visitor, ":closed": "closed"}
        condition = "visitor = :v AND #st = :closed AND attribute_not_exists(csat)"
        if not events:
            return self._table.update_if(keys.channel_pk(ch.id), keys.CHANNEL, expression, values,
                                         condition=condition, names={"#st": "status"})
        items = [self._table.update_item(keys.channel_pk(ch.id), keys.CHANNEL, expression, values,
                                         condition=condition, names={"#st": "status"}),
                 *(self._table.put_item(outbound_item(e)) for e in events)]
        try:
            self._table.transact(items, conflict="the conversation was rated already")
        except Conflict:
            return False
        return True

    def waiting(self, *, before_ms: int, limit: int) -> list[str]:
        """Support channels that started waiting before ``before_ms`` (queued, or a visitor's
        message unanswered), oldest first: one Query of the sparse GSI1 list ``DUE#0`` with
        ``gsi1sk < before``. It reads only what is due, never every channel."""
        found, _ = self._table.query_page(
            f"{keys.GSI1_PK} = :p AND {keys.GSI1_SK} < :b",
            {":p": keys.due_index(), ":b": keys.activity_sort(before_ms, "")}, index=keys.GSI1, limit=limit)
        return [keys.channel_of_sort(k[keys.GSI1_SK]) for k in found]

    def wait_again(self, ch: Channel, *, now_ms: int) -> bool:
        """Start the channel's wait again at ``now_ms`` (nobody could take it: the sweep looks
        again in N minutes, not every minute), if it is still as read; False if it changed."""
        return self._table.update_if(keys.channel_pk(ch.id), keys.CHANNEL, f"SET {keys.GSI1_SK} = :d2",
                                     {":d2": keys.activity_sort(now_ms, ch.id), ":st": ch.status},
                                     condition=f"#st = :st AND attribute_exists({keys.GSI1_PK})",
                                     names={"#st": "status"})

    def stop_waiting(self, ch: Channel) -> None:
        """Off the sweep's list (nothing to answer: the visitor has written nothing)."""
        self._table.update_if(keys.channel_pk(ch.id), keys.CHANNEL, f"REMOVE {keys.GSI1_PK}, {keys.GSI1_SK}",
                              {":st": ch.status}, condition="#st = :st", names={"#st": "status"})

    def mark_archived(self, channel_id: str, read_at_ms: int) -> None:
        """``archived_at``: the transcript just written read the messages at ``read_at_ms``
        (only ever moves forward: a slower writer that read earlier does not move it back)."""
        self._table.update_if(keys.channel_pk(channel_id), keys.CHANNEL, "SET archived_at = :t", {":t": read_at_ms},
                              condition="attribute_exists(pk) AND (attribute_not_exists(archived_at) "
                                        "OR archived_at < :t)")

    def mark_deleted_after_close(self, channel_id: str, at_ms: int) -> None:
        """``last_deleted_at``: a message of this closed channel was deleted at ``at_ms``."""
        self._table.update_if(keys.channel_pk(channel_id), keys.CHANNEL, "SET last_deleted_at = :t", {":t": at_ms},
                              condition="attribute_exists(pk)")


class Messages:
    """A channel's messages, their client-id records, read markers."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put(self, ch: Channel, m: Message, *, events: tuple[OutboundEvent, ...] = ()) -> Message:
        """Store a message once per (sender, client_id): durable before anyone hears of it.
        ``events`` (its ``message.created``) are put in the same transaction, after the items
        below (their positions are read from a cancellation), so a retry that finds the
        message stored puts no second event.

        One transaction writes the client-id record ``CH#<chid>`` / ``CID#<uid>#<client id>``
        (conditional: first writer wins), the message ``MSG#<mid>``, the channel's activity
        time (conditional: not closed) and the list orderings of each member (and of the
        assignee's assignment). A retry with the same client_id - even concurrent - gets the
        stored message back, never a second copy.

        A note (``m.internal``) is the client-id record and ``NOTE#<mid>`` with a check that the
        channel is not closed: it moves no activity time and no list ordering, which the visitor
        sees (a note must not show as news in their widget).
        """
        t = self._table
        if m.internal:
            return self._put_note(ch, m)
        sort = keys.activity_sort(m.created_at, ch.id)
        msg_item = codecs.message_item(m)
        # the sweep's list, in the same update (no extra call): the assignee's message answers,
        # so the channel waits for nobody; the visitor's starts the wait if it had not started
        due, due_values = "", {}
        if ch.type == "support" and ch.assignee is not None and m.sender_id == ch.assignee:
            due = f" REMOVE {keys.GSI1_PK}, {keys.GSI1_SK}"
        elif ch.type == "support" and m.sender_id == ch.visitor:
            due = (f", {keys.GSI1_PK} = if_not_exists({keys.GSI1_PK}, :d1), "
                   f"{keys.GSI1_SK} = if_not_exists({keys.GSI1_SK}, :d2)")
            due_values = {":d1": keys.due_index(), ":d2": sort}
        items: list[Any] = [
            t.put_item({**msg_item, "sk": keys.client_id_sk(m.sender_id, m.client_id)},
                       condition="attribute_not_exists(pk)"),
            t.put_item(msg_item),
            t.update_item(keys.channel_pk(ch.id), keys.CHANNEL,
                          f"SET last_message_at = :t, {keys.GSI2_SK} = :s" + due,
                          {":t": m.created_at, ":s": sort, ":closed": "closed", **due_values},
                          condition="attribute_exists(pk) AND #st <> :closed", names={"#st": "status"}),
        ]
        lists = [keys.key(keys.user_pk(ch.tenant, u), keys.membership_sk(ch.id)) for u in ch.members]
        if ch.type == "support" and ch.status == "open" and ch.assignee:
            lists.append(keys.key(keys.user_pk(ch.tenant, ch.assignee), keys.assignment_sk(ch.id)))
        items += [t.update_item(k[keys.PK], k[keys.SK], f"SET {keys.GSI2_SK} = :s", {":s": sort},
                                condition="attribute_exists(pk)") for k in lists]
        items += [t.put_item(outbound_item(e)) for e in events]
        for attempt in range(3):
            try:
                t.write_transaction(items)
                return m
            except Cancelled as exc:
                if exc.failed(0):
                    existing = self.get_by_client_id(ch.id, m.sender_id, m.client_id)
                    if existing:
                        return existing  # a retry: the message stored the first time
                if exc.failed(2):
                    raise Conflict("the channel is closed") from exc
                if "ConditionalCheckFailed" in exc.codes[3:]:
                    raise Conflict("the channel changed meanwhile") from exc  # an assignment just ended
                # TransactionConflict: a concurrent transaction touched the same items (another
                # message to this channel); DynamoDB asks us to retry, and botocore does not.
                if "TransactionConflict" in exc.codes and attempt < 2:
                    continue
                raise Unavailable(UNAVAILABLE) from exc
        raise Unavailable(UNAVAILABLE)

    def _put_note(self, ch: Channel, m: Message) -> Message:
        t = self._table
        item = codecs.message_item(m)
        try:
            t.write_transaction([
                t.put_item({**item, "sk": keys.client_id_sk(m.sender_id, m.client_id)},
                           condition="attribute_not_exists(pk)"),
                t.put_item(item),
                # an Update, not a ConditionCheck: the chat functions' policies hold UpdateItem
                # already (no new permission); last_note_at is staff's, in no view
                t.update_item(keys.channel_pk(ch.id), keys.CHANNEL, "SET last_note_at = :t",
                              {":t": m.created_at, ":closed": "closed"},
                              condition="attribute_exists(pk) AND #st <> :closed", names={"#st": "status"}),
            ])
            return m
        except Cancelled as exc:
            if exc.failed(0):
                existing = self.get_by_client_id(ch.id, m.sender_id, m.client_id)
                if existing:
                    return existing
            if exc.failed(2):
                raise Conflict("the channel is closed") from exc
            raise Unavailable(UNAVAILABLE) from exc

    def get_by_client_id(self, channel_id: str, sender_id: str, client_id: str) -> Message | None:
        raw = self._table.get(keys.channel_pk(channel_id), keys.client_id_sk(sender_id, client_id), consistent=True)
        return codecs.message(raw) if raw else None

    def get(self, channel_id: str, message_id: str, *, viewer_role: str) -> Message | None:
        """One message by id; for staff (``viewer_role`` operator or admin) a note too. Whoever
        else asks gets ``None`` for a note's id, as for an id that does not exist."""
        raw = self._table.get(keys.channel_pk(channel_id), keys.message_sk(message_id), consistent=True)
        if raw is None and viewer_role in STAFF_ROLES:
            raw = self._table.get(keys.channel_pk(channel_id), keys.note_sk(message_id), consistent=True)
        return codecs.message(raw) if raw else None

    def page(self, channel_id: str, *, before: str | None, limit: int, viewer_role: str) -> tuple[list[Message], bool]:
        """The newest ``limit`` messages older than ``before`` (a message id), oldest first, and
        whether older ones remain: one Query of ``CH#<chid>`` between ``MSG#`` and ``MSG#<before>``,
        newest first. (BETWEEN is inclusive, so one more is asked for and ``before`` dropped.)

        ``viewer_role`` is required, so no caller can forget whose page it is: a visitor's page
        is that one Query of ``MSG#`` (notes live under ``NOTE#`` and are never read: a visitor's
        history costs what it cost before notes existed); staff's page is a second Query of
        ``NOTE#`` with the same bounds (ids are time-ordered), merged by id."""
        found, more = self._page_of(channel_id, keys.MESSAGES, keys.message_sk, keys.MESSAGES_END,
                                    before=before, limit=limit)
        if viewer_role in STAFF_ROLES:
            notes, more_notes = self._page_of(channel_id, keys.NOTES, keys.note_sk, keys.NOTES_END,
                                              before=before, limit=limit)
            merged = sorted(found + notes, key=lambda m: m.id, reverse=True)
            more = more or more_notes or len(merged) > limit
            found = merged
        page = found[:limit]
        page.reverse()
        return page, more

    def _page_of(self, channel_id: str, lo: str, sk: Any, end: str, *, before: str | None,
                 limit: int) -> tuple[list[Message], bool]:
        """Newest first, at most ``limit``, and whether older ones remain under this prefix."""
        hi = sk(before) if before else end
        found, stopped = self._table.query_page(
            "pk = :p AND sk BETWEEN :lo AND :hi", {":p": keys.channel_pk(channel_id), ":lo": lo, ":hi": hi},
            consistent=True, newest_first=True, limit=limit + 1 + (1 if before else 0))
        messages = [m for m in (codecs.message(i) for i in found) if m.id != before]
        return messages[:limit], len(messages) > limit or stopped

    def all_of(self, channel_id: str, *, viewer_role: str) -> Iterator[Message]:
        """Every message of a channel in order: Query ``CH#<chid>`` begins_with ``MSG#``; for staff
        (the archive is staff's: reports, search) the notes too, merged in order."""
        messages = (codecs.message(r) for r in self._table.query(keys.channel_pk(channel_id), keys.MESSAGES,
                                                                 consistent=True))
        if viewer_role not in STAFF_ROLES:
            return messages
        notes = [codecs.message(r) for r in self._table.query(keys.channel_pk(channel_id), keys.NOTES,
                                                              consistent=True)]
        return iter(sorted([*messages, *notes], key=lambda m: m.id))

    def mark_deleted(self, m: Message) -> Message:
        """Replace the message and its client-id record with a tombstone (no text, no attachments):
        a retry of its client_id must not bring the deleted text back."""
        deleted = replace(m, text="", attachments=(), deleted=True)
        item = codecs.message_item(deleted)
        self._table.transact([
            self._table.put_item(item),
            self._table.put_item({**item, "sk": keys.client_id_sk(m.sender_id, m.client_id)}),
        ])
        return deleted

    def put_read_marker(self, channel_id: str, user_id: str, message_id: str, now_ms: int) -> None:
        """``CH#<chid>`` / ``R#<uid>``: the newest message a user has read (only ever moves forward)."""
        self._table.put_if({"pk": keys.channel_pk(channel_id), "sk": keys.read_marker_sk(user_id),
                            "message_id": message_id, "at": now_ms},
                           condition="attribute_not_exists(pk) OR message_id < :m",
                           values_of_condition={":m": message_id})
