"""message.send, channel.watch, channel.history, message.delete, typing, read (contract sections 4 and 5)."""

from __future__ import annotations

import json
import threading

import pytest

from tests.chat_support import atomic_requests, install_wire, item, table_keys, visitor_tokens
from tests.conftest import ADMIN, OPERATOR

FRAME_LIMIT = 32 * 1024




def send(who, channel, text="hello", client_id=None, **extra):
    return who.ok("message.send", channel_id=channel["id"], text=text,
                  client_id=client_id or f"c-{next(_ids)}", **extra)["message"]


_ids = iter(range(10**9))


def test_a_message_is_stored_then_acknowledged_then_sent_to_every_watcher(chat, room, svc, call):
    guest, otto, channel = room
    second_tab = chat.connect(guest.tokens)
    second_tab.ok("channel.watch", channel_id=channel["id"])
    not_watching = chat.connect(guest.tokens)  # a member's connection that did not subscribe
    wire = install_wire()
    stored_when_acked = []

    def at_post(params, **_):  # what the table held when the acknowledgement went out
        frame = json.loads(params["Data"])
        if frame.get("type") == "reply":
            stored_when_acked.append(svc.store.messages.get(channel["id"], frame["data"]["message"]["id"],
                                                           viewer_role="visitor"))

    from switchboard.edge import ws

    events = ws.chat_context(svc).notifier.client.meta.events
    events.register("before-parameter-build.apigatewaymanagementapi.PostToConnection", at_post)
    # When the visitor sends a message
    message = send(guest, channel, "Where is my order?", client_id="order-1")
    # Then the acknowledgement came first, after the message was durable ...
    assert stored_when_acked and stored_when_acked[0] is not None and stored_when_acked[0].text == "Where is my order?"
    posts = [(cid, d.get("type"), d.get("event")) for op, cid, d in wire.calls if op == "PostToConnection"]
    assert posts[0] == (guest.id, "reply", None)
    # ... and then every watching connection got message.new - the sender's own too - and no one else
    assert sorted(cid for cid, kind, event in posts[1:]) == sorted([guest.id, second_tab.id, otto.id])
    assert all(event == "message.new" for _, _, event in posts[1:])
    assert not_watching.events("message.new") == []
    got = otto.events("message.new")[-1]["message"]
    assert got == message
    # And the message has the contract's shape
    assert {"id", "channel_id", "sender", "text", "attachments", "client_id", "created_at"} <= set(message)
    assert message["sender"] == {"id": guest.user_id, "role": "visitor", "name": guest.tokens["user"]["name"]}
    assert (message["text"], message["client_id"], message["attachments"]) == ("Where is my order?", "order-1", [])


def test_a_retried_client_id_returns_the_same_message_and_stores_it_once(room):
    guest, _otto, channel = room
    first = send(guest, channel, "once", client_id="retry-me")
    again = send(guest, channel, "once", client_id="retry-me")  # a retry sends what it sent
    assert again == first
    history = guest.ok("channel.history", channel_id=channel["id"])["messages"]
    assert [m["id"] for m in history] == [first["id"]]


@pytest.mark.parametrize("change", ["text", "no attachments", "another attachment name"])
def test_a_client_id_reused_for_another_message_is_a_conflict_and_changes_nothing(room, svc, change):
    # Given Otto's message with an attachment, stored under his client_id
    guest, otto, channel = room
    key = otto.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)["key"]
    sent = {"text": "see the scan", "attachments": [{"key": key, "name": "scan.png"}]}
    first = send(otto, channel, client_id="otto-scan", **sent)
    # When his client sends something else under that client_id (a client bug: the key is spent)
    other = {"text": "see the invoice", "attachments": sent["attachments"]} if change == "text" else \
        {"text": sent["text"], "attachments": [] if change == "no attachments" else [{"key": key, "name": "x.png"}]}
    before, heard = table_keys(), len(guest.events("message.new"))
    last_message_at = svc.store.channels.get(channel["id"]).last_message_at
    reply = otto.request("message.send", channel_id=channel["id"], client_id="otto-scan", **other)
    # Then it is refused as a conflict - not answered with the first message as if it were sent
    assert not reply["ok"] and reply["error"]["code"] == "conflict", reply
    # and nothing is stored or sent: no message, no activity, no event to anyone
    assert table_keys() == before and svc.store.channels.get(channel["id"]).last_message_at == last_message_at
    assert len(guest.events("message.new")) == heard
    assert [m["id"] for m in guest.ok("channel.history", channel_id=channel["id"])["messages"]] == [first["id"]]
    # But a true retry (the same text and attachments) still gets the stored message
    assert send(otto, channel, client_id="otto-scan", **sent) == first


