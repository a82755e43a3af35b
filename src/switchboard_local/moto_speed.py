"""moto, made to cost what DynamoDB costs where the difference would mislead.

Queries: moto answers every Query - of the table or of an index - by sorting every item of the
table and then walking the sorted list, so one ``message.send``'s watchers Query cost grew with
the whole table (59% of the local stack's CPU at 100 visitors, issue 15). DynamoDB reads one
partition. :func:`partition_queries` makes moto look only at the queried partition: the base
table's partition by its key, an index's partition through a map of index key -> item keys kept
up to date on every write. Everything after that choice (key conditions, sorting, filters,
``Limit``, ``ExclusiveStartKey``, ``LastEvaluatedKey``) is moto's own code, unchanged;
``tests/local/test_moto_speed.py`` compares the answers with moto's own on random tables, writes
and queries.

Transactions: to roll a cancelled TransactWriteItems back, moto deep-copies every table it touches - once
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
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

__all__ = ["dynamodb_costs", "moto_own_queries", "partition_queries", "rollback_by_item"]


@contextmanager
def dynamodb_costs() -> Iterator[None]:
    """Both of this module's corrections, as ``switchboard dev`` and the bench run moto."""
    with ExitStack() as stack:
        stack.enter_context(rollback_by_item())
        stack.enter_context(partition_queries())
        yield


#: the items one Query on this thread may look at (None: moto's own choice, every item)
_candidates = threading.local()
#: set on a thread that wants moto's own answer (the tests compare the two)
_bypass = threading.local()
#: guards the index maps: handlers run on several threads in the local stack
_maps_lock = threading.RLock()
#: the attribute of a moto Table holding its index maps: index name -> hash value -> item keys
_MAPS = "_switchboard_index_partitions"
#: ... and item key -> (index name -> hash value it is filed under), to move or drop it
_FILED = "_switchboard_index_filed"


def _index_hash_attr(table: Any, index_name: str) -> str | None:
    """The single hash attribute of a table's index, or None when moto's path must answer
    (an index with a multi-attribute key, which Switchboard's template never declares)."""
    for index in table.all_indexes():
        if index.name == index_name:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            return hashes[0] if len(hashes) == 1 else None
    return None


def _file(table: Any, key: tuple[Any, Any]) -> None:
    """Put one item (by key) where it now belongs in every index map built so far."""
    maps: dict[str, dict[Any, set[tuple[Any, Any]]]] = getattr(table, _MAPS)
    filed: dict[tuple[Any, Any], dict[str, Any]] = getattr(table, _FILED)
    item = table.get_item(*key) if key[0] in table.items else None
    for index_name, old in filed.pop(key, {}).items():
        maps[index_name].get(old, set()).discard(key)
    if item is None:
        return
    now: dict[str, Any] = {}
    for index_name, partitions in maps.items():
        value = item.attrs.get(_index_hash_attr(table, index_name) or "")
        if value is not None:
            partitions.setdefault(value, set()).add(key)
            now[index_name] = value
    if now:
        filed[key] = now


def _index_partition(table: Any, index_name: str, value: Any) -> list[Any] | None:
    """The items filed under ``value`` in the index (built on first use), or None."""
    attr = _index_hash_attr(table, index_name)
    if attr is None or value is None:
        return None
    with _maps_lock:
        if not hasattr(table, _MAPS):
            setattr(table, _MAPS, {})
            setattr(table, _FILED, {})
        maps = getattr(table, _MAPS)
        if index_name not in maps:
            maps[index_name] = {}
            for item in _every_item(table):
                _file(table, (item.hash_key, item.range_key))
        keys = list(maps[index_name].get(value, ()))
    items = [table.get_item(*key) for key in keys if key[0] in table.items]
    return [item for item in items if item is not None]


def _every_item(table: Any) -> Iterator[Any]:
    for partition in list(table.items.values()):
        if table.range_key_attr:
            yield from list(partition.values())
        else:
            yield partition


