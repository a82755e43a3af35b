"""Stale connections: ``$disconnect`` is best-effort, so a post answered 410 GoneException cleans up
after the connection, delivery to the others goes on, and every record expires (TTL) anyway."""

from __future__ import annotations

import time

import pytest

from tests.chat_support import install_wire, item, keys_of, visitor_tokens
from tests.conftest import OPERATOR


@pytest.fixture
def room(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    tabs = [chat.connect(guest.tokens) for _ in range(3)]
    for who in (otto, guest, *tabs):
        who.ok("channel.watch", channel_id=channel["id"])
    return guest, otto, channel, tabs


def test_a_gone_watcher_is_removed_and_the_others_still_get_the_message(room):
    guest, otto, channel, tabs = room
    wire = install_wire()
    # Given one tab left without a $disconnect (API Gateway answers 410 for it)
    wire.gone.add(tabs[1].id)
    # When a message is sent to the channel
    message = otto.ok("message.send", channel_id=channel["id"], text="hello", client_id="h")["message"]
    # Then everyone else got it
    for who in (guest, tabs[0], tabs[2], otto):
        assert [e["message"]["id"] for e in who.events("message.new")] == [message["id"]]
    # And the gone connection's records are gone too: it is no longer a watcher
    assert keys_of(tabs[1].id) == set()
    assert item(f"CH#{channel['id']}", f"W#{tabs[1].id}") is None
    # so the next message does not even try it
    otto.ok("message.send", channel_id=channel["id"], text="again", client_id="h2")
    assert [c for op, c, _ in wire.calls if op == "PostToConnection"].count(tabs[1].id) == 1


def test_a_watcher_whose_post_fails_for_another_reason_is_kept_and_the_others_still_get_the_message(room):
    guest, otto, channel, tabs = room
    wire = install_wire()
    # Given one tab whose post fails with an error that is not 410 Gone
    wire.failing.add(tabs[1].id)
    # When a message is sent to the channel
    message = otto.ok("message.send", channel_id=channel["id"], text="hello", client_id="h")["message"]
    # Then everyone else got it
    for who in (guest, tabs[0], tabs[2], otto):
        assert [e["message"]["id"] for e in who.events("message.new")] == [message["id"]]
    # And the tab is not taken for gone: it was tried, and its records (connection, watch) stay
    assert len(wire.posts_to(tabs[1].id)) == 1
    assert item(f"C#{tabs[1].id}", "CONN") is not None
    assert item(f"CH#{channel['id']}", f"W#{tabs[1].id}") is not None
    assert wire.deleted() == []


def test_a_gone_operator_connection_found_on_fan_out_requeues_their_channels(chat, room, svc):
    guest, otto, channel, _tabs = room
    wire = install_wire()
    wire.gone.add(otto.id)
    guest.ok("message.send", channel_id=channel["id"], text="anyone?", client_id="a")
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee) == ("queued", None)
    assert guest.events("channel.updated")[-1]["channel"]["status"] == "queued"


def test_every_connection_record_carries_a_ttl(room, svc):
    _guest, otto, channel, _tabs = room
    conn = svc.store.connections.get(otto.id)
    records = [item(f"C#{otto.id}", "CONN"), item(f"U#acme#{otto.user_id}", f"C#{otto.id}"),
               item("T#acme#OPS", f"OC#{otto.user_id}#{otto.id}"), item(f"CH#{channel['id']}", f"W#{otto.id}"),
               item(f"C#{otto.id}", f"W#{channel['id']}")]
    assert all(r is not None and r["ttl"] == conn.expires_at for r in records), records
    assert conn.expires_at <= time.time() + 2 * 3600 + 5


def test_watchers_past_their_ttl_are_not_posted_to(room, svc):
    guest, otto, channel, tabs = room
    # Given a watch record whose TTL passed (DynamoDB deletes such items only eventually)
    svc.store.client.update_item(TableName=svc.store.table,
                                 Key={"pk": {"S": f"CH#{channel['id']}"}, "sk": {"S": f"W#{tabs[0].id}"}},
                                 UpdateExpression="SET expires_at = :t",
                                 ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 1)}})
    wire = install_wire()
    otto.ok("message.send", channel_id=channel["id"], text="hi", client_id="t")
    assert wire.posts_to(tabs[0].id) == []
    assert len(guest.events("message.new")) == 1


def test_staff_presence_past_its_ttl_does_not_count_as_online(chat, call, tokens_for, svc):
    otto = chat.connect(tokens_for(OPERATOR))
    svc.store.client.update_item(TableName=svc.store.table,
                                 Key={"pk": {"S": "T#acme#OPS"}, "sk": {"S": f"OC#{otto.user_id}#{otto.id}"}},
                                 UpdateExpression="SET expires_at = :t",
                                 ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 1)}})
    channel = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert channel["status"] == "queued"
