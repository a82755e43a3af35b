"""Property-based: whatever frame a connected client sends, the answer is a reply with the
contract's shape - ``ok`` with data, or an error whose code is the contract's and never
``internal`` -, an error reply changes nothing, and no secret comes back.

Every action is sent by a visitor, an operator and an admin, each connected as the widget
and the back office are, on a tenant with a support channel (the visitor's, assigned), a
team channel and messages: valid parameters steered to the ids that exist (so the domain
code runs), parameters with one thing wrong, any JSON, and text that is not JSON. Examples
per action: half of ``FUZZ_EXAMPLES`` (tests/fuzz/test_http.py says how they are chosen).

"Changes nothing" (tests/fuzzing.py, ``Changes``): while an error is answered, no AWS call
that writes succeeds, but the rate limiter's counters and the reply itself, posted to the
caller's own connection.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from switchboard.edge.actions import ACTIONS

from tests.chat_support import Client, Refused, posted, visitor_tokens
from tests.conftest import ADMIN, IDENTITY_SECRET, OPERATOR, ORIGIN
from tests.fuzz.test_http import FUZZ, origins, token_like
from tests.fuzzing import Changes, json_values, mutated, steered

ERROR_CODES = {"validation_error", "forbidden", "not_found", "conflict", "rate_limited", "unknown_action"}


class Room:
    """A visitor, an operator and an admin of acme, connected, with channels and messages."""

    def __init__(self, chat: Any, call: Any, tokens_for: Any, changes: Changes) -> None:
        self.changes = changes
        self.otto = chat.connect(tokens_for(OPERATOR))  # online first: the visitor's channel is his
        self.ana = chat.connect(tokens_for(ADMIN))
        self.guest = chat.connect(visitor_tokens(call))
        self.chat, self.call = chat, call
        self.team = self.otto.ok("channel.create", type="team", members=[self.ana.user_id], name="Team")["channel"]
        self.otto.ok("message.send", channel_id=self.team["id"], text="team note", client_id="seed-team")
        self.support = self.open_support()

    def open_support(self) -> dict[str, Any]:
        """The visitor's open support channel (a new one once an example closed it), with a message."""
        channel: dict[str, Any] = self.guest.ok("support.open", subject="Order")["channel"]
        self.guest.ok("message.send", channel_id=channel["id"], text="hello", client_id=f"seed-{channel['id']}")
        return channel

    def clients(self) -> dict[str, Client]:
        return {"visitor": self.guest, "operator": self.otto, "admin": self.ana}

    def channel_ids(self) -> list[str]:
        return [self.support["id"], self.team["id"], "nothing-here"]

    def message_ids(self) -> list[str]:
        ids = []
        for channel_id in (self.support["id"], self.team["id"]):
            reply = self.ana.request("channel.history", channel_id=channel_id)
            ids += [m["id"] for m in reply["data"]["messages"]] if reply["ok"] else []
        return ids or ["no-message"]

    def user_ids(self) -> list[str]:
        return [c.user_id for c in self.clients().values()] + ["nobody"]


@pytest.fixture
def room(chat, call, tokens_for) -> Any:
    with Changes().recording() as changes:
        yield Room(chat, call, tokens_for, changes)


def frame_for(room: Room, action: str) -> st.SearchStrategy[str]:
    """A frame's text: valid (steered to real ids; half the time), one thing wrong, any JSON,
    or not JSON."""
    model = ACTIONS[action][0]
    known = {"channel_id": st.sampled_from(room.channel_ids()), "message_id": st.sampled_from(room.message_ids()),
             "operator_id": st.sampled_from(room.user_ids()), "before": st.sampled_from(room.message_ids()),
             "members": st.lists(st.sampled_from(room.user_ids()), min_size=1, max_size=3),
             "attachments": st.just([])}
    rid = st.text(max_size=16)
    rids = st.one_of(*[rid] * 8, st.none(), st.integers(), st.text(min_size=200, max_size=300))

    def framed(params: Any, rid: Any) -> str:
        body = {"action": action, "rid": rid, **params} if isinstance(params, dict) else params
        return json.dumps(body)

    return st.one_of(
        *[st.builds(framed, steered(model, **known), rids)] * 3,
        st.builds(framed, mutated(model, **known), rids),
        st.builds(framed, json_values.map(lambda v: {"any": v} if not isinstance(v, dict) else v), rids),
        st.builds(framed, json_values, rids),
        st.text(max_size=60),
    )


def answer(client: Client, frame: str) -> list[dict[str, Any]]:
    """The replies to one frame: from the route's response, or posted to the connection."""
    seen = len(posted(client.id))
    reply = client.frame(frame)
    replies = [f for f in posted(client.id)[seen:] if f.get("type") == "reply"]
    return [reply] if reply is not None else replies


