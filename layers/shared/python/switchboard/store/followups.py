"""Follow-up mail (contract section 8): which conversations owe their visitor a mail, and the
single-use links those mails carry.

Keys: ``CH#<chid>`` / ``FOLLOWUP`` - a conversation whose visitor has staff replies not yet
mailed: ``from_ms`` (the first unmailed reply), ``last_ms`` (the latest), and GSI2
``FU#due`` / ``<due ms>#<chid>``, so the scheduled mailer Queries only the conversations that
are due, never a Scan, and its cost grows with them, not with the table. ``RES#<id>`` /
``RESUME`` - a resume link: the SHA-256 of its secret, the tenant, visitor and conversation,
its expiry (and ``ttl``), taken by one conditional delete.
"""

from __future__ import annotations

from typing import Any

from switchboard.models import Channel, Message
from switchboard.store import codecs, keys
from switchboard.store.dynamo import Table

__all__ = ["Followups"]


class Followups:
    """Due follow-ups and resume links."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def schedule(self, ch: Channel, *, reply_ms: int, due_ms: int, ttl: int) -> None:
        """A staff reply at ``reply_ms`` owes the visitor a mail by ``due_ms`` - unless a batch is
        already waiting, which it joins (its due time and first reply kept): one UpdateItem."""
        # (``ttl`` is a reserved word: named; the condition holds always - update_if takes names)
        self._table.update_if(
            keys.channel_pk(ch.id), keys.FOLLOWUP,
            f"SET tenant = :t, from_ms = if_not_exists(from_ms, :r), last_ms = :r, #ttl = :ttl, "
            f"{keys.GSI2_PK} = :ix, {keys.GSI2_SK} = if_not_exists({keys.GSI2_SK}, :s)",
            {":t": ch.tenant, ":r": reply_ms, ":ttl": ttl, ":ix": keys.followup_index(),
             ":s": keys.activity_sort(due_ms, ch.id)},
            condition="attribute_not_exists(pk) OR attribute_exists(pk)", names={"#ttl": keys.TTL})

    def due(self, now_ms: int, *, limit: int) -> list[str]:
        """The channel ids whose follow-up is due at ``now_ms``, oldest first: one Query of
        GSI2 ``FU#due`` up to ``now`` (keys only), at most ``limit``."""
        found, _ = self._table.query_page(
            f"{keys.GSI2_PK} = :p AND {keys.GSI2_SK} <= :s",
            {":p": keys.followup_index(), ":s": keys.activity_sort(now_ms, "~")}, index=keys.GSI2, limit=limit)
        return [keys.channel_of_sort(k[keys.GSI2_SK]) for k in found]

    def get(self, channel_id: str) -> dict[str, Any] | None:
        """``{"tenant", "from_ms", "last_ms"}`` of a due follow-up, consistent."""
        return self._table.get(keys.channel_pk(channel_id), keys.FOLLOWUP, consistent=True)

    def finish(self, channel_id: str, *, last_ms: int) -> bool:
        """Done with the batch mailed up to ``last_ms``: deleted, unless a reply came since
        (then False, and it stays)."""
        return self._table.take(keys.channel_pk(channel_id), keys.FOLLOWUP, condition="last_ms = :l",
                                values={":l": last_ms}) is not None

    def move_on(self, channel_id: str, *, from_ms: int) -> None:
        """A reply came while the batch was mailed: the next batch starts after what was mailed."""
        # a mail went out: the next batch starts with no failed tries behind it
        self._table.update_if(keys.channel_pk(channel_id), keys.FOLLOWUP, "SET from_ms = :f REMOVE attempts",
                              {":f": from_ms}, condition="attribute_exists(pk)")

    def retry_later(self, channel_id: str, *, due_ms: int, attempts: int) -> None:
        """A mail that could not be sent: due again at ``due_ms`` (its GSI2 sort moved back, so
        it no longer holds the head of the due list), with the attempts counted."""
        self._table.update_if(keys.channel_pk(channel_id), keys.FOLLOWUP, f"SET {keys.GSI2_SK} = :s, attempts = :a",
                              {":s": keys.activity_sort(due_ms, channel_id), ":a": attempts},
                              condition="attribute_exists(pk)")

    def replies_since(self, channel_id: str, from_ms: int) -> list[Message]:
        """The channel's messages from ``from_ms`` on (their ids begin with the time, so one Query
        between ``MSG#<from_ms>`` and the end), never one flagged ``internal`` (a staff note)."""
        found, _ = self._table.query_page(
            "pk = :p AND sk BETWEEN :lo AND :hi",
            {":p": keys.channel_pk(channel_id), ":lo": keys.message_sk(f"{from_ms:013d}"), ":hi": keys.MESSAGES_END},
            consistent=True, limit=200)
        return [codecs.message(r) for r in found if not r.get("internal")]

    # -- resume links -------------------------------------------------------------------------------
    def put_resume(self, resume_id: str, token_hash: str, *, tenant: str, visitor: str, channel_id: str,
                   expires_at: int) -> None:
        """The link and its pointer in the conversation's partition (what an erasure of the
        conversation follows to it), in one BatchWriteItem: one call, as the link alone was. An
        erasure that ran between the mailer's read of the channel and this leaves the link to its
        TTL; it signs nobody in (``/auth/resume`` requires the conversation, which is gone)."""
        self._table.batch_put([
            {"pk": keys.channel_pk(channel_id), "sk": keys.resume_link_sk(resume_id), "ttl": expires_at},
            {"pk": keys.resume_pk(resume_id), "sk": keys.RESUME, "secret_hash": token_hash, "tenant": tenant,
             "visitor": visitor, "channel_id": channel_id, "expires_at": expires_at, "ttl": expires_at}])

    def take_resume(self, resume_id: str, token_hash: str, *, tenant: str, now: int) -> dict[str, Any] | None:
        """Spend a resume link: ``{"tenant", "visitor", "channel_id", ...}`` exactly once, for
        the right secret and tenant before its expiry (one conditional delete); None otherwise,
        and then the link is left as it was."""
        return self._table.take(keys.resume_pk(resume_id), keys.RESUME,
                                condition="secret_hash = :h AND expires_at > :now AND tenant = :t",
                                values={":h": token_hash, ":now": now, ":t": tenant})
