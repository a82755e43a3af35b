"""Device authorizations (RFC 8628): the ``switchboard`` command line asking to be signed in.

Keys: ``DEV#<id>`` / ``DEVICE`` (the request: the SHA-256 of its device code, its user code,
status, who approved it, polling times; TTL) and ``UC#<user code>`` / ``USERCODE`` (the user
code's pointer to it, unique while it lives). See :mod:`switchboard.store.keys`.
"""

from __future__ import annotations

from typing import Any

from switchboard.errors import Conflict
from switchboard.store import keys
from switchboard.store.dynamo import Table

__all__ = ["Devices"]


class Devices:
    """Pending, approved and denied device authorizations."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, device_id: str, *, code_hash: str, user_code: str, tenant: str | None, now: int,
               expires_at: int, interval: int) -> bool:
        """The request and its user code's pointer, in one transaction; False if the user code
        is taken (the caller draws another)."""
        try:
            self._table.transact([
                self._table.put_item({"pk": keys.user_code_pk(user_code), "sk": keys.USER_CODE, "device": device_id,
                                      "expires_at": expires_at, "ttl": expires_at},
                                     condition="attribute_not_exists(pk)"),
                self._table.put_item({"pk": keys.device_pk(device_id), "sk": keys.DEVICE, "device_id": device_id,
                                      "hash": code_hash,
                                      "user_code": user_code, "tenant": tenant, "status": "pending",
                                      "created_at": now, "expires_at": expires_at, "interval": interval,
                                      "last_poll": 0, "ttl": expires_at}),
            ])
        except Conflict:
            return False
        return True

    def get(self, device_id: str) -> dict[str, Any] | None:
        return self._table.get(keys.device_pk(device_id), keys.DEVICE, consistent=True)

    def by_user_code(self, user_code: str) -> dict[str, Any] | None:
        """The request a user code names (None: no such code, or its pointer is gone)."""
        pointer = self._table.get(keys.user_code_pk(user_code), keys.USER_CODE, consistent=True)
        return self.get(pointer["device"]) if pointer else self.get("-")

    def decide(self, device_id: str, *, status: str, tenant: str, user_id: str, now: int) -> bool:
        """Approve or deny a pending, unexpired request: True once (a second decision finds it
        decided already)."""
        return self._table.update_if(
            keys.device_pk(device_id), keys.DEVICE, "SET #s = :status, approver_tenant = :t, approver = :u",
            {":status": status, ":t": tenant, ":u": user_id, ":pending": "pending", ":now": now},
            condition="#s = :pending AND expires_at > :now", names={"#s": "status"})

    def polled(self, device_id: str, *, now: int, last: int, interval: int) -> bool:
        """Record a poll at ``now`` (and the interval the client is held to from now on), if no
        other poll was recorded since ``last``: False when two polls race (the slower is told
        to slow down)."""
        return self._table.update_if(keys.device_pk(device_id), keys.DEVICE, "SET last_poll = :now, #i = :interval",
                                     {":now": now, ":last": last, ":interval": interval},
                                     condition="last_poll = :last", names={"#i": "interval"})

    def spend(self, device_id: str, *, code_hash: str) -> bool:
        """Mark an approved request's tokens as issued: True exactly once."""
        return self._table.update_if(keys.device_pk(device_id), keys.DEVICE, "SET #s = :issued",
                                     {":issued": "issued", ":approved": "approved", ":h": code_hash},
                                     condition="#s = :approved AND #h = :h", names={"#s": "status", "#h": "hash"})
