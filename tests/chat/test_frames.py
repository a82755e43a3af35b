"""Malformed frames get a ``validation_error`` reply and change nothing; unknown actions get
``unknown_action`` from ``$default`` (contract sections 4 and 5: "bad input ... changes nothing")."""

from __future__ import annotations

import json

import pytest

from tests.chat_support import message_event, table_keys, visitor_tokens


@pytest.fixture
def guest(chat, call):
    return chat.connect(visitor_tokens(call))


@pytest.fixture
def channel(guest):
    return guest.ok("support.open")["channel"]


def _send(channel, **overrides):
    frame = {"action": "message.send", "rid": "m1", "channel_id": channel, "text": "hi", "client_id": "c-1"}
    frame.update(overrides)
    return json.dumps({k: v for k, v in frame.items() if v is not ...})


BAD_SENDS = {
    "channel_id not a string": {"channel_id": 5},
    "text not a string": {"text": ["hi"]},
    "empty text": {"text": ""},
    "text over 4000 characters": {"text": "x" * 4001},
    "client_id missing": {"client_id": ...},
    "client_id not a string": {"client_id": 7},
    "unknown field": {"admin": True},
    "attachments not a list": {"attachments": "a"},
    "attachment with a foreign key": {"attachments": [{"key": "../../etc/passwd"}]},
}


@pytest.mark.parametrize("case", sorted(BAD_SENDS))
def test_an_invalid_message_send_is_a_validation_error_and_stores_nothing(guest, channel, case):
    # Given the table as it is
    before = table_keys()
    # When a frame with bad parameters arrives
    reply = guest.frame(_send(channel["id"], **BAD_SENDS[case]))
    # Then the caller gets a validation_error reply with its rid, naming the field but not its value
    assert reply is not None and reply["ok"] is False and reply["rid"] == "m1"
    assert reply["error"]["code"] == "validation_error"
    assert "details" in reply["error"] and all(set(d) == {"loc", "msg"} for d in reply["error"]["details"])
    # And nothing changed
    assert table_keys() == before


@pytest.mark.parametrize("body", ["not json", "", "[1, 2]", '"message.send"', "{\"action\": 5}", '{"rid": "x"}',
                                  '{"action": "message.send", "rid": 42}'])
def test_frames_that_are_not_an_action_object_are_validation_errors(chat, guest, body):
    before = table_keys()
    reply = guest.frame(body)  # routed to $default, as API Gateway does with no matching action
    assert reply is not None and (reply["ok"], reply["error"]["code"]) == (False, "validation_error")
    assert table_keys() == before


DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize("case", ["lone surrogate in text", "lone surrogate in subject", "lone surrogate in rid",
                                  "lone surrogate, unknown action", "NaN", "nested deeper than the parser goes"])
def test_json_that_nothing_could_store_or_send_is_a_validation_error_that_changes_nothing(guest, channel, case):
    # Given JSON that json.loads would take but no UTF-8 store or frame can hold, or that would blow its stack
    frames = {
        "lone surrogate in text": _send(channel["id"], text="\ud800"),
        "lone surrogate in subject": json.dumps({"action": "support.open", "rid": "s", "subject": "\ud800"}),
        "lone surrogate in rid": _send(channel["id"], rid="\ud800"),
        "lone surrogate, unknown action": json.dumps({"action": "no.such", "rid": "\ud800"}),
        "NaN": '{"action": "channel.query", "rid": "q", "filter": {"member": "me"}, "limit": NaN}',
        "nested deeper than the parser goes": '{"action": "channel.query", "rid": "n", "filter": ' + DEEP + "}",
    }
    before = table_keys()
    # When it arrives
    reply = guest.frame(frames[case])
    # Then a validation_error reply comes back (not "internal", not silence), and nothing changed
    assert reply is not None and (reply["ok"], reply["error"]["code"]) == (False, "validation_error"), reply
    assert table_keys() == before


@pytest.mark.parametrize("rid", [{}, 5, ["r1"], True], ids=["object", "number", "list", "bool"])
def test_a_rid_that_is_not_a_string_is_a_validation_error_that_does_not_echo_it(guest, rid):
    # When an otherwise valid frame carries a rid that is not a string
    reply = guest.frame(json.dumps({"action": "channel.query", "rid": rid, "filter": {"member": "me"}}))
    # Then the action does not run: a validation_error comes back, its rid null (the bad one is not repeated)
    assert reply is not None and (reply["ok"], reply["error"]["code"]) == (False, "validation_error"), reply
    assert reply["rid"] is None


def test_wrong_types_in_other_actions_are_validation_errors(guest, channel):
    assert guest.error("channel.query", filter={"status": "archived"}) == "validation_error"  # closed: section 8
    assert guest.error("channel.query", filter={"member": "me", "status": "open"}) == "validation_error"
    assert guest.error("channel.query", filter={"member": "me"}, limit=101) == "validation_error"
    assert guest.error("channel.query", filter={"member": "me"}, limit="10") == "validation_error"
    assert guest.error("channel.history", channel_id=channel["id"], limit=0) == "validation_error"
    assert guest.error("attachment.presign", channel_id=channel["id"], content_type="image/png",
                       size=-1) == "validation_error"
    assert guest.error("channel.watch") == "validation_error"


