"""A website visitor's attributes (contract section 8): what the website said of them at their
last sign-in (``user.attributes``), and whether it signed them.

Key: ``U#<tid>#<uid>`` / ``VATTRS``, beside the visitor's sessions. The values are kept as
their JSON text (DynamoDB has no binary floats; the text is exactly what the website sent). One set per visitor, the
latest sign-in's, replaced whole: signed and unsigned values are never mixed in one set.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.store import codecs, keys
from switchboard.store.dynamo import Table

__all__ = ["VisitorAttributes", "Visitors"]


class VisitorAttributes(msgspec.Struct, frozen=True):
    values: dict[str, Any]
    signed: bool
    at: int


class Visitors:
    """Visitors' attributes."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put_attributes(self, tenant: str, user_id: str, values: dict[str, Any], *, signed: bool, at: int) -> None:
        """Replace the visitor's attributes with this sign-in's (an empty set forgets them)."""
        self._table.put({"pk": keys.user_pk(tenant, user_id), "sk": keys.VISITOR_ATTRIBUTES, "tenant": tenant,
                         "user_id": user_id, "values": codecs.attributes_text(values), "signed": signed, "at": at})

    def attributes(self, tenant: str, user_id: str) -> VisitorAttributes | None:
        """The visitor's attributes, if the website gave any: one GetItem (eventually
        consistent: they were written at sign-in, before the widget connected)."""
        raw = self._table.get(keys.user_pk(tenant, user_id), keys.VISITOR_ATTRIBUTES)
        if not raw or not raw.get("values"):
            return None
        return VisitorAttributes(values=codecs.attributes_of(raw["values"]), signed=bool(raw.get("signed")),
                                 at=int(raw.get("at", 0)))