def hold(room: Room, client: Client, frame: str, label: str) -> dict[str, Any]:
    """Send one frame and hold its reply to the contract."""
    room.changes.calls.clear()
    replies = answer(client, frame)
    assert len(replies) == 1, f"{label}: {len(replies)} replies to {frame!r}"
    reply = replies[0]
    if currently_in_test_context():  # what the examples reached: pytest --hypothesis-show-statistics
        event(f"{label}: {'ok' if reply.get('ok') else reply.get('error', {}).get('code')}")
    assert reply["type"] == "reply" and isinstance(reply["ok"], bool), reply
    if reply["ok"]:
        assert isinstance(reply["data"], dict), reply
    else:
        assert reply["error"]["code"] in ERROR_CODES, f"{label}: {reply} for {frame!r}"
        changed = [c for c in room.changes.calls if c != f"apigatewaymanagementapi.PostToConnection[{client.id}]"]
        assert not changed, f"{label} answered {reply['error']['code']} but changed {changed}: {frame!r}"
    text = json.dumps(reply)
    for secret in (IDENTITY_SECRET, OPERATOR["password"], ADMIN["password"], client.tokens["chat_token"],
                   client.tokens["refresh_token"]):
        assert secret not in text, f"{label} answered a secret"
    return reply


@pytest.mark.parametrize("action", sorted(ACTIONS))
@settings(FUZZ, max_examples=max(FUZZ.max_examples // 2, 1))
@given(data=st.data(), who=st.sampled_from(["visitor", "operator", "admin"]))
def test_any_frame_gets_a_contract_reply_and_an_error_changes_nothing(room, svc, data, action, who):
    if svc.store.channels.get(room.support["id"]).status == "closed":
        room.support = room.open_support()
    frame = data.draw(frame_for(room, action))
    hold(room, room.clients()[who], frame, f"{action} by {who}")


def test_the_frame_check_catches_an_error_that_wrote_something(room, monkeypatch):
    # Given a (broken) layer that records a read receipt before it checks the channel exists
    from switchboard.store.channels import Channels, Messages

    get_channel = Channels.get

    def careless(self, channel_id):
        Messages(self._table).put_read_marker(channel_id, "someone", "m", 0)
        return get_channel(self, channel_id)

    monkeypatch.setattr(Channels, "get", careless)
    # When a frame names a channel that does not exist, the error reply is caught writing
    frame = json.dumps({"action": "typing", "rid": "r", "channel_id": "nothing-here"})
    with pytest.raises(AssertionError, match=r"answered not_found but changed .*dynamodb"):
        hold(room, room.guest, frame, "typing")
    # and without the bug, the same frame passes
    monkeypatch.setattr(Channels, "get", get_channel)
    assert hold(room, room.guest, frame, "typing")["error"]["code"] == "not_found"


# -- the handshake ----------------------------------------------------------------------------------------
@pytest.fixture
def handshake(chat, call):
    """A live visitor's tokens, and those of one whose session was revoked."""
    live, ended = visitor_tokens(call), visitor_tokens(call)
    r = call("POST /auth/revoke", body={"kind": "session"}, token=ended["access_token"])
    assert r["status"] == 200, r
    with Changes().recording() as changes:
        yield live, ended, changes


@FUZZ
@given(data=st.data(), origin=st.none() | origins)
def test_a_handshake_lets_in_only_a_live_chat_token_from_an_allowed_origin(chat, handshake, data, origin):
    live, ended, changes = handshake
    source = data.draw(st.sampled_from(["chat token", "access token", "revoked chat token"]))
    real = {"chat token": live["chat_token"], "access token": live["access_token"],
            "revoked chat token": ended["chat_token"]}[source]
    token = data.draw(token_like())(real)
    changes.calls.clear()
    try:
        policy = chat.authorize(token, origin)
        outcome: int | str = "allowed"
    except Refused as refused:
        outcome = refused.status
    event(f"{source}: {outcome}")
    # no Origin: only staff (server-side tools); the live token here is a visitor's, whose widget always sends one
    origin_allowed = origin is not None and origin.rstrip("/") == ORIGIN
    if token != live["chat_token"]:
        assert outcome == 401, f"{source} spoiled as {token!r} from {origin!r}: {outcome}"
    else:
        assert outcome == ("allowed" if origin_allowed else 403), f"{source} from {origin!r}: {outcome}"
        if outcome == "allowed":
            assert policy["context"]["sub"] == live["user"]["id"]
    assert not changes.calls, f"the handshake stored something: {changes.calls}"
