"""The operators' tools of contract section 8: presence.set (online / away), max_chats, the
handover (channel.assign by the assignee, with a note), channel.label and the inbox filters of
channel.query ({"visitor"}, {"label"}, {"assignee"}, {"status": "closed"})."""

from __future__ import annotations

import json
import time

import pytest

from tests.chat.test_support_channels import OLGA, add_operator
from tests.chat_support import table_keys, visitor_tokens
from tests.conftest import ADMIN, OPERATOR


@pytest.fixture
def olga(svc, seeded):
    return add_operator(svc, OLGA)


def set_max_chats(call, tokens_for, operator_id, n):
    admin = tokens_for(ADMIN)
    return call("PATCH /admin/operators/{id}", token=admin["access_token"], body={"max_chats": n},
                path_params={"id": operator_id})


# -- presence and capacity ----------------------------------------------------------------------
def test_an_away_operator_gets_no_new_chats_and_keeps_the_ones_they_have(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    first = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert first["assignee"] == otto.user_id
    # When Otto says he is away
    assert otto.ok("presence.set", status="away") == {"status": "away"}
    # Then a new visitor's chat waits in the queue, and his open chat stays his
    queued = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert (queued["status"], queued["assignee"]) == ("queued", None)
    assert otto.ok("channel.query", filter={"status": "open"})["channels"][0]["id"] == first["id"]
    # And once back online, new chats reach him again
    otto.ok("presence.set", status="online")
    again = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert again["assignee"] == otto.user_id


def test_presence_is_staff_only_and_validated(chat, call, tokens_for):
    guest = chat.connect(visitor_tokens(call))
    assert guest.error("presence.set", status="away") == "forbidden"
    otto = chat.connect(tokens_for(OPERATOR))
    assert otto.error("presence.set", status="busy") == "validation_error"


def test_an_operator_at_max_chats_gets_no_new_chats(chat, call, tokens_for, seeded):
    otto_id = seeded[OPERATOR["email"]]["id"]
    r = set_max_chats(call, tokens_for, otto_id, 1)
    assert r["status"] == 200 and r["json"]["operator"]["max_chats"] == 1, r
    chat.connect(tokens_for(OPERATOR))
    first = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    second = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert first["assignee"] == otto_id
    assert (second["status"], second["assignee"]) == ("queued", None)


# (null is no bad value since issue 17's probe: it clears the cap - tests/http/test_staff_directory.py)
@pytest.mark.parametrize("value", [0, 51, "5", 2.5, -1, True])
def test_max_chats_is_1_to_50_and_bad_values_change_nothing(call, tokens_for, seeded, value):
    otto_id = seeded[OPERATOR["email"]]["id"]
    admin = tokens_for(ADMIN)
    before = table_keys()
    r = call("PATCH /admin/operators/{id}", token=admin["access_token"], body={"max_chats": value},
             path_params={"id": otto_id})
    assert r["status"] in (400, 422), r
    assert table_keys() == before


def test_max_chats_needs_admin_operators(call, tokens_for, seeded):
    otto = tokens_for(OPERATOR)
    r = call("PATCH /admin/operators/{id}", token=otto["access_token"], body={"max_chats": 5},
             path_params={"id": seeded[OPERATOR["email"]]["id"]})
    assert r["status"] == 403, r


# -- handover -------------------------------------------------------------------------------
def test_the_assignee_hands_over_with_a_note_both_hear_of_it_and_the_visitor_never_sees_the_note(
        chat, call, tokens_for, olga):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    guest.ok("channel.watch", channel_id=channel["id"])
    o = chat.connect(tokens_for(olga))
    olga_id = o.tokens["user"]["id"]
    # When Otto hands it to Olga with a note
    moved = otto.ok("channel.assign", channel_id=channel["id"], operator_id=olga_id,
                    note="VIP, refund approved")["channel"]
    # Then it is hers, and she heard of it at once
    assert (moved["assignee"], moved["status"]) == (olga_id, "open")
    assert o.events("channel.updated")[-1]["channel"]["assignee"] == olga_id
    # And the note is a private note of the conversation: staff read it, the visitor never does
    staff_history = o.ok("channel.history", channel_id=channel["id"])["messages"]
    assert [(m["text"], m.get("internal")) for m in staff_history] == [("VIP, refund approved", True)]
    assert guest.ok("channel.history", channel_id=channel["id"])["messages"] == []
    assert "VIP, refund approved" not in json.dumps(guest.frames())
    # And Otto, no longer the assignee, cannot hand it on again
    assert otto.error("channel.assign", channel_id=channel["id"], operator_id=otto.user_id) in (
        "forbidden", "not_found")


def test_a_handover_to_an_away_or_full_or_offline_operator_is_refused_and_changes_nothing(
        chat, call, tokens_for, olga, svc):
    otto = chat.connect(tokens_for(OPERATOR))
    channel = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    olga_tokens = tokens_for(olga)
    olga_id = olga_tokens["user"]["id"]
    # offline
    assert otto.error("channel.assign", channel_id=channel["id"], operator_id=olga_id) == "conflict"
    o = chat.connect(olga_tokens)
    # away
    o.ok("presence.set", status="away")
    before = table_keys()
    assert otto.error("channel.assign", channel_id=channel["id"], operator_id=olga_id, note="x") == "conflict"
    assert table_keys() == before
    assert svc.store.channels.get(channel["id"]).assignee == otto.user_id
    # at capacity
    o.ok("presence.set", status="online")
    assert set_max_chats(call, tokens_for, olga_id, 1)["status"] == 200
    other = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert other["assignee"] == olga_id  # the least loaded: she now has her one chat
    assert otto.error("channel.assign", channel_id=channel["id"], operator_id=olga_id) == "conflict"
    assert svc.store.channels.get(channel["id"]).assignee == otto.user_id


def test_the_capacity_is_checked_in_the_assignment_itself(chat, call, tokens_for, olga, svc):
    # Given Olga online with room for one, as a handover read her
    otto = chat.connect(tokens_for(OPERATOR))
    channel = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    o = chat.connect(tokens_for(olga))
    olga_id = o.tokens["user"]["id"]
    assert set_max_chats(call, tokens_for, olga_id, 1)["status"] == 200
    # When she fills up between that read and the write (another chat given to her behind its back)
    from switchboard.chat import actions

    real = actions._check_available

    def then_fill(p, **kw):
        real(p, **kw)
        svc.store.presence.set_away("acme", olga_id, True)

    import unittest.mock

    with unittest.mock.patch.object(actions, "_check_available", then_fill):
        code = otto.error("channel.assign", channel_id=channel["id"], operator_id=olga_id)
    # Then the transaction refuses it: the chat stays Otto's
    assert code == "conflict"
    assert svc.store.channels.get(channel["id"]).assignee == otto.user_id


def test_a_note_without_a_handover_is_a_validation_error(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    channel = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert otto.error("channel.assign", channel_id=channel["id"], note="x") == "validation_error"
    assert otto.error("channel.assign", channel_id=channel["id"], operator_id=otto.user_id,
                      note="y" * 501) == "validation_error"


# -- labels ---------------------------------------------------------------------------------
def test_labels_are_normalised_shown_to_staff_and_never_to_the_visitor(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    guest.ok("channel.watch", channel_id=channel["id"])
    labelled = otto.ok("channel.label", channel_id=channel["id"], add=["  VIP   Customer ", "Refund", "refund"])
    assert labelled["channel"]["labels"] == ["vip customer", "refund"]
    removed = otto.ok("channel.label", channel_id=channel["id"], remove=["REFUND", "not there"])
    assert removed["channel"]["labels"] == ["vip customer"]
    # the visitor's views have no labels, and they heard nothing of them
    assert "labels" not in guest.ok("channel.watch", channel_id=channel["id"])["channel"]
    assert all("labels" not in c for c in guest.ok("channel.query", filter={"member": "me"})["channels"])
    assert guest.events("channel.updated") == []
    assert "vip customer" not in json.dumps(guest.frames())
    # a visitor cannot label
    assert guest.error("channel.label", channel_id=channel["id"], add=["x"]) == "forbidden"


@pytest.mark.parametrize("labels", [[""], ["   "], ["x" * 33], ["a\u0000b"], ["a\u200bb"]])
def test_a_bad_label_is_refused_and_changes_nothing(chat, call, tokens_for, labels):
    otto = chat.connect(tokens_for(OPERATOR))
    channel = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    before = table_keys()
    assert otto.error("channel.label", channel_id=channel["id"], add=labels) == "validation_error"
    assert table_keys() == before


def test_at_most_20_labels(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    channel = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    otto.ok("channel.label", channel_id=channel["id"], add=[f"l{i}" for i in range(10)])
    otto.ok("channel.label", channel_id=channel["id"], add=[f"m{i}" for i in range(10)])
    assert otto.error("channel.label", channel_id=channel["id"], add=["one more"]) == "validation_error"


# -- the inbox's filters ------------------------------------------------------------------------
def ids(client, **query):
    out, cursor = [], None
    while True:
        data = client.ok("channel.query", **query, limit=1, **({"cursor": cursor} if cursor else {}))
        out += [c["id"] for c in data["channels"]]
        cursor = data["cursor"]
        if cursor is None:
            return out


def test_the_inbox_filters_by_label_visitor_assignee_and_closed_paged_and_without_a_scan(chat, call, tokens_for, svc):
    otto = chat.connect(tokens_for(OPERATOR))
    guests = [chat.connect(visitor_tokens(call)) for _ in range(3)]
    chans = [g.ok("support.open")["channel"] for g in guests]  # all Otto's: he is the one online
    ana = chat.connect(tokens_for(ADMIN))
    otto.ok("channel.label", channel_id=chans[0]["id"], add=["vip"])
    otto.ok("channel.label", channel_id=chans[2]["id"], add=["VIP"])
    otto.ok("channel.close", channel_id=chans[1]["id"])
    calls = []
    svc.store.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    # label: newest labelled first, a page at a time
    assert ids(ana, filter={"label": "Vip"}) == [chans[2]["id"], chans[0]["id"]]
    # visitor: that visitor's conversations, closed ones too
    assert ids(ana, filter={"visitor": guests[1].user_id}) == [chans[1]["id"]]
    # assignee: an operator's open chats
    assert ids(ana, filter={"assignee": otto.user_id}) == [chans[2]["id"], chans[0]["id"]]
    # closed: the tenant's closed conversations; an operator reads them (and their history)
    assert ids(otto, filter={"status": "closed"}) == [chans[1]["id"]]
    assert otto.ok("channel.history", channel_id=chans[1]["id"])["messages"] == []
    assert "Query" in calls and "Scan" not in calls


@pytest.mark.parametrize("query", [{"visitor": "self"}, {"visitor": "other"}, {"label": "vip"},
                                   {"assignee": "op-x"}, {"status": "closed"}])
def test_a_visitor_using_a_staff_filter_is_refused_not_quietly_given_their_own_list(chat, call, query):
    # Given two visitors with a conversation each (one labelled, one closed, as staff would filter)
    guests = [chat.connect(visitor_tokens(call)) for _ in range(2)]
    _mine, theirs = (g.ok("support.open")["channel"] for g in guests)
    if query.get("visitor"):
        query = {"visitor": guests[0 if query["visitor"] == "self" else 1].user_id}
    # When a visitor sends one of contract section 8's staff filters
    reply = guests[0].request("channel.query", filter=query)
    # Then it is refused, saying what to use instead - never a list, theirs or anyone's
    assert not reply["ok"] and reply["error"]["code"] == "forbidden", reply
    assert "for staff" in reply["error"]["message"] and '{"member": "me"}' in reply["error"]["message"]
    assert theirs["id"] not in str(reply)
    # while their own list, and section 4's status filters on it, still answer
    assert [c["id"] for c in guests[0].ok("channel.query", filter={"member": "me"})["channels"]] == [_mine["id"]]
    assert guests[0].ok("channel.query", filter={"status": "open"})["channels"] == []


# -- the creation's own condition (issue 17's probe: ten opens at once took an operator to 9 of 3) --
def _race_at_the_pick(between):
    """Patch support.open's pick so that the first open, having picked from the presence it
    read, runs ``between`` before its creation's transaction: deterministic, no threads."""
    import unittest.mock

    from switchboard.chat import actions

    real = actions.pick_operator
    calls: list[str | None] = []

    def racing(presence, **kw):
        chosen = real(presence, **kw)
        calls.append(chosen.user_id if chosen else None)
        if len(calls) == 1:
            between(chosen.user_id)
        return chosen

    return unittest.mock.patch.object(actions, "pick_operator", racing), calls


def _load(svc, user_id):
    here = {p.user_id: p for p in svc.store.presence.of_tenant("acme", now=int(time.time()))}
    return here[user_id].load


@pytest.mark.parametrize("with_olga", [False, True], ids=["queued", "assigned_elsewhere"])
def test_two_opens_at_once_cannot_take_an_operator_past_max_chats(chat, call, tokens_for, seeded, svc, with_olga):
    # Given Otto online with room for one chat (and, in one case, Olga online with room for one too)
    otto_id = seeded[OPERATOR["email"]]["id"]
    assert set_max_chats(call, tokens_for, otto_id, 1)["status"] == 200
    chat.connect(tokens_for(OPERATOR))
    if with_olga:
        add_operator(svc, OLGA)
        olga = chat.connect(tokens_for(OLGA))
        assert set_max_chats(call, tokens_for, olga.user_id, 1)["status"] == 200
    first, second = chat.connect(visitor_tokens(call)), chat.connect(visitor_tokens(call))
    taken: dict[str, str] = {}

    def second_opens(picked):
        taken["by_second"] = second.ok("support.open")["channel"]["assignee"]
        assert taken["by_second"] == picked  # both read the same presence: the same operator

    # When the second visitor's open runs whole between the first's presence read and its write
    race, picks = _race_at_the_pick(second_opens)
    with race:
        ch = first.ok("support.open")["channel"]
    # Then the operator both picked has one chat, not two
    picked = taken["by_second"]
    assert _load(svc, picked) == 1
    stored = svc.store.channels.get(ch["id"])
    if with_olga:
        # And the first visitor's chat went to the other one, who has room
        other = ({otto_id, olga.user_id} - {picked}).pop()
        assert (ch["status"], ch["assignee"]) == ("open", other) == (stored.status, stored.assignee)
        assert _load(svc, other) == 1
    else:
        # And the first visitor's chat waits in the queue: never lost, never an error
        assert (ch["status"], ch["assignee"]) == ("queued", None) == (stored.status, stored.assignee)
        assert len(picks) == 3  # picked (stale), the second's pick, then nobody left: queued
    assert svc.store.channels.open_support_id("acme", first.user_id) == ch["id"]


def test_an_operator_who_turns_away_between_the_pick_and_the_write_gets_no_new_chat(chat, call, tokens_for, svc):
    # Given Otto online, the only staff, with room to spare
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    # When he turns away after the visitor's open read him as available, before it writes
    race, _ = _race_at_the_pick(lambda picked: otto.ok("presence.set", status="away"))
    with race:
        ch = guest.ok("support.open")["channel"]
    # Then the chat waits in the queue, and nothing of it is his
    stored = svc.store.channels.get(ch["id"])
    assert (ch["status"], ch["assignee"]) == ("queued", None) == (stored.status, stored.assignee)
    assert _load(svc, otto.user_id) == 0
    assert otto.user_id not in stored.members


def test_an_open_cancelled_by_a_concurrent_transaction_is_tried_again_not_an_error(chat, call, tokens_for, svc):
    # Given DynamoDB cancelling the creation's first transaction because another one held the
    # operator's load item at that moment (many opens at once; no condition failed)
    from botocore.exceptions import ClientError

    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    real = svc.store.client.transact_write_items
    tries: list[int] = []

    def conflicting_once(**kw):
        tries.append(len(kw["TransactItems"]))
        if len(tries) == 1:
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                               "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]},
                              "TransactWriteItems")
        return real(**kw)

    import unittest.mock

    # When the visitor opens a conversation
    with unittest.mock.patch.object(svc.store.client, "transact_write_items", conflicting_once):
        ch = guest.ok("support.open")["channel"]
    # Then the same transaction is sent again and the visitor gets their conversation, assigned
    assert len(tries) == 2 and tries[0] == tries[1]
    assert (ch["status"], ch["assignee"]) == ("open", otto.user_id)
    assert _load(svc, otto.user_id) == 1
