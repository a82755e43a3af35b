"""moto, made to cost what DynamoDB costs where the difference would mislead.

To roll a cancelled TransactWriteItems back, moto deep-copies every table it touches - once
per item of the transaction. DynamoDB has no such cost: with a few thousand items in the
table one ``message.send`` (one transaction) takes seconds in moto, which made
``switchboard dev`` crawl as its table grew (bench/ load section) and hid, in the bench, the
figures that matter. :func:`rollback_by_item` snapshots only the items a transaction names
and restores those if it is cancelled. ``tests/chat/test_dynamodb_calls.py`` checks that a
cancelled transaction still changes nothing, so a moto release that changes these internals
fails there first.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["rollback_by_item"]


@contextmanager
def rollback_by_item() -> Iterator[None]:
    """Make moto's TransactWriteItems cost what DynamoDB's does: O(items in the transaction).

    To roll a cancelled transaction back, moto deep-copies every table it touches - once per
    item of the transaction - so with 10,000 connections in the table one message.send takes
    seconds in moto, a cost DynamoDB does not have. Within this context moto snapshots only
    the items the transaction names and restores those if it is cancelled (whole-table copies
    become no-ops). Checked by tests/chat/test_dynamodb_calls.py: a cancelled transaction
    still changes nothing.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    real_deepcopy = copy.deepcopy
    original = models.DynamoDBBackend.transact_write_items

    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else real_deepcopy(value, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.get_table(op["TableName"])
            key = op.get("Key") or {a: op["Item"][a] for a in (table.hash_key_attr, table.range_key_attr) if a}
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            before = table.get_item(hash_value, range_value)
            saved.append((table, hash_value, range_value, real_deepcopy(before) if before is not None else None))
        models.copy.deepcopy = deepcopy  # type: ignore[attr-defined]
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, before in reversed(saved):
                partition = table.items[hash_value]
                if before is None:
                    partition.pop(range_value, None)
                else:
                    partition[range_value] = before
            raise
        finally:
            models.copy.deepcopy = real_deepcopy  # type: ignore[attr-defined]

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        models.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
