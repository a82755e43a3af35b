"""The DynamoDB work of message.send grows with the channel's watchers, never with the table's size
(contract section 5). Counted with botocore event hooks on the layer's own client."""

from __future__ import annotations

import time

import pytest

from tests.chat_support import CallLog, item, new_connection_id, rollback_by_item, table_keys, visitor_tokens
from tests.conftest import OPERATOR


def seed_unrelated_connections(svc, n, *, other_channel="0000000000000-elsewhere"):
    """``n`` connection records of other visitors (``C#<cid>`` / ``CONN``, as $connect writes them),
    a fifth of them watching another channel, written with BatchWriteItem, 25 items a call.

    (Their per-user entries are left out: they are another partition no message.send reads,
    and moto spends ~0.3 ms on every item written. For speed the seeding client also skips
    its parameter validation, and moto its per-attribute item-size check - quadratic in the
    attributes, and guarding a 400 KB limit these few-hundred-byte items are far from.)"""
    import boto3
    from boto3.dynamodb.types import TypeSerializer
    from botocore.config import Config
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    expires = int(time.time()) + 7200
    items = []
    for i in range(n):
        cid, uid = new_connection_id(), f"anon-seed{i:06d}"
        items.append({"pk": f"C#{cid}", "sk": "CONN", "connection_id": cid, "tenant": "acme", "user_id": uid,
                      "session_id": f"s{i}", "role": "visitor", "lvl": 0, "name": "Visitor",
                      "scopes": {"chat:read", "chat:write"}, "connected_at": expires - 7200,
                      "expires_at": expires, "ttl": expires})
        if i % 5 == 0:
            items.append({"pk": f"CH#{other_channel}", "sk": f"W#{cid}", "connection_id": cid, "user_id": uid,
                          "role": "visitor", "expires_at": expires, "ttl": expires})
    ser = TypeSerializer()
    seeder = boto3.client("dynamodb", config=Config(parameter_validation=False))
    checked = LimitedSizeDict.__setitem__
    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[method-assign,assignment]
    try:
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": {k: ser.serialize(v) for k, v in it.items()}}}
                     for it in items[start:start + 25]]
            resp = seeder.batch_write_item(RequestItems={svc.store.table: batch})
            assert not resp.get("UnprocessedItems")
    finally:
        LimitedSizeDict.__setitem__ = checked  # type: ignore[method-assign]
    return len(items)


_client_ids = iter(range(10**9))


def count_send(svc, sender, channel, n=2):
    """DynamoDB calls and items read per message.send, over ``n`` sends (each a new message)."""
    counts = []
    for i in range(n):
        counter = CallLog()
        with counter.counting(svc.store.client):
            sender.ok("message.send", channel_id=channel["id"], text=f"m{i}", client_id=f"c{next(_client_ids)}")
        counts.append((sorted(counter.names()), counter.items_read))
    assert all(c == counts[0] for c in counts), counts
    return counts[0]


def room(chat, call, tokens_for, extra_watchers=0):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    watchers = [otto, guest] + [chat.connect(guest.tokens) for _ in range(extra_watchers)]
    for w in watchers:
        w.ok("channel.watch", channel_id=channel["id"])
    return guest, channel


def test_message_send_costs_the_same_with_10000_unrelated_connections_in_the_table(chat, call, tokens_for, svc):
    # Given a channel with two watchers
    guest, channel = room(chat, call, tokens_for)
    # When messages are sent with no other connection in the table
    calls_empty, read_empty = count_send(svc, guest, channel)
    # And again once the table holds 10,000 unrelated connections (2,000 of them watching elsewhere)
    assert seed_unrelated_connections(svc, 10_000) == 12_000
    # (moto answers any Query by walking its whole table, and snapshots the whole table for each
    # transaction - DynamoDB does neither: so this test counts calls and items, not time)
    with rollback_by_item():
        calls_full, read_full = count_send(svc, guest, channel)
    # Then message.send made the very same DynamoDB calls and read the very same number of items
    assert calls_full == calls_empty
    assert read_full == read_empty
    # namely: the caller's connection, the channel, one transaction, one Query of the watchers, and
    # the action's rate-limit counter (one UpdateItem, sent with the connection read: test_action_limits)
    assert calls_empty == ["GetItem", "GetItem", "Query", "TransactWriteItems", "UpdateItem"]
    assert read_empty == 1 + 1 + 2


def test_message_send_grows_only_with_the_channels_watchers(chat, call, tokens_for, svc):
    guest, channel = room(chat, call, tokens_for)
    calls_2, read_2 = count_send(svc, guest, channel)
    more_guest, more_channel = room(chat, call, tokens_for, extra_watchers=18)  # 20 watchers
    calls_20, read_20 = count_send(svc, more_guest, more_channel)
    assert calls_20 == calls_2  # still one Query: watchers are one partition
    assert read_20 - read_2 == 18  # one item more per watcher, nothing else


