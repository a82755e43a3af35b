"""What is stored about one person, found and erased by key (privacy requests, issue 19).

No Scan: a visitor's records are reached through their own partition ``U#<tid>#<uid>``
(sessions, rotated refresh hashes, memberships ``M#<chid>``, the open-support pointer, their
connections ``C#<cid>``), each channel's partition ``CH#<chid>`` (the channel, its messages and
their client-id records, read markers, watches), each connection's partition ``C#<cid>``, the
user's chat-action counters ``RL#ws#<tid>#<uid>``, and the tenant's audit partition ``T#<tid>#EV``
(Query, filtered here: its events naming the person are rewritten without them).
"""

from __future__ import annotations

from typing import Any

from switchboard.models import Channel
from switchboard.store import keys
from switchboard.store.dynamo import Table

__all__ = ["PersonalData"]


class PersonalData:
    """Find and erase one user's records."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def _partition(self, pk: str) -> list[dict[str, Any]]:
        """Every item of a partition, page after page (consistent)."""
        out: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            found, more = self._table.query_page("pk = :p", {":p": pk}, limit=500, consistent=True, start=start)
            out += found
            if not more or not found:
                return out
            start = keys.key(str(found[-1]["pk"]), str(found[-1]["sk"]))

    def known(self, tenant: str, user_id: str) -> bool:
        """Whether anything is stored under the user's partition."""
        found, _ = self._table.query_page("pk = :p", {":p": keys.user_pk(tenant, user_id)}, limit=1, consistent=True)
        return bool(found)

    def channel_ids(self, tenant: str, user_id: str) -> list[str]:
        """The channels the user is a member of: Query ``U#<tid>#<uid>`` begins_with ``M#``."""
        return [str(r["channel_id"]) for r in self._table.query(keys.user_pk(tenant, user_id), "M#", consistent=True)]

    def connection_ids(self, tenant: str, user_id: str) -> list[str]:
        """The user's connections: Query ``U#<tid>#<uid>`` begins_with ``C#``."""
        return [str(r["sk"])[len(keys.USER_CONNECTIONS):]
                for r in self._table.query(keys.user_pk(tenant, user_id), keys.USER_CONNECTIONS, consistent=True)]

    def erase_channel(self, ch: Channel) -> dict[str, int]:
        """Delete the channel's whole partition and every member's and assignee's list entries
        for it; counts of the messages (their client-id records apart) and items deleted. The
        channel should be closed first (an assignee's load is moved by the close)."""
        items = list(self._partition(keys.channel_pk(ch.id)))
        doomed = [keys.key(str(i["pk"]), str(i["sk"])) for i in items]
        # the follow-up mails' resume links name the visitor: found by their pointers here
        doomed += [keys.key(keys.resume_pk(str(i["sk"])[len(keys.RESUME_LINKS):]), keys.RESUME)
                   for i in items if str(i["sk"]).startswith(keys.RESUME_LINKS)]
        for member in ch.members:
            doomed.append(keys.key(keys.user_pk(ch.tenant, member), keys.membership_sk(ch.id)))
            doomed.append(keys.key(keys.user_pk(ch.tenant, member), keys.assignment_sk(ch.id)))
        self._table.batch_delete(doomed)
        messages = sum(1 for i in items if str(i["sk"]).startswith(keys.MESSAGES))
        return {"messages": messages, "items": len(doomed)}

    def erase_user(self, tenant: str, user_id: str) -> int:
        """Delete the user's partition, each of their connections' partitions and their action
        counters; how many items."""
        user = list(self._partition(keys.user_pk(tenant, user_id)))
        doomed = [keys.key(str(i["pk"]), str(i["sk"])) for i in user]
        for cid in (str(i["sk"])[len(keys.USER_CONNECTIONS):] for i in user
                    if str(i["sk"]).startswith(keys.USER_CONNECTIONS)):
            doomed += [keys.key(str(i["pk"]), str(i["sk"]))
                       for i in self._partition(keys.connection_pk(cid))]
        doomed += [keys.key(str(i["pk"]), str(i["sk"]))
                   for i in self._partition(keys.action_rate_pk(tenant, user_id))]
        self._table.batch_delete(doomed)
        return len(doomed)

    def scrub_audit(self, tenant: str, user_id: str, *, replacement: str) -> int:
        """Rewrite the tenant's audit events naming the user (as actor or subject) with
        ``replacement`` in their place and no details (an IP address, a device, a name); the
        kind and time of each stay, which is what the audit needs. How many."""
        pk = keys.events_pk(tenant)
        changed = 0
        for item in self._partition(pk):
            if user_id not in (item.get("actor"), item.get("subject")):
                continue
            kept: dict[str, Any] = {k: v for k, v in item.items() if k in ("pk", "sk", "event_id", "kind", "at",
                                                                          "session_id", keys.TTL, "tenant")}
            for role in ("actor", "subject"):
                if item.get(role) is not None:
                    kept[role] = replacement if item[role] == user_id else item[role]
            kept["detail"] = {"erased": True}
            self._table.put(kept)
            changed += 1
        return changed
