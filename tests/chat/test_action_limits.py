"""Rate limits on WebSocket actions (issue 21 item 2): per connection and per user, per kind of
action, checked in one place for every action; a refused action stores and sends nothing and
says when to retry; the limits are the ones docs/chat-policy.md lists, and the web clients'
own cadence stays well under them."""

from __future__ import annotations

import json
import re
import time
import types

import pytest
from switchboard.chat import limits as chat_limits
from switchboard.chat.limits import ACTION_KIND, LIMITS, WINDOW_SECONDS
from switchboard.edge import actions as chat_module  # the dispatch table: action -> (params, call)

from tests.chat_support import (
    CallLog,
    install_wire,
    message_event,
    table_keys,
)
from tests.conftest import ROOT, _clear_caches
from tests.http.test_rate_limits import Clock

MINUTE_START = 1_800_000_000 - 1_800_000_000 % 60


@pytest.fixture
def clock(monkeypatch):
    """The limits' clock, at the first second of a minute."""
    c = Clock(MINUTE_START)
    monkeypatch.setattr(chat_limits, "time", types.SimpleNamespace(time=c.time))
    return c


@pytest.fixture
def limited(monkeypatch, seeded):
    """Set the limits as the template's WebSocketRateLimits would (``"send=3/5,..."``)."""
    def set_limits(raw: str) -> None:
        monkeypatch.setenv("WS_RATE_LIMITS", raw)
        _clear_caches()  # settings are read once per container: a new container
    return set_limits




_ids = iter(range(10**9))


def send(who, channel, text="hello"):
    return who.request("message.send", channel_id=channel["id"], text=text, client_id=f"c-{next(_ids)}")


def history(who, channel):
    return who.ok("channel.history", channel_id=channel["id"], limit=100)["messages"]


# -- the table ---------------------------------------------------------------------------------------
def test_every_action_in_the_dispatch_table_has_a_limit():
    # Every action the WebSocket functions dispatch counts as a kind, and every kind has a limit
    assert set(ACTION_KIND) == set(chat_module.ACTIONS)
    assert set(ACTION_KIND.values()) == set(LIMITS)
    assert all(limit.per_connection > 0 and limit.per_user >= limit.per_connection for limit in LIMITS.values())


def test_a_function_serving_an_action_without_a_limit_refuses_to_start(monkeypatch):
    from switchboard.edge import ws

    # Given an action added to the dispatch table and not to the limits
    monkeypatch.setitem(chat_module.ACTIONS, "channel.explode", chat_module.ACTIONS["typing"])
    # Then a function serving it cannot be built (it would run unlimited)
    with pytest.raises(RuntimeError, match=r"no rate limit for channel\.explode"):
        ws.action_endpoint(["typing", "channel.explode"])


def test_every_action_is_counted_before_it_does_anything(chat, room, limited, clock):
    # Given every kind of action limited to nothing at all
    guest, otto, channel = room
    limited(",".join(f"{kind}=0/0" for kind in LIMITS))
    wire = install_wire()
    before = table_keys()
    # When each action is asked, by the visitor and by the operator, on their own channel
    params = {"channel_id": channel["id"], "text": "x", "client_id": "c-zero", "message_id": "0" * 13 + "-x",
              "content_type": "image/png", "size": 10, "filter": {"member": "me"},
              "key": f"attachments/acme/{channel['id']}/{guest.user_id}/0a1b",
              "type": "team", "name": "t", "members": [otto.user_id], "operator_id": otto.user_id,
              "add": ["vip"], "status": "away",
              "email": "v@example.com", "context": {"url": "https://shop.example/"}, "score": 5}
    models = {action: model for action, (model, _fn) in chat_module.ACTIONS.items()}
    for action in ACTION_KIND:
        fields = set(models[action].__struct_fields__)
        for who in (guest, otto):
            reply = who.request(action, **{k: v for k, v in params.items() if k in fields})
            # Then each is refused as rate_limited, whatever it would have answered
            assert not reply["ok"] and reply["error"]["code"] == "rate_limited", (action, reply)
    # And nothing but the counters changed, and nobody was told anything
    assert {k for k in table_keys() - before if not k[0].startswith("RL#ws#")} == set()
    assert [op for op, _cid, _data in wire.calls] == []