def test_with_the_per_item_rollback_a_cancelled_transaction_still_changes_nothing(chat, call, tokens_for, svc):
    # (the check on rollback_by_item, which the test above relies on)
    guest, channel = room(chat, call, tokens_for)
    guest.ok("channel.close", channel_id=channel["id"])
    before = table_keys()
    with rollback_by_item():
        assert guest.error("message.send", channel_id=channel["id"], text="late", client_id="late") == "conflict"
    assert table_keys() == before
    assert item(f"CH#{channel['id']}", f"CID#{guest.user_id}#late") is None


def test_with_the_per_item_rollback_a_transaction_cancelled_after_its_writes_leaves_the_table_as_it_was(svc):
    # Given an item, and a transaction that puts a new item, updates that one, then fails a
    # condition check - moto applies the first two before it reaches the third
    import boto3
    from botocore.exceptions import ClientError

    ddb, table = boto3.client("dynamodb"), svc.store.table
    ddb.put_item(TableName=table, Item={"pk": {"S": "X#old"}, "sk": {"S": "A"}, "n": {"N": "1"}})
    before = table_keys()
    # When it runs under rollback_by_item and is cancelled
    with rollback_by_item(), pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "X#new"}, "sk": {"S": "A"}}}},
            {"Update": {"TableName": table, "Key": {"pk": {"S": "X#old"}, "sk": {"S": "A"}},
                        "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "X#none"}, "sk": {"S": "A"}},
                                "ConditionExpression": "attribute_exists(pk)"}}])
    # Then DynamoDB's answer comes back and neither write is left: no new item, the old one unchanged
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert table_keys() == before
    assert item("X#old", "A")["n"] == 1


def _watching_connection(svc, channels):
    from switchboard.models import Connection

    expires = int(time.time()) + 7200
    conn = Connection(id=new_connection_id(), tenant="acme", user_id="anon-many", session_id="s-many",
                      role="visitor", lvl=0, name="V", scopes=frozenset({"chat:read"}),
                      connected_at=expires - 7200, expires_at=expires)
    for ch in channels:
        svc.store.watchers.add(ch, conn)
    return conn


def test_a_disconnect_deletes_every_watch_however_many_batches_it_takes(svc):
    # Given a connection watching 30 channels (61 items to delete: over two BatchWriteItem calls of 25)
    channels = [f"0000000000000-ch{i:02d}" for i in range(30)]
    conn = _watching_connection(svc, channels)
    # When it disconnects
    svc.store.connections.delete(conn.id)
    # Then no half of any watch is left: no fan-out posts to it, no reverse entry lingers
    assert all(svc.store.watchers.of_channel(ch, now=int(time.time())) == [] for ch in channels)
    assert item(f"C#{conn.id}", f"W#{channels[-1]}") is None


@pytest.mark.parametrize("unprocessed_calls", [1, 99])
def test_unprocessed_batch_items_are_asked_again_and_never_dropped_silently(svc, monkeypatch, unprocessed_calls):
    from switchboard import errors
    from switchboard.store import dynamo

    # Given DynamoDB leaving the first request of each BatchWriteItem unprocessed, ``unprocessed_calls`` times
    conn = _watching_connection(svc, ["0000000000000-a"])
    real, left, sent = svc.store.client.batch_write_item, [unprocessed_calls], []

    def throttled(RequestItems):
        sent.append(RequestItems)
        if left[0]:
            left[0] -= 1
            reqs = RequestItems[svc.store.table]
            if reqs[1:]:
                real(RequestItems={svc.store.table: reqs[1:]})
            return {"UnprocessedItems": {svc.store.table: reqs[:1]}}
        return real(RequestItems=RequestItems)

    monkeypatch.setattr(svc.store.client, "batch_write_item", throttled)
    monkeypatch.setattr(dynamo.time, "sleep", lambda _s: None)
    # When the connection disconnects
    if unprocessed_calls == 1:
        svc.store.connections.delete(conn.id)
        # Then what was left is asked again, and everything is deleted
        assert len(sent) == 2 and len(sent[1][svc.store.table]) == 1
        assert item(f"C#{conn.id}", "CONN") is None and item("CH#0000000000000-a", f"W#{conn.id}") is None
    else:
        # Then, if DynamoDB keeps leaving it, the caller hears of it (retry later) instead of a silent loss
        with pytest.raises(errors.Unavailable):
            svc.store.connections.delete(conn.id)


def test_with_the_per_item_rollback_a_cancelled_transaction_leaves_no_stream_record(svc):
    # a cancelled write that reached the table's stream would reach the events dispatcher as an
    # event that never happened (a message.created for a refused send)
    import boto3
    from botocore.exceptions import ClientError

    ddb, table = boto3.client("dynamodb"), svc.store.table
    streams = boto3.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]

    def records() -> list[str]:
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return [r["dynamodb"]["Keys"]["sk"]["S"] for r in streams.get_records(ShardIterator=it)["Records"]]

    before = records()
    with rollback_by_item(), pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "EVT#e1"}, "sk": {"S": "EVT#e1"}}}},
            {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "X#none"}, "sk": {"S": "A"}},
                                "ConditionExpression": "attribute_exists(pk)"}}])
    assert records() == before
