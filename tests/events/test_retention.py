"""Per-tenant message retention: DynamoDB's TTL on each message, set when it is written from the
tenant's ``message_retention_days`` (issue 19, docs/privacy.md)."""

from __future__ import annotations

import time

import boto3
from boto3.dynamodb.types import TypeDeserializer

from tests.chat_support import visitor_tokens

DAY = 86400


def _items_of(svc, channel_id: str) -> list[dict]:
    de = TypeDeserializer()
    items = boto3.client("dynamodb").query(
        TableName=svc.settings.table_name, KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"CH#{channel_id}"}})["Items"]
    return [{k: de.deserialize(v) for k, v in i.items()} for i in items]


def _message_items(svc, channel_id: str, client_id: str) -> list[dict]:
    """The message and its client-id record."""
    return [i for i in _items_of(svc, channel_id) if i.get("client_id") == client_id]


def _retention(call, admin, days):
    r = call("PATCH /admin/tenant", token=admin, body={"message_retention_days": days})
    assert r["status"] == 200, r


def test_messages_expire_after_the_tenants_retention_as_it_was_when_written(chat, call, admin, svc):
    # Given a tenant keeping messages 30 days
    _retention(call, admin, 30)
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    # When a message is written
    before = int(time.time())
    guest.ok("message.send", channel_id=channel["id"], text="keep me 30 days", client_id="c1")
    # Then the message and its client-id record expire 30 days later (DynamoDB's TTL removes them)
    items = _message_items(svc, channel["id"], "c1")
    assert len(items) == 2
    for item in items:
        assert before + 30 * DAY <= int(item["ttl"]) <= int(time.time()) + 30 * DAY
    # When the retention is shortened, then a new message gets the new one and the old keeps its own
    _retention(call, admin, 7)
    guest.ok("message.send", channel_id=channel["id"], text="keep me 7 days", client_id="c2")
    assert all(int(i["ttl"]) <= int(time.time()) + 7 * DAY for i in _message_items(svc, channel["id"], "c2"))
    assert all(int(i["ttl"]) >= before + 30 * DAY for i in _message_items(svc, channel["id"], "c1"))


def test_a_deleted_message_keeps_its_expiry(chat, call, admin, svc):
    _retention(call, admin, 30)
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    sent = guest.ok("message.send", channel_id=channel["id"], text="oops", client_id="c1")["message"]
    guest.ok("message.delete", channel_id=channel["id"], message_id=sent["id"])
    items = _message_items(svc, channel["id"], "c1")
    assert len(items) == 2 and all(i["text"] == "" and int(i["ttl"]) > time.time() + 29 * DAY for i in items)


def test_without_a_retention_messages_do_not_expire(chat, call, svc):
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    guest.ok("message.send", channel_id=channel["id"], text="kept", client_id="c1")
    items = _message_items(svc, channel["id"], "c1")
    assert len(items) == 2 and all("ttl" not in i for i in items)