# -- what a refusal says and does ------------------------------------------------------------------
def test_a_send_over_the_connections_limit_is_refused_stores_nothing_and_tells_nobody(room, limited, clock):
    guest, otto, channel = room
    limited("send=3/10")
    # Given three messages sent by the visitor within a minute
    clock.now = MINUTE_START + 15
    for i in range(3):
        assert send(guest, channel, f"m{i}")["ok"]
    stored, told = len(history(otto, channel)), len(otto.events("message.new"))
    # When a fourth comes in the same minute
    reply = send(guest, channel, "one too many")
    # Then it is refused with rate_limited, saying in how many seconds the window ends
    assert reply["ok"] is False
    assert reply["error"]["code"] == "rate_limited"
    assert reply["error"]["retry_after"] == WINDOW_SECONDS - 15
    assert "try again in 45 s" in reply["error"]["message"]
    # And it was not stored, and the operator watching the channel heard nothing of it
    assert len(history(otto, channel)) == stored
    assert len(otto.events("message.new")) == told
    assert all(m["text"] != "one too many" for m in history(otto, channel))


def test_typing_over_the_limit_sends_no_frame_to_the_other_member(room, limited, clock):
    guest, otto, channel = room
    limited("typing=2/10")
    for _ in range(2):
        assert guest.request("typing", channel_id=channel["id"])["ok"]
    assert len(otto.events("typing")) == 2
    # When the visitor keeps typing past the limit
    for _ in range(5):
        reply = guest.request("typing", channel_id=channel["id"])
        assert reply["error"]["code"] == "rate_limited" and reply["error"]["retry_after"] == 60
    # Then the operator got no more typing frames
    assert len(otto.events("typing")) == 2


def test_the_users_limit_spans_their_connections(chat, room, limited, clock):
    guest, _otto, channel = room
    limited("send=5/6")
    second_tab = chat.connect(guest.tokens)
    # Given six sends by one visitor, three on each of two connections (each under its own 5)
    for tab in (guest, second_tab, guest, second_tab, guest, second_tab):
        assert send(tab, channel)["ok"]
    # Then a seventh on either connection is refused: the user's 6 a minute are spent
    reply = send(second_tab, channel)
    assert reply["error"]["code"] == "rate_limited" and "per user" in reply["error"]["message"]
    # And a new connection of the same user is no way around it
    assert send(chat.connect(guest.tokens), channel)["error"]["code"] == "rate_limited"


def test_one_connections_limit_leaves_the_users_other_connections_and_other_users_alone(chat, room, limited, clock):
    guest, otto, channel = room
    limited("send=2/10")
    second_tab = chat.connect(guest.tokens)
    for _ in range(2):
        assert send(guest, channel)["ok"]
    assert send(guest, channel)["error"]["code"] == "rate_limited"
    assert "per connection" in send(guest, channel)["error"]["message"]
    # Then the visitor's other connection still sends, and so does the operator
    assert send(second_tab, channel)["ok"]
    assert send(otto, channel)["ok"]


def test_kinds_are_counted_apart(room, limited, clock):
    guest, _otto, channel = room
    limited("typing=1/1")
    assert guest.request("typing", channel_id=channel["id"])["ok"]
    assert guest.request("typing", channel_id=channel["id"])["error"]["code"] == "rate_limited"
    # Then the visitor may still send, read and query: typing's limit is typing's alone
    assert send(guest, channel)["ok"]
    assert guest.ok("channel.query", filter={"member": "me"})["channels"]


def test_the_window_ends_however_hard_a_client_keeps_going(room, limited, clock):
    guest, otto, channel = room
    limited("send=2/4")
    clock.now = MINUTE_START + 50
    for _ in range(2):
        assert send(guest, channel)["ok"]
    # Given a client that keeps sending after its refusal, to the minute's last second
    for second in (51, 55, 59):
        clock.now = MINUTE_START + second
        assert send(guest, channel)["error"]["retry_after"] == 60 - second
    # When the next minute begins
    clock.now = MINUTE_START + 60
    # Then it is accepted again (refused attempts do not push the end out)
    reply = send(guest, channel, "next minute")
    assert reply["ok"] and reply["data"]["message"]["text"] == "next minute"
    assert history(otto, channel)[-1]["text"] == "next minute"


def test_an_event_without_the_authorizers_context_is_still_counted(chat, room, limited, clock):
    # (API Gateway hands it to every event of a connection; the count must not depend on it)
    guest, _otto, channel = room
    limited("send=1/10")
    replies = []
    for i in range(2):
        body = json.dumps({"action": "message.send", "rid": f"r{i}", "channel_id": channel["id"], "text": "hi",
                           "client_id": f"no-context-{i}"})
        result = chat.invoke(chat.routes["message.send"], message_event(guest.id, body, "message.send"))
        # an acknowledged send is posted; a refusal is the route's response
        replies += [json.loads(result["body"])] if result.get("body") else \
            [f for f in guest.frames() if f.get("type") == "reply" and f.get("rid") == f"r{i}"]
    assert [r["ok"] for r in replies] == [True, False]
    assert replies[1]["error"]["code"] == "rate_limited"