@pytest.mark.parametrize("params,loc", [
    ({"filter": {"member": "me"}, "limit": True}, "limit"),  # a bool is no number
    ({"filter": {"member": "me"}, "limit": 10.0}, "limit"),  # nor a float, even a whole one
    ({"filter": {"member": "me"}, "limit": "10"}, "limit"),  # nor text
    ({"filter": {"member": "me"}, "limit": None}, "limit"),  # a default is not overridden by null
    ({"filter": {"member": "me", "extra": 1}}, "filter.extra"),  # unknown fields, at any depth
    ({"filter": {}}, "filter"),  # exactly one of member or status
])
def test_a_channel_query_takes_numbers_as_numbers_and_names_the_bad_field(guest, params, loc):
    # When a query's parameters break one rule
    reply = guest.request("channel.query", **params)
    # Then the reply is a validation_error whose details point at the field
    assert not reply["ok"] and reply["error"]["code"] == "validation_error"
    assert [d["loc"] for d in reply["error"]["details"]] == [loc]


@pytest.mark.parametrize("field", ["channel_id", "client_id"])
def test_a_trailing_newline_does_not_pass_an_id_pattern(guest, channel, field):
    # Given the table as it is
    before = table_keys()
    # When an id that would match its pattern but for a trailing newline is sent
    value = {"channel_id": channel["id"], "client_id": "c-1"}[field] + "\n"
    reply = guest.frame(_send(channel["id"], **{field: value}))
    # Then it is a validation_error naming the field, and nothing is stored
    assert reply is not None and reply["error"]["code"] == "validation_error"
    assert [d["loc"] for d in reply["error"]["details"]] == [field]
    assert table_keys() == before


def test_error_details_never_repeat_a_submitted_value(guest, channel):
    # When values (one outside a fixed set, one of the wrong type) are refused
    secret = "hunter2-super-secret-value"
    for params in ({"filter": {"status": secret}}, {"filter": {"member": "me"}, "cursor": [secret]}):
        reply = guest.request("channel.query", **params)
        # Then the reply does not repeat them
        assert reply["error"]["code"] == "validation_error" and secret not in json.dumps(reply)


def test_an_oversize_frame_is_a_validation_error(chat, guest, channel):
    before = table_keys()
    body = _send(channel["id"], text="x" * (128 * 1024))
    reply = guest.frame(body)
    assert reply is not None and reply["error"]["code"] == "validation_error"
    assert table_keys() == before


def test_an_unknown_action_gets_unknown_action_from_default(chat, guest):
    reply = guest.frame(json.dumps({"action": "channel.explode", "rid": "u1"}))
    assert reply == {"type": "reply", "rid": "u1", "ok": False,
                     "error": {"code": "unknown_action", "message": "unknown action 'channel.explode'"}}


def test_an_action_sent_to_a_function_that_does_not_serve_it_is_unknown(chat, guest, channel):
    # A function answers only its own routes (each is least privilege), whatever the frame says
    body = _send(channel["id"])
    result = chat.invoke("ChatReadFunction", message_event(guest.id, body, "message.send"))
    assert json.loads(result["body"])["error"]["code"] == "unknown_action"


def test_a_bad_cursor_is_a_validation_error(guest):
    assert guest.error("channel.query", filter={"member": "me"}, cursor="!!!") == "validation_error"


def test_error_replies_stay_small_whatever_the_frame_holds(chat, guest, channel):
    # Given frames built to make the server repeat them: a huge action name, thousands of unknown fields
    huge_action = json.dumps({"action": "x" * 100_000, "rid": "h1"})
    many_fields = json.dumps({"action": "message.send", "rid": "h2", "channel_id": channel["id"], "text": "hi",
                              "client_id": "c", **{f"field_{i:05d}": 1 for i in range(5000)}})
    for body in (huge_action, many_fields):
        reply = guest.frame(body)
        # Then the error reply fits in one 32 KB WebSocket frame with room to spare
        assert reply is not None and not reply["ok"]
        assert len(json.dumps(reply).encode()) < 4096, len(json.dumps(reply))


def test_a_frame_of_exactly_32_kb_is_sent_and_one_byte_more_is_refused():
    from switchboard.chat.realtime import MAX_FRAME_BYTES, FrameTooLarge, encode, size_of

    # Given event frames padded to exactly the frame size, and to one byte more
    base = {"type": "event", "event": "x", "data": {"pad": ""}}
    pad = MAX_FRAME_BYTES - size_of(base)
    exact = {**base, "data": {"pad": "a" * pad}}
    over = {**base, "data": {"pad": "a" * (pad + 1)}}
    # When they are encoded, Then the first fits API Gateway's frame and the second is refused
    assert len(encode(exact)) == MAX_FRAME_BYTES
    with pytest.raises(FrameTooLarge):
        encode(over)
