"""DynamoDB primitives: the client, the wire format, and AWS errors turned into domain errors.

The record modules of :mod:`switchboard.store` say *what* to read and write; this module
says *how*: one lazily made client per container, short timeouts, BatchWrite's and
BatchGet's "ask again for the rest", and one translation of ``ClientError`` - a condition
that did not hold is the caller's to interpret (:class:`Cancelled`, ``False``,
:class:`~switchboard.errors.Conflict`, :class:`~switchboard.errors.NotFound`); anything
else (throttling, a conflicting transaction, a timeout) is
:class:`~switchboard.errors.Unavailable`: retry later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from switchboard import settle
from switchboard.container import per_container
from switchboard.errors import Conflict, NotFound, Unavailable
from switchboard.store import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["Cancelled", "Table", "dynamodb_client", "from_wire", "to_wire"]

settle()  # boto3 is loaded: see switchboard.settle
_ser = TypeSerializer()
_de = TypeDeserializer()
TRANSACT_MAX = 100  # DynamoDB's limit of items per TransactWriteItems
BATCH_WRITE_MAX = 25  # ... per BatchWriteItem
BATCH_GET_MAX = 100  # ... per BatchGetItem
UNAVAILABLE = "storage unavailable"


@per_container
def dynamodb_client() -> DynamoDBClient:
    """One client per container. Timeouts are short: a Lambda answering a browser should
    fail fast and let the client retry rather than hang."""
    from botocore.config import Config

    from switchboard import aws

    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    made: DynamoDBClient = aws.client("dynamodb", config=config)
    settle()  # the client's service model lives as long as the container
    return made


def to_wire(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values to DynamoDB's typed form; ``None`` attributes are left out (not stored)."""
    return {k: _ser.serialize(v) for k, v in values.items() if v is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def from_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed form to plain values (numbers as int where whole, else float)."""
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}


def conditional_failed(exc: ClientError) -> bool:
    """A condition did not hold - not a throttled or conflicting transaction (those are
    :class:`Unavailable`: retry later), whose cancellation carries no ConditionalCheckFailed."""
    code = exc.response.get("Error", {}).get("Code")
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons") or []
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)
    return code == "ConditionalCheckFailedException"


class Cancelled(Exception):
    """DynamoDB cancelled a transaction. ``codes[i]`` is why for item ``i`` (``None`` if that
    item was fine); :meth:`failed` and :meth:`item` read them. The record modules decide what
    a failed condition means (a conflict, a refused rotation, a changed operator...)."""

    def __init__(self, reasons: list[Any]) -> None:
        super().__init__("transaction cancelled")
        self.reasons = reasons
        self.codes: list[str | None] = [r.get("Code") for r in reasons]

    def failed(self, index: int) -> bool:
        """Whether item ``index`` failed its condition."""
        return len(self.codes) > index and self.codes[index] == "ConditionalCheckFailed"

    @property
    def conditional(self) -> bool:
        """Whether any item failed its condition (else: throttled or conflicting - retry later)."""
        return "ConditionalCheckFailed" in self.codes

    def item(self, index: int) -> dict[str, Any] | None:
        """Item ``index`` as it was, for an item written with ReturnValuesOnConditionCheckFailure."""
        old = self.reasons[index].get("Item") if len(self.reasons) > index else None
        return from_wire(old) if old else None


class Table:
    """The table and its client: the only object that calls DynamoDB."""

    def __init__(self, name: str, client: DynamoDBClient | None = None) -> None:
        self.name = name
        self._client = client
        self._client_lock = threading.Lock()

    @property
    def client(self) -> DynamoDBClient:
        # made once even when the first calls come from several threads at once (the rate
        # limiter's counters): a cold container must not build three clients
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = dynamodb_client()
        return self._client

    # -- single items ---------------------------------------------------------------------------
    def get(self, pk: str, sk: str, *, consistent: bool = False) -> dict[str, Any] | None:
        try:
            resp = self.client.get_item(TableName=self.name, Key=to_wire(keys.key(pk, sk)), ConsistentRead=consistent)
        except ClientError as exc:
            raise Unavailable(UNAVAILABLE) from exc
        item = resp.get("Item")
        return from_wire(item) if item else None

    def put(self, values: dict[str, Any]) -> None:
        try:
            self.client.put_item(TableName=self.name, Item=to_wire(values))
        except ClientError as exc:
            raise Unavailable(UNAVAILABLE) from exc

    def put_if(self, values: dict[str, Any], *, condition: str, values_of_condition: dict[str, Any] | None = None,
               ) -> bool:
        """A PutItem that answers False, not an error, when its condition does not hold."""
        kwargs: dict[str, Any] = ({"ExpressionAttributeValues": to_wire(values_of_condition)}
                                  if values_of_condition else {})
        try:
            self.client.put_item(TableName=self.name, Item=to_wire(values), ConditionExpression=condition, **kwargs)
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise Unavailable(UNAVAILABLE) from exc
        return True

    def update(self, pk: str, sk: str, expression: str, values: dict[str, Any], *, condition: str | None = None,
               ) -> None:
        """An UpdateItem; a condition that does not hold is :class:`NotFound`."""
        kwargs: dict[str, Any] = {"ConditionExpression": condition} if condition else {}
        try:
            self.client.update_item(
                TableName=self.name,
                Key=to_wire(keys.key(pk, sk)),
                UpdateExpression=expression,
                ExpressionAttributeValues=to_wire(values),
                **kwargs,
            )
        except ClientError as exc:
            if conditional_failed(exc):
                raise NotFound("not found") from exc
            raise Unavailable(UNAVAILABLE) from exc

    def update_if(self, pk: str, sk: str, expression: str, values: dict[str, Any], *, condition: str,
                  names: dict[str, str] | None = None) -> bool:
        """An UpdateItem that answers False, not an error, when its condition does not hold."""
        kwargs: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            self.client.update_item(TableName=self.name, Key=to_wire(keys.key(pk, sk)),
                                    UpdateExpression=expression, ConditionExpression=condition,
                                    ExpressionAttributeValues=to_wire(values), **kwargs)
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise Unavailable(UNAVAILABLE) from exc
        return True

    def add(self, pk: str, sk: str, expression: str, values: dict[str, Any], names: dict[str, str],
            ) -> dict[str, Any]:
        """An unconditional UpdateItem that answers the updated attributes (counters)."""
        try:
            resp = self.client.update_item(
                TableName=self.name, Key=to_wire(keys.key(pk, sk)), UpdateExpression=expression,
                ExpressionAttributeNames=names, ExpressionAttributeValues=to_wire(values), ReturnValues="UPDATED_NEW")
        except ClientError as exc:
            raise Unavailable(UNAVAILABLE) from exc
        return from_wire(resp["Attributes"])

    def delete_if(self, pk: str, sk: str, *, condition: str, names: dict[str, str], values: dict[str, Any]) -> bool:
        """A conditional DeleteItem: True if it deleted, False if the condition did not hold."""
        try:
            self.client.delete_item(TableName=self.name, Key=to_wire(keys.key(pk, sk)), ConditionExpression=condition,
                                    ExpressionAttributeNames=names, ExpressionAttributeValues=to_wire(values))
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise Unavailable(UNAVAILABLE) from exc
        return True

    def take(self, pk: str, sk: str, *, condition: str, values: dict[str, Any]) -> dict[str, Any] | None:
        """Delete an item if ``condition`` holds and answer it as it was (ReturnValues
        ALL_OLD), else None: a single-use record is consumed exactly once, even under races."""
        try:
            resp = self.client.delete_item(TableName=self.name, Key=to_wire(keys.key(pk, sk)),
                                           ConditionExpression=condition, ExpressionAttributeValues=to_wire(values),
                                           ReturnValues="ALL_OLD")
        except ClientError as exc:
            if conditional_failed(exc):
                return None
            raise Unavailable(UNAVAILABLE) from exc
        old = resp.get("Attributes")
        return from_wire(old) if old else None

    # -- queries --------------------------------------------------------------------------------
    def query(self, pk: str, prefix: str, *, consistent: bool = False) -> Iterator[dict[str, Any]]:
        """Every item of ``pk`` whose sort key begins with ``prefix``, page after page."""
        kwargs: dict[str, Any] = {}
        while True:
            try:
                resp = self.client.query(
                    TableName=self.name,
                    ConsistentRead=consistent,
                    KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                    ExpressionAttributeValues=to_wire({":p": pk, ":s": prefix}),
                    **kwargs,
                )
            except ClientError as exc:
                raise Unavailable(UNAVAILABLE) from exc
            yield from (from_wire(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def query_page(self, condition: str, values: dict[str, Any], *, limit: int, index: str | None = None,
                   newest_first: bool = False, consistent: bool = False, start: dict[str, Any] | None = None,
                   ) -> tuple[list[dict[str, Any]], bool]:
        """One Query page of at most ``limit`` items: the items and whether DynamoDB stopped
        early (a LastEvaluatedKey; DynamoDB also sets one when it stops exactly at the end).
        ``start``: the key of the item to continue after (ExclusiveStartKey)."""
        kwargs: dict[str, Any] = {"IndexName": index} if index else {}
        if newest_first:
            kwargs["ScanIndexForward"] = False
        if consistent:
            kwargs["ConsistentRead"] = True
        if start:
            kwargs["ExclusiveStartKey"] = to_wire(start)
        try:
            resp = self.client.query(TableName=self.name, KeyConditionExpression=condition,
                                     ExpressionAttributeValues=to_wire(values), Limit=limit, **kwargs)
        except ClientError as exc:
            raise Unavailable(UNAVAILABLE) from exc
        return [from_wire(i) for i in resp.get("Items", [])], "LastEvaluatedKey" in resp

    def batch_get(self, key_list: list[dict[str, str]]) -> list[dict[str, Any]]:
        """BatchGetItem (one call per 100 keys), consistent, asking again for unprocessed keys
        (BatchGet's contract); in no particular order."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(key_list), BATCH_GET_MAX):
            wanted = [to_wire(k) for k in key_list[start:start + BATCH_GET_MAX]]
            request: Any = {self.name: {"Keys": wanted, "ConsistentRead": True}}
            while request:
                try:
                    resp = self.client.batch_get_item(RequestItems=request)
                except ClientError as exc:
                    raise Unavailable(UNAVAILABLE) from exc
                found += [from_wire(raw) for raw in resp.get("Responses", {}).get(self.name, [])]
                request = resp.get("UnprocessedKeys") or None
        return found

    # -- transactions ---------------------------------------------------------------------------
    def write_transaction(self, items: list[Any], *, token: str | None = None) -> None:
        """TransactWriteItems; :class:`Cancelled` (with each item's reason) if DynamoDB
        cancelled it, :class:`Unavailable` for anything else. ``token``: the idempotency
        token, so that the SDK's retry of a transaction that did commit succeeds again."""
        kwargs: dict[str, Any] = {"ClientRequestToken": token} if token else {}
        try:
            self.client.transact_write_items(TransactItems=items, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise Cancelled(exc.response.get("CancellationReasons") or []) from exc
            raise Unavailable(UNAVAILABLE) from exc

    def transact(self, items: list[Any], *, conflict: str = "the resource changed meanwhile") -> None:
        """A transaction whose any failed condition is a :class:`Conflict` saying ``conflict``."""
        try:
            self.write_transaction(items)
        except Cancelled as exc:
            if exc.conditional:
                raise Conflict(conflict) from exc
            raise Unavailable(UNAVAILABLE) from exc

    def transact_in_chunks(self, items: list[Any], *, missing: str) -> None:
        """Transactions of up to 100 items (all of a user's sessions at once); a failed
        condition is :class:`NotFound` saying ``missing``."""
        for start in range(0, len(items), TRANSACT_MAX):
            try:
                self.write_transaction(items[start:start + TRANSACT_MAX])
            except Cancelled as exc:
                if exc.conditional:
                    raise NotFound(missing) from exc
                raise Unavailable(UNAVAILABLE) from exc

    # -- transaction items ----------------------------------------------------------------------
    def put_item(self, values: dict[str, Any], *, condition: str | None = None) -> dict[str, Any]:
        """A ``Put`` of a transaction."""
        put: dict[str, Any] = {"TableName": self.name, "Item": to_wire(values)}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def delete_item(self, pk: str, sk: str, *, condition: str | None = None, names: dict[str, str] | None = None,
                    values: dict[str, Any] | None = None) -> dict[str, Any]:
        """A ``Delete`` of a transaction."""
        delete: dict[str, Any] = {"TableName": self.name, "Key": to_wire(keys.key(pk, sk))}
        if condition:
            delete["ConditionExpression"] = condition
        if names:
            delete["ExpressionAttributeNames"] = names
        if values:
            delete["ExpressionAttributeValues"] = to_wire(values)
        return {"Delete": delete}

    def update_item(self, pk: str, sk: str, expression: str, values: dict[str, Any], *, condition: str | None = None,
                    names: dict[str, str] | None = None, return_old: bool = False) -> dict[str, Any]:
        """An ``Update`` of a transaction; ``return_old``: the item as it was comes back with a
        failed condition (:meth:`Cancelled.item`)."""
        update: dict[str, Any] = {"TableName": self.name, "Key": to_wire(keys.key(pk, sk)),
                                  "UpdateExpression": expression}
        if condition:
            update["ConditionExpression"] = condition
        if names:
            update["ExpressionAttributeNames"] = names
        update["ExpressionAttributeValues"] = to_wire(values)
        if return_old:
            update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Update": update}

    def check_item(self, pk: str, sk: str, condition: str, values: dict[str, Any], *,
                   names: dict[str, str] | None = None, return_old: bool = False) -> dict[str, Any]:
        """A ``ConditionCheck`` of a transaction."""
        check: dict[str, Any] = {"TableName": self.name, "Key": to_wire(keys.key(pk, sk)),
                                 "ConditionExpression": condition}
        if names:
            check["ExpressionAttributeNames"] = names
        check["ExpressionAttributeValues"] = to_wire(values)
        if return_old:
            check["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"ConditionCheck": check}

    # -- batches --------------------------------------------------------------------------------
    def batch_put(self, values: list[dict[str, Any]]) -> None:
        self.batch_write([{"PutRequest": {"Item": to_wire(v)}} for v in values])

    def batch_delete(self, key_list: list[dict[str, str]]) -> None:
        self.batch_write([{"DeleteRequest": {"Key": to_wire(k)}} for k in key_list])

    def batch_write(self, requests: list[Any]) -> None:
        """BatchWriteItem in chunks of 25, asking again for unprocessed items (BatchWrite's contract)."""
        for start in range(0, len(requests), BATCH_WRITE_MAX):
            pending: Any = {self.name: requests[start:start + BATCH_WRITE_MAX]}
            for attempt in range(6):
                try:
                    resp = self.client.batch_write_item(RequestItems=pending)
                except ClientError as exc:
                    raise Unavailable(UNAVAILABLE) from exc
                pending = resp.get("UnprocessedItems") or None
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise Unavailable(UNAVAILABLE)