def test_limits_come_from_the_settings_and_an_unknown_kind_is_an_error():
    from switchboard.settings import Settings

    s = Settings.from_env({"WS_RATE_LIMITS": "send=30/60, typing=5/9"})
    assert s.ws_rate_limits == (("send", 30, 60), ("typing", 5, 9))
    table = chat_limits.limits(s)
    assert table["send"] == chat_limits.Limit(30, 60) and table["typing"] == chat_limits.Limit(5, 9)
    assert table["read"] == LIMITS["read"]
    with pytest.raises(ValueError, match="no kind of action"):
        chat_limits.limits(Settings.from_env({"WS_RATE_LIMITS": "sned=30/60"}))


# -- cost --------------------------------------------------------------------------------------------
def _slow_calls(client, seconds=0.01):
    """Every DynamoDB call first sleeps (outside moto, which answers on the calling thread
    holding the GIL): calls sent at once then overlap as over a network, and the chain of
    calls made one after another is the code's, not moto's."""
    def nap(**_):
        time.sleep(seconds)
    client.meta.events.register("before-call.dynamodb.*", nap)
    return lambda: client.meta.events.unregister("before-call.dynamodb.*", nap)


@pytest.mark.parametrize(("action", "params", "calls", "chain"), [
    # the counter (UpdateItem) goes out with the connection read: message.send still waits for
    # 3 round trips before its reply (connection ‖ counter, channel, transaction)
    ("message.send", {"text": "hi"}, ["GetItem", "GetItem", "Query", "TransactWriteItems", "UpdateItem"], 3),
    # typing: connection ‖ counter, channel, watchers
    ("typing", {}, ["GetItem", "GetItem", "Query", "UpdateItem"], 3),
])
def test_the_counter_adds_one_write_and_no_round_trip(room, svc, action, params, calls, chain):
    guest, _otto, channel = room
    from switchboard.edge import ws

    notifier = ws.chat_context(svc).notifier
    first_post: list[float] = []

    def at_post(**_):
        if not first_post:
            first_post.append(time.perf_counter())

    notifier.client.meta.events.register("before-call.apigatewaymanagementapi.*", at_post)
    if action == "message.send":
        params = {**params, "client_id": f"c-{next(_ids)}"}
    log = CallLog()
    try:
        with log.counting(svc.store.client):
            restore = _slow_calls(svc.store.client)  # after the log's own hook: the nap is inside each call
            reply = guest.request(action, channel_id=channel["id"], **params)
            restore()
    finally:
        notifier.client.meta.events.unregister("before-call.apigatewaymanagementapi.*", at_post)
    assert reply["ok"]
    assert sorted(log.names()) == sorted(calls)
    before_reply = first_post[0] if action == "message.send" else None
    assert log.sequential(before=before_reply) == chain


# -- the limits fit the people they serve --------------------------------------------------------------
def _js_constant(path: str, name: str) -> int:
    text = (ROOT / path).read_text()
    found = re.search(rf"\b{name}\s*=\s*(\d+)", text)
    assert found, f"{name} not found in {path}"
    return int(found.group(1))


def test_the_web_clients_busiest_normal_use_stays_under_half_of_each_limit():
    # typing: each client sends at most one per TYPING_EVERY_MS per connection
    for page in ("web/widget.js", "web/backoffice/views/conversation.js"):
        per_minute = 60_000 // _js_constant(page, "TYPING_EVERY_MS")
        assert 2 * per_minute <= LIMITS["typing"].per_connection, page
    # a back-office (re)connect: up to 3 channel.query, MAX_WATCHED channel.watch, and a history page
    sync = 3 + _js_constant("web/backoffice/views/inbox.js", "MAX_WATCHED") + 1
    assert 2 * sync <= LIMITS["query"].per_connection
    # and a few reconnects a minute (each a new connection) fit the user's limit
    assert 4 * sync <= LIMITS["query"].per_user


def test_docs_list_each_actions_limit():
    # docs/chat-policy.md's table of limits says what the code enforces, action by action
    text = (ROOT / "docs" / "chat-policy.md").read_text()
    section = text.split("## Rate limits", 1)[1]
    rows = re.findall(r"^\| `([a-z.]+)` \| (\w+) \| (\d+) \| (\d+) \|$", section, flags=re.M)
    documented = {action: (kind, int(conn), int(user)) for action, kind, conn, user in rows}
    assert documented == {action: (kind, LIMITS[kind].per_connection, LIMITS[kind].per_user)
                          for action, kind in ACTION_KIND.items()}
