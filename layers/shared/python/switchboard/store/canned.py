"""Canned replies: a tenant's saved answers (contract section 8).

Keys: ``T#<tid>`` / ``CANNED#<id>`` (the reply; Query begins_with ``CANNED#`` lists the
tenant's, in id order: oldest first) and ``T#<tid>`` / ``SHORTCUT#<shortcut>`` (a pointer
that makes a shortcut unique per tenant: created, moved and deleted in one transaction with
its reply, conditionally, so two admins saving the same shortcut at once cannot both win).
"""

from __future__ import annotations

from typing import Any

from switchboard.errors import Conflict, NotFound
from switchboard.models import CannedReply
from switchboard.store import keys
from switchboard.store.dynamo import Cancelled, Table

__all__ = ["Canned"]

def _item(c: CannedReply) -> dict[str, Any]:
    return {"pk": keys.tenant_pk(c.tenant), "sk": keys.canned_sk(c.id), "canned_id": c.id, "tenant": c.tenant,
            "title": c.title, "text": c.text, "shortcut": c.shortcut, "created_at": c.created_at,
            "updated_at": c.updated_at}


def _reply(r: dict[str, Any]) -> CannedReply:
    return CannedReply(tenant=r["tenant"], id=r["canned_id"], title=r["title"], text=r["text"],
                       shortcut=r["shortcut"], created_at=int(r["created_at"]), updated_at=int(r["updated_at"]))


class Canned:
    """A tenant's canned replies and their shortcuts."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def of_tenant(self, tenant: str) -> list[CannedReply]:
        """Query ``T#<tid>`` begins_with ``CANNED#`` (consistent: what an admin just saved is listed)."""
        return [_reply(r) for r in self._table.query(keys.tenant_pk(tenant), keys.CANNED, consistent=True)]

    def get(self, tenant: str, canned_id: str) -> CannedReply | None:
        raw = self._table.get(keys.tenant_pk(tenant), keys.canned_sk(canned_id), consistent=True)
        return _reply(raw) if raw else None

    def create(self, c: CannedReply) -> None:
        """The reply and its shortcut pointer; :class:`Conflict` if the shortcut is taken."""
        t = self._table
        self._write([
            t.put_item(_item(c), condition="attribute_not_exists(pk)"),
            t.put_item({"pk": keys.tenant_pk(c.tenant), "sk": keys.shortcut_sk(c.shortcut), "canned_id": c.id},
                       condition="attribute_not_exists(pk)"),
        ], taken_at=1)

    def replace(self, old: CannedReply, new: CannedReply) -> None:
        """``new`` if the reply is still as ``old`` (``updated_at``); a changed shortcut moves
        its pointer in the same transaction."""
        t = self._table
        items: list[Any] = [t.update_item(
            keys.tenant_pk(new.tenant), keys.canned_sk(new.id),
            "SET #title = :t, #text = :x, shortcut = :s, updated_at = :now",
            {":t": new.title, ":x": new.text, ":s": new.shortcut, ":now": new.updated_at, ":u": old.updated_at},
            condition="updated_at = :u", names={"#title": "title", "#text": "text"})]
        if new.shortcut != old.shortcut:
            items += [t.put_item({"pk": keys.tenant_pk(new.tenant), "sk": keys.shortcut_sk(new.shortcut),
                                  "canned_id": new.id}, condition="attribute_not_exists(pk)"),
                      t.delete_item(keys.tenant_pk(old.tenant), keys.shortcut_sk(old.shortcut))]
        self._write(items, taken_at=1)

    def delete(self, c: CannedReply) -> None:
        t = self._table
        self._write([t.delete_item(keys.tenant_pk(c.tenant), keys.canned_sk(c.id), condition="attribute_exists(pk)"),
                     t.delete_item(keys.tenant_pk(c.tenant), keys.shortcut_sk(c.shortcut))], taken_at=None)

    def _write(self, items: list[Any], *, taken_at: int | None) -> None:
        try:
            self._table.write_transaction(items)
        except Cancelled as exc:
            if taken_at is not None and exc.failed(taken_at):
                raise Conflict("a canned reply of this tenant has this shortcut already") from exc
            if exc.failed(0):
                raise NotFound("no such canned reply (or it changed meanwhile)") from exc
            raise
