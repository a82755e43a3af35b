"""switchboard_local.moto_speed.partition_queries: moto answers a Query from the queried
partition only (issue 15: its own Query sorted the whole table), and answers exactly as moto
itself does - for any table content reached by any mix of writes, and any Query."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard_local.moto_speed import dynamodb_costs, moto_own_queries

TABLE = "speed"
PKS = ["a", "b", "c"]
SKS = ["1", "2", "3", "4", "5"]
GSI_PKS = ["x", "y"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))


@pytest.fixture(scope="module")
def client() -> Any:
    from moto import mock_aws

    with mock_aws(), dynamodb_costs():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="testing",
                                aws_secret_access_key="testing")
        dynamodb.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g1", "g1s", "g2")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {"IndexName": "by-g1", "Projection": {"ProjectionType": "ALL"},
                 "KeySchema": [{"AttributeName": "g1", "KeyType": "HASH"},
                               {"AttributeName": "g1s", "KeyType": "RANGE"}]},
                {"IndexName": "by-g2", "Projection": {"ProjectionType": "KEYS_ONLY"},
                 "KeySchema": [{"AttributeName": "g2", "KeyType": "HASH"}]},
            ])
        yield dynamodb


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


optional = st.one_of(st.none(), st.sampled_from(GSI_PKS))
items = st.builds(lambda pk, sk, g1, g1s, g2, n: {
    **_key(pk, sk), "n": {"N": str(n)},
    **({"g1": {"S": g1}} if g1 else {}), **({"g1s": {"S": g1s}} if g1s else {}), **({"g2": {"S": g2}} if g2 else {})},
    st.sampled_from(PKS), st.sampled_from(SKS), optional, st.one_of(st.none(), st.sampled_from(SKS)), optional,
    st.integers(0, 9))
writes = st.one_of(
    st.tuples(st.just("put"), items),
    st.tuples(st.just("delete"), st.tuples(st.sampled_from(PKS), st.sampled_from(SKS))),
    st.tuples(st.just("move"), st.tuples(st.sampled_from(PKS), st.sampled_from(SKS), optional)),
    st.tuples(st.just("cancelled"), items),
    st.tuples(st.just("batch"), st.lists(items, max_size=4, unique_by=lambda i: (i["pk"]["S"], i["sk"]["S"]))),
)
comparisons = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["=", "<", "<=", ">", ">="]), st.sampled_from(SKS)),
    st.tuples(st.just("between"), st.sampled_from(SKS), st.sampled_from(SKS)).filter(lambda c: c[1] <= c[2]),
    st.tuples(st.just("begins"), st.sampled_from(SKS)),
)
queries = st.fixed_dictionaries({
    "index": st.sampled_from([None, "by-g1", "by-g2"]),
    "value": st.sampled_from(PKS + GSI_PKS),
    "range": comparisons,
    "forward": st.booleans(),
    "limit": st.one_of(st.none(), st.integers(1, 4)),
    "filter": st.booleans(),
})


def apply(client: Any, write: tuple[str, Any]) -> None:
    kind, value = write
    if kind == "put":
        client.put_item(TableName=TABLE, Item=value)
    elif kind == "delete":
        client.delete_item(TableName=TABLE, Key=_key(*value))
    elif kind == "move":  # an update that moves the item to another index partition, or off the index
        pk, sk, g1 = value
        if g1:
            client.update_item(TableName=TABLE, Key=_key(pk, sk), UpdateExpression="SET g1 = :g, g2 = :g, g1s = :s",
                               ExpressionAttributeValues={":g": {"S": g1}, ":s": {"S": sk}})
        else:
            client.update_item(TableName=TABLE, Key=_key(pk, sk), UpdateExpression="REMOVE g1, g2")
    elif kind == "cancelled":  # a transaction whose write is rolled back by its failed check
        with pytest.raises(ClientError):
            client.transact_write_items(TransactItems=[
                {"Put": {"TableName": TABLE, "Item": value}},
                {"ConditionCheck": {"TableName": TABLE, "Key": _key("never", "0"),
                                    "ConditionExpression": "attribute_exists(pk)"}}])
    elif value:
        client.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": i}} for i in value]})


def query_pages(client: Any, q: dict[str, Any]) -> list[tuple[list[Any], Any]]:
    """Every page of the query, each with its LastEvaluatedKey, following the cursor."""
    hash_name = {None: "pk", "by-g1": "g1", "by-g2": "g2"}[q["index"]]
    range_name = {None: "sk", "by-g1": "g1s", "by-g2": None}[q["index"]]
    condition, values = "#h = :h", {":h": {"S": q["value"]}}
    names = {"#h": hash_name}
    if q["range"] and range_name:
        names["#r"] = range_name
        op, *bounds = q["range"]
        values.update({f":r{i}": {"S": b} for i, b in enumerate(bounds)})
        condition += {"between": " AND #r BETWEEN :r0 AND :r1", "begins": " AND begins_with(#r, :r0)"}.get(
            op, f" AND #r {op} :r0")
    args: dict[str, Any] = {"TableName": TABLE, "KeyConditionExpression": condition,
                            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
                            "ScanIndexForward": q["forward"]}
    if q["index"]:
        args["IndexName"] = q["index"]
    if q["limit"]:
        args["Limit"] = q["limit"]
    if q["filter"]:
        args["FilterExpression"] = "attribute_not_exists(n) OR n < :five"
        args["ExpressionAttributeValues"] = {**values, ":five": {"N": "5"}}
    pages = []
    for _ in range(40):
        page = client.query(**args)
        pages.append((page["Items"], page.get("LastEvaluatedKey")))
        if "LastEvaluatedKey" not in page:
            break
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return pages


@settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("FUZZ_SEED") != "random",
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(writes, max_size=25), st.lists(queries, min_size=1, max_size=6))
def test_a_partition_query_answers_what_motos_own_query_answers(client, history, asked):
    # Given a table (and two indexes) reached by any mix of puts, deletes, updates that move an
    # item between index partitions or off an index, cancelled transactions and batch writes
    for item in client.scan(TableName=TABLE)["Items"]:
        client.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    for write in history:
        apply(client, write)
    for q in asked:
        # When the same query runs from the partition, and moto's own way over the whole table
        fast = query_pages(client, q)
        with moto_own_queries():
            own = query_pages(client, q)
        # Then every page, its items, their order and the cursor are the same
        assert fast == own, q


def test_a_query_looks_only_at_its_partition(client, monkeypatch):
    # Given a table with many items in other partitions, and two in the one queried
    from moto.dynamodb.models.dynamo_type import DynamoType

    for i in range(60):
        client.put_item(TableName=TABLE, Item={**_key("other", f"{i:03}"), "g1": {"S": "y"}, "g1s": {"S": "1"}})
    for sk in ("1", "2"):
        client.put_item(TableName=TABLE, Item={**_key("mine", sk), "g1": {"S": "mine"}, "g1s": {"S": sk}})
    compared: list[int] = []
    real_eq, real_lt = DynamoType.__eq__, DynamoType.__lt__
    monkeypatch.setattr(DynamoType, "__eq__", lambda a, b: compared.append(1) or real_eq(a, b))
    monkeypatch.setattr(DynamoType, "__lt__", lambda a, b: compared.append(1) or real_lt(a, b))
    monkeypatch.setattr(DynamoType, "__hash__", DynamoType.__hash__)

    def work(**query):
        compared.clear()
        answer = [i["sk"]["S"] for i in client.query(TableName=TABLE, **query)["Items"]]
        return answer, len(compared)

    for query in ({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "mine"}}},
                  {"IndexName": "by-g1", "KeyConditionExpression": "g1 = :p",
                   "ExpressionAttributeValues": {":p": {"S": "mine"}}}):
        # When the base table and an index are queried for that partition, and moto's own way
        fast, fast_work = work(**query)
        with moto_own_queries():
            own, own_work = work(**query)
        # Then both answer the two items, the partition query touching a fraction of what moto's
        # own does (it compares and sorts every item of the table)
        assert fast == own == ["1", "2"]
        assert fast_work * 5 < own_work, (fast_work, own_work)


def test_an_item_a_cancelled_transaction_would_have_moved_stays_in_its_index_partition(client):
    # Given an item in one index partition
    item = {**_key("rolled", "1"), "g1": {"S": "x"}, "g1s": {"S": "1"}, "g2": {"S": "x"}}
    client.put_item(TableName=TABLE, Item=item)

    def in_partition(value: str) -> list[str]:
        page = client.query(TableName=TABLE, IndexName="by-g1", KeyConditionExpression="g1 = :g",
                            ExpressionAttributeValues={":g": {"S": value}})
        return [i["pk"]["S"] for i in page["Items"] if i["pk"]["S"] == "rolled"]

    assert in_partition("x") == ["rolled"]
    # When a transaction that moves it to another partition is cancelled (its write rolled back)
    apply(client, ("cancelled", {**item, "g1": {"S": "y"}}))
    # Then it is still found where it is, and not where it would have gone
    assert in_partition("x") == ["rolled"]
    assert in_partition("y") == []