def test_a_client_id_reused_for_another_text_is_a_conflict_also_where_the_sender_may_no_longer_write(chat, room,
                                                                                                     tokens_for):
    # Given a closed conversation, and Otto's message in another one he has since handed back
    guest, otto, channel = room
    send(guest, channel, "thanks, bye", client_id="bye")
    guest.ok("channel.close", channel_id=channel["id"])
    second = guest.ok("support.open")["channel"]
    otto.ok("channel.watch", channel_id=second["id"])
    send(otto, second, "let me check", client_id="otto-1")
    otto.disconnect()
    back = chat.connect(tokens_for(OPERATOR))
    # When either client_id comes again with another text
    # Then it is a conflict there too, while a true retry still learns its message was kept
    assert guest.error("message.send", channel_id=channel["id"], text="one more thing", client_id="bye") == "conflict"
    assert back.error("message.send", channel_id=second["id"], text="never mind", client_id="otto-1") == "conflict"
    assert send(back, second, "let me check", client_id="otto-1")["text"] == "let me check"
    assert send(guest, channel, "thanks, bye", client_id="bye")["text"] == "thanks, bye"


def test_concurrent_retries_of_one_client_id_store_exactly_one_message(chat, room):
    guest, _otto, channel = room
    tabs = [chat.connect(guest.tokens) for _ in range(6)]
    results: list = []
    lock = threading.Lock()

    def retry(tab):
        reply = tab.ok("message.send", channel_id=channel["id"], text="only once", client_id="same-key")
        with lock:
            results.append(reply["message"])

    with atomic_requests():
        threads = [threading.Thread(target=retry, args=(t,)) for t in tabs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 6 and len({m["id"] for m in results}) == 1
    history = guest.ok("channel.history", channel_id=channel["id"], limit=100)["messages"]
    assert [m["client_id"] for m in history] == ["same-key"]


def test_the_same_client_id_from_another_sender_is_another_message(room):
    guest, otto, channel = room
    a = send(guest, channel, "from the visitor", client_id="k")
    b = send(otto, channel, "from the operator", client_id="k")
    assert a["id"] != b["id"]


def test_message_ids_sort_by_time(room):
    guest, otto, channel = room
    ids = [send(who, channel, f"m{i}")["id"] for i, who in enumerate([guest, otto, guest, otto, guest])]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_time_ordered_ids_increase_within_one_millisecond_and_when_the_clock_steps_back():
    from switchboard.ids import time_ordered_id

    same_ms = [time_ordered_id(1_700_000_000_000) for _ in range(50)]
    stepped_back = time_ordered_id(1_600_000_000_000)
    assert same_ms == sorted(same_ms) and len(set(same_ms)) == 50
    assert stepped_back > same_ms[-1]


@pytest.mark.parametrize("text", ["x", "🙂" * 4000, "\u0001" * 4000, "ü" * 4000])
def test_any_text_of_1_to_4000_characters_is_accepted_and_fits_one_frame(room, text):
    guest, otto, channel = room
    message = send(guest, channel, text)
    assert message["text"] == text
    frame = [f for f in otto.frames() if f.get("event") == "message.new"][-1]
    assert len(json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()) <= FRAME_LIMIT


def test_a_closed_channel_refuses_messages_but_a_retry_of_a_stored_one_gets_it_back(room):
    guest, otto, channel = room
    sent = send(guest, channel, "before closing", client_id="before")
    guest.ok("channel.close", channel_id=channel["id"])
    assert guest.error("message.send", channel_id=channel["id"], text="after", client_id="after") == "conflict"
    assert otto.error("typing", channel_id=channel["id"]) == "conflict"
    assert send(guest, channel, "before closing", client_id="before") == sent


def test_a_retry_after_the_socket_dropped_and_the_channel_was_handed_back_gets_the_stored_message(chat, room, svc,
                                                                                                    tokens_for):
    guest, otto, channel = room
    # Given Otto's message stored, but his socket gone before the ack reached him - his last
    # connection, so the conversation went back to the queue
    sent = send(otto, channel, "let me check that for you", client_id="otto-1")
    otto.disconnect()
    assert svc.store.channels.get(channel["id"]).status == "queued"
    # When he reconnects and sends it again, with the same client_id
    back = chat.connect(tokens_for(OPERATOR))
    again = back.request("message.send", channel_id=channel["id"], text="let me check that for you",
                         client_id="otto-1")
    # Then he learns it was kept: the same message, stored once
    assert again["ok"] is True and again["data"]["message"] == sent, again
    history = guest.ok("channel.history", channel_id=channel["id"])["messages"]
    assert [m["id"] for m in history if m["client_id"] == "otto-1"] == [sent["id"]]
    # and the visitor heard of it once, when it was first sent: one who may no longer write
    # there causes nothing more
    assert [e["message"]["id"] for e in guest.events("message.new")].count(sent["id"]) == 1
    # But a new message is still refused: he no longer holds the conversation
    assert back.error("message.send", channel_id=channel["id"], text="new", client_id="otto-2") == "forbidden"
    # And the visitor's client_id gets him nothing of theirs: a retry is the sender's own
    send(guest, channel, "are you there?", client_id="guest-1")
    assert back.error("message.send", channel_id=channel["id"], text="x", client_id="guest-1") == "forbidden"


def changed_right_after_it_is_read(monkeypatch, svc, channel_id, change):
    """The next action's read of the channel sees it as it was; ``change()`` then runs before
    the action writes anything (a concurrent close or reassignment, at the worst moment)."""
    real = svc.store.channels.get
    pending = [change]

    def get_channel(cid):
        ch = real(cid)
        if cid == channel_id and pending:
            pending.pop()()
        return ch

    monkeypatch.setattr(svc.store.channels, "get", get_channel)


def stored_messages(channel_id):
    return {sk for pk, sk in table_keys() if pk == f"CH#{channel_id}" and sk.startswith(("MSG#", "CID#"))}


def test_a_channel_closed_between_the_read_and_the_write_takes_no_message(chat, call, monkeypatch, svc):
    # Given a queued conversation (no assignment to end: only the channel's own status guards it)
    from switchboard.ids import now_ms

    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    # When it is closed right after the visitor's send read it open
    changed_right_after_it_is_read(monkeypatch, svc, channel["id"], lambda: svc.store.channels.close(
        svc.store.channels.get(channel["id"]), now_ms=now_ms()))
    code = guest.error("message.send", channel_id=channel["id"], text="too late", client_id="late")
    # Then the send is a conflict and no message was stored in the closed channel
    assert code == "conflict"
    assert svc.store.channels.get(channel["id"]).status == "closed"
    assert stored_messages(channel["id"]) == set()


def test_an_operator_whose_assignment_ends_between_the_read_and_the_write_stores_nothing(room, monkeypatch, svc):
    # Given Otto's open conversation
    from switchboard.ids import now_ms

    _guest, otto, channel = room
    # When it goes back to the queue right after his send read it as his
    changed_right_after_it_is_read(monkeypatch, svc, channel["id"], lambda: svc.store.channels.requeue(
        svc.store.channels.get(channel["id"]), now_ms=now_ms()))
    code = otto.error("message.send", channel_id=channel["id"], text="still mine?", client_id="late")
    # Then he may no longer write there: nothing is stored, and no assignment of his is left behind
    assert code == "forbidden"
    assert stored_messages(channel["id"]) == set()
    assert item(f"U#acme#{otto.user_id}", f"A#{channel['id']}") is None
    assert svc.store.channels.assigned_ids("acme", otto.user_id) == []


def test_an_operator_whose_channel_is_reassigned_between_the_read_and_the_write_stores_nothing(
        chat, room, tokens_for, monkeypatch, svc):
    # Given Otto's open conversation, and Ana (admin) online
    _guest, otto, channel = room
    ana = chat.connect(tokens_for(ADMIN))
    # When Ana takes it over right after Otto's send read it as his
    changed_right_after_it_is_read(monkeypatch, svc, channel["id"],
                                   lambda: ana.ok("channel.assign", channel_id=channel["id"]))
    code = otto.error("message.send", channel_id=channel["id"], text="still mine?", client_id="late")
    # Then the send is re-checked against the channel as it is now: refused, nothing stored
    assert code == "forbidden"
    assert svc.store.channels.get(channel["id"]).assignee == ana.user_id
    assert stored_messages(channel["id"]) == set()


def test_watch_returns_the_channel_and_its_latest_messages(chat, room):
    guest, _otto, channel = room
    sent = [send(guest, channel, f"m{i}")["id"] for i in range(3)]
    late = chat.connect(guest.tokens)
    watched = late.ok("channel.watch", channel_id=channel["id"])
    assert watched["channel"]["id"] == channel["id"]
    assert [m["id"] for m in watched["messages"]] == sent and watched["cursor"] is None


def test_history_pages_backwards_oldest_first_within_a_page(room):
    guest, otto, channel = room
    sent = [send(guest if i % 2 else otto, channel, f"m{i}")["id"] for i in range(7)]
    pages, before = [], None
    while True:
        page = guest.ok("channel.history", channel_id=channel["id"], limit=3, **({"before": before} if before else {}))
        pages.append([m["id"] for m in page["messages"]])
        before = page["cursor"]
        if before is None:
            break
    assert pages == [sent[4:7], sent[1:4], sent[0:1]]


def test_history_ends_on_the_page_that_holds_the_oldest_message(room):
    # Given exactly two pages of messages
    guest, _otto, channel = room
    sent = [send(guest, channel, f"m{i}")["id"] for i in range(6)]
    # When the visitor pages back three at a time
    first = guest.ok("channel.history", channel_id=channel["id"], limit=3)
    second = guest.ok("channel.history", channel_id=channel["id"], limit=3, before=first["cursor"])
    # Then the second page holds the oldest three and says there is nothing older (no empty third page)
    assert [m["id"] for m in first["messages"]] == sent[3:6] and first["cursor"] == sent[3]
    assert [m["id"] for m in second["messages"]] == sent[0:3]
    assert second["cursor"] is None


def test_history_pages_shrink_to_fit_one_32_kb_frame(room):
    guest, _otto, channel = room
    big = "🙂" * 4000  # 16 KB of UTF-8 each
    sent = [send(guest, channel, big)["id"] for _ in range(5)]
    seen, before = [], None
    while True:
        reply = guest.request("channel.history", channel_id=channel["id"], limit=100,
                              **({"before": before} if before else {}))
        assert len(json.dumps(reply, separators=(",", ":"), ensure_ascii=False).encode()) <= FRAME_LIMIT
        assert reply["data"]["messages"], "each page holds at least one message"
        seen = [m["id"] for m in reply["data"]["messages"]] + seen
        before = reply["data"]["cursor"]
        if before is None:
            break
    assert seen == sent
    watched = guest.request("channel.watch", channel_id=channel["id"])
    assert len(json.dumps(watched, separators=(",", ":"), ensure_ascii=False).encode()) <= FRAME_LIMIT
    assert watched["data"]["cursor"] is not None


def test_the_author_deletes_their_message_and_watchers_hear_of_it(room):
    guest, otto, channel = room
    message = send(guest, channel, "oops, my card number", client_id="oops")
    assert guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"]) == {}
    deleted = otto.events("message.deleted")[-1]["message"]
    assert (deleted["id"], deleted["text"], deleted["deleted"]) == (message["id"], "", True)
    # the text is gone from storage - also from the client-id record a retry would read
    assert item(f"CH#{channel['id']}", f"MSG#{message['id']}")["text"] == ""
    assert send(guest, channel, "oops, my card number", client_id="oops")["text"] == ""


def test_only_the_author_or_a_moderator_deletes_a_message(chat, room, tokens_for):
    guest, otto, channel = room
    message = send(guest, channel, "visitor's words")
    assert otto.error("message.delete", channel_id=channel["id"], message_id=message["id"]) == "forbidden"
    ana = chat.connect(tokens_for(ADMIN))  # chat:moderate
    assert ana.ok("message.delete", channel_id=channel["id"], message_id=message["id"]) == {}
    assert guest.error("message.delete", channel_id=channel["id"], message_id="0000000000000-nope") == "not_found"


def test_typing_goes_to_the_other_watchers(chat, room):
    guest, otto, channel = room
    guest.ok("typing", channel_id=channel["id"])
    assert otto.events("typing") == [{"channel_id": channel["id"], "user": {
        "id": guest.user_id, "name": guest.tokens["user"]["name"], "role": "visitor"}}]
    assert guest.events("typing") == []


def test_read_receipts_go_to_the_other_watchers_and_move_the_marker(room):
    guest, otto, channel = room
    first, second = send(otto, channel, "one"), send(otto, channel, "two")
    guest.ok("read", channel_id=channel["id"], message_id=second["id"])
    assert otto.events("read")[-1] == {"channel_id": channel["id"], "message_id": second["id"],
                                       "user": {"id": guest.user_id, "name": guest.tokens["user"]["name"],
                                                "role": "visitor"}}
    assert guest.events("read") == []
    guest.ok("read", channel_id=channel["id"], message_id=first["id"])  # an older receipt does not move it back
    assert item(f"CH#{channel['id']}", f"R#{guest.user_id}")["message_id"] == second["id"]
    assert guest.error("read", channel_id=channel["id"], message_id="0000000000000-nope") == "not_found"


def test_a_watching_member_hears_of_a_change_once(room):
    # Given the visitor, a member of the channel, watching it too
    guest, otto, channel = room
    # When the operator closes it
    otto.ok("channel.close", channel_id=channel["id"])
    # Then the visitor gets one channel.updated, not one per reason to be told
    closed = [e for e in guest.events("channel.updated") if e["channel"]["status"] == "closed"]
    assert len(closed) == 1


def test_an_operator_who_watched_a_queued_channel_stops_hearing_of_it_once_a_colleague_claims_it(
        chat, call, tokens_for, svc):
    from switchboard.auth.identity import new_operator_id
    from switchboard.auth.passwords import hash_password
    from switchboard.models import Operator

    svc.store.staff.put(Operator(tenant="acme", id=new_operator_id(), email="olga@acme.test", name="Olga",
                                    role="operator", password_hash=hash_password("olga-correct-horse-battery")))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    otto = chat.connect(tokens_for(OPERATOR))
    olga = chat.connect(tokens_for({"email": "olga@acme.test", "password": "olga-correct-horse-battery"}))
    otto.ok("channel.watch", channel_id=channel["id"])
    olga.ok("channel.watch", channel_id=channel["id"])
    olga.ok("channel.assign", channel_id=channel["id"])
    send(guest, channel, "private from now on")
    assert olga.events("message.new") and otto.events("message.new") == []


def test_operators_chat_in_a_team_channel(chat, tokens_for):
    otto, ana = chat.connect(tokens_for(OPERATOR)), chat.connect(tokens_for(ADMIN))
    team = otto.ok("channel.create", type="team", members=[ana.user_id], name="Escalations")["channel"]
    assert (team["type"], team["status"], team["name"]) == ("team", "open", "Escalations")
    assert set(team["members"]) == {otto.user_id, ana.user_id}
    assert ana.events("channel.updated")[-1]["channel"]["id"] == team["id"]
    ana.ok("channel.watch", channel_id=team["id"])
    message = send(otto, team, "anyone seen order 42?")
    assert ana.events("message.new")[-1]["message"]["id"] == message["id"]
    listed = ana.ok("channel.query", filter={"member": "me"})["channels"]
    assert team["id"] in [c["id"] for c in listed]
    assert otto.error("channel.create", type="team", members=["op-nobody"], name="x") == "not_found"