def _key_of(table: Any, attrs: dict[str, Any]) -> tuple[Any, Any] | None:
    """An item's key from its raw attributes (a Key or a whole Item), as moto files it."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if table.hash_key_attr not in attrs:
        return None
    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
    return hash_value, range_value


def _refiling(original: Callable[..., Any]) -> Callable[..., Any]:
    """A backend write (put, update, delete: BatchWriteItem and TransactWriteItems call
    these) that files the item it wrote anew in the index maps, whatever the write did."""
    signature = inspect.signature(original)

    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        try:
            return original(self, *args, **kwargs)
        finally:
            table = self.tables.get(bound.arguments["table_name"])
            if table is not None and hasattr(table, _MAPS):
                key = _key_of(table, bound.arguments.get("key") or bound.arguments.get("item_attrs") or {})
                if key is not None:
                    with _maps_lock:
                        _file(table, key)

    return write


@contextmanager
def moto_own_queries() -> Iterator[None]:
    """Within :func:`partition_queries`, answer this thread's queries moto's own way."""
    _bypass.on = True
    try:
        yield
    finally:
        _bypass.on = False


@contextmanager
def partition_queries() -> Iterator[None]:
    """Make moto's Query cost what DynamoDB's does: O(the queried partition), not O(table).

    moto picks a Query's candidates from ``Table.all_items()`` - every item, sorted - and
    then applies the key conditions. Within this context it picks them from the queried
    partition only: the base table's by its hash key, an index's from a map kept current by
    every put, update and delete (and by a cancelled transaction's rollback). The rest of
    moto's query (conditions, order, filters, limits, paging) runs as before.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    original_all_items = Table.all_items
    original_query = Table.query
    original_transact = models.DynamoDBBackend.transact_write_items
    originals = {name: getattr(models.DynamoDBBackend, name) for name in ("put_item", "update_item", "delete_item")}

    def all_items(self: Any) -> list[Any]:
        chosen = getattr(_candidates, "items", None)
        return original_all_items(self) if chosen is None or chosen[0] is not self else chosen[1]

    def query(self: Any, hash_key: Any, range_comparison: Any, range_objs: Any, limit: Any,
              exclusive_start_key: Any, scan_index_forward: Any, projection_expressions: Any,
              index_name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        chosen: list[Any] | None = None
        if getattr(_bypass, "on", False):
            pass
        elif index_name is None and hash_key is not None:
            partition = self.items.get(hash_key)
            chosen = [] if partition is None else list(partition.values()) if self.range_key_attr else [partition]
        elif index_name is not None:
            conditions = kwargs.get("hash_key_conditions") or []
            if len(conditions) == 1 and conditions[0][0] == _index_hash_attr(self, index_name):
                chosen = _index_partition(self, index_name, conditions[0][1])
        _candidates.items = None if chosen is None else (self, chosen)
        try:
            return original_query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                                  scan_index_forward, projection_expressions, index_name, *args, **kwargs)
        finally:
            _candidates.items = None

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        try:
            original_transact(self, transact_items)
        finally:  # a cancelled transaction's rollback puts items back behind the writes' backs
            with _maps_lock:
                for entry in transact_items:
                    _, op = next(iter(entry.items()))
                    table = self.tables.get(op.get("TableName"))
                    if table is not None and hasattr(table, _MAPS):
                        key = _key_of(table, op.get("Key") or op.get("Item") or {})
                        if key is not None:
                            _file(table, key)

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    for name, original in originals.items():
        setattr(models.DynamoDBBackend, name, _refiling(original))
    try:
        yield
    finally:
        Table.all_items = original_all_items  # type: ignore[method-assign]
        Table.query = original_query  # type: ignore[method-assign]
        models.DynamoDBBackend.transact_write_items = original_transact  # type: ignore[method-assign]
        for name, original in originals.items():
            setattr(models.DynamoDBBackend, name, original)


@contextmanager
def rollback_by_item() -> Iterator[None]:
    """Make moto's TransactWriteItems cost what DynamoDB's does: O(items in the transaction).

    To roll a cancelled transaction back, moto deep-copies every table it touches - once per
    item of the transaction - so with 10,000 connections in the table one message.send takes
    seconds in moto, a cost DynamoDB does not have. Within this context moto snapshots only
    the items the transaction names and restores those if it is cancelled (whole-table copies
    become no-ops), and drops the stream records its writes left. Checked by
    tests/chat/test_dynamodb_calls.py: a cancelled transaction still changes nothing, in the
    table or its stream.
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
        streams: dict[int, tuple[Any, int]] = {}  # a table's stream as it was (moto's table copy restored it too)
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.get_table(op["TableName"])
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
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
            for shard, length in streams.values():  # a cancelled write never reaches the stream
                del shard.items[length:]
            raise
        finally:
            models.copy.deepcopy = real_deepcopy  # type: ignore[attr-defined]

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        models.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
