"""channel.query: the contract's filters, cursor pages newest activity first, from GSI2 - never a Scan."""

from __future__ import annotations

import base64
import json

import pytest

from tests.chat_support import ACTION_COUNTERS, visitor_tokens
from tests.conftest import ADMIN, OPERATOR, dynamodb_as_documented

FRAME_LIMIT = 32 * 1024


def all_pages(client, **query):
    pages, cursor = [], None
    while True:
        data = client.ok("channel.query", **query, **({"cursor": cursor} if cursor else {}))
        pages.append([c["id"] for c in data["channels"]])
        cursor = data["cursor"]
        if cursor is None:
            return pages


def queued_channels(chat, call, n):
    guests = [chat.connect(visitor_tokens(call)) for _ in range(n)]
    return guests, [g.ok("support.open")["channel"] for g in guests]


def test_the_queue_pages_newest_activity_first(chat, call, tokens_for):
    # Given five queued channels, and later activity in two of the older ones
    guests, channels = queued_channels(chat, call, 5)
    for i in (1, 0):
        guests[i].ok("message.send", channel_id=channels[i]["id"], text="still there?", client_id=f"c{i}")
    ana = chat.connect(tokens_for(ADMIN))
    # When an operator pages through the queue two at a time
    pages = all_pages(ana, filter={"status": "queued"}, limit=2)
    # Then pages come newest last_message_at first, each channel once, and the last cursor is null
    ids = [c["id"] for c in channels]
    assert pages == [[ids[0], ids[1]], [ids[4], ids[3]], [ids[2]]]


def test_the_page_that_ends_the_list_has_no_cursor_even_when_dynamodb_stopped_at_its_limit(chat, call, tokens_for,
                                                                                            svc):
    # Given exactly two queued channels, and DynamoDB's pagination as documented
    _, channels = queued_channels(chat, call, 2)
    ana = chat.connect(tokens_for(ADMIN))
    dynamodb_as_documented(svc.store.client)
    # When an admin asks for pages of two, then of one
    whole = ana.ok("channel.query", filter={"status": "queued"}, limit=2)
    # Then the page of two is the whole list, and says so: no cursor to a page with nothing in it
    assert [c["id"] for c in whole["channels"]] == [c["id"] for c in reversed(channels)]
    assert whole["cursor"] is None
    # And pages of one still lead through both, the last with no cursor
    assert all_pages(ana, filter={"status": "queued"}, limit=1) == [[channels[1]["id"]], [channels[0]["id"]]]


def test_queries_use_gsi2_and_never_scan(chat, call, tokens_for, svc):
    queued_channels(chat, call, 3)
    ana = chat.connect(tokens_for(ADMIN))
    seen: list[tuple[str, str | None]] = []

    def record(params, model, **_):
        if not params.get("Key", {}).get("pk", {}).get("S", "").startswith(ACTION_COUNTERS):  # chat_limits' write
            seen.append((model.name, params.get("IndexName")))

    svc.store.client.meta.events.register("before-parameter-build.dynamodb.*", record)
    for query in ({"status": "queued"}, {"status": "open"}, {"member": "me"}):
        ana.ok("channel.query", filter=query, limit=2)
    assert ("Query", "GSI2") in seen
    assert not any(op == "Scan" for op, _ in seen)
    assert {op for op, index in seen if index is None} <= {"GetItem", "BatchGetItem"}


def test_member_me_lists_the_callers_channels_of_every_status(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    first = guest.ok("support.open")["channel"]
    guest.ok("channel.close", channel_id=first["id"])
    second = guest.ok("support.open")["channel"]
    assert all_pages(guest, filter={"member": "me"}) == [[second["id"], first["id"]]]
    assert all_pages(otto, filter={"member": "me"}) == [[second["id"], first["id"]]]


def test_open_is_an_operators_open_assignments_and_an_admins_whole_tenant(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    mine = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    otto.disconnect()  # back to the queue ...
    ana = chat.connect(tokens_for(ADMIN))
    theirs = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]  # ... and this one goes to ana
    otto = chat.connect(tokens_for(OPERATOR))
    otto.ok("channel.assign", channel_id=mine["id"])
    assert theirs["assignee"] == ana.user_id
    assert all_pages(otto, filter={"status": "open"}) == [[mine["id"]]]
    assert sorted(all_pages(ana, filter={"status": "open"})[0]) == sorted([mine["id"], theirs["id"]])


def test_visitors_only_ever_see_their_own_channels(chat, call, tokens_for):
    guests, channels = queued_channels(chat, call, 3)
    for query in ({"status": "queued"}, {"status": "open"}, {"member": "me"}):
        listed = [c["id"] for c in guests[0].ok("channel.query", filter=query)["channels"]]
        assert listed == ([channels[0]["id"]] if query != {"status": "open"} else [])


def test_another_tenants_channels_are_never_listed(chat, call, tokens_for):
    queued_channels(chat, call, 2)
    gus = chat.connect(tokens_for({"email": "gus@globex.test", "password": "gus-correct-horse-battery"},
                                  "globex"), origin="https://globex.test")
    assert gus.ok("channel.query", filter={"status": "queued"})["channels"] == []


def test_a_cursor_works_only_for_the_list_it_came_from(chat, call, tokens_for):
    queued_channels(chat, call, 3)
    ana = chat.connect(tokens_for(ADMIN))
    cursor = ana.ok("channel.query", filter={"status": "queued"}, limit=1)["cursor"]
    assert cursor is not None
    assert ana.error("channel.query", filter={"member": "me"}, cursor=cursor) == "validation_error"
    gus = chat.connect(tokens_for({"email": "gus@globex.test", "password": "gus-correct-horse-battery"},
                                  "globex"), origin="https://globex.test")
    assert gus.error("channel.query", filter={"status": "queued"}, cursor=cursor) == "validation_error"


@pytest.mark.parametrize("forged", [{"pk": "", "sk": "x", "gsi2sk": "1#c"}, {"pk": "CH#c", "sk": "", "gsi2sk": "1#c"},
                                    {"pk": "CH#c", "sk": "CHANNEL", "gsi2sk": "1#" + "c" * 1100},
                                    {"pk": "CH#\ud800", "sk": "CHANNEL", "gsi2sk": "1#c"}])
def test_a_forged_cursor_dynamodb_would_refuse_is_invalid_not_unavailable(chat, call, tokens_for, svc, forged):
    # Given DynamoDB's own refusals of empty and over-long keys, and an admin with a queue
    from tests.conftest import dynamodb_key_limits

    queued_channels(chat, call, 2)
    ana = chat.connect(tokens_for(ADMIN))
    dynamodb_key_limits(svc.store.client)
    # When a cursor of the right list is forged with a key no item has (within the size a cursor may have)
    cursor = base64.urlsafe_b64encode(json.dumps({**forged, "gsi2pk": "ST#acme#queued"}).encode()).decode()
    # Then it is bad input, not "unavailable, retry"
    assert ana.error("channel.query", filter={"status": "queued"}, cursor=cursor) == "validation_error"


def test_a_page_shrinks_to_fit_one_frame_and_the_cursor_picks_up_the_rest(chat, call, tokens_for, svc):
    # Given 40 queued channels with long subjects (40 x ~1.5 KB: more than one 32 KB frame)
    guests = [chat.connect(visitor_tokens(call)) for _ in range(40)]
    subject = "\u0001" * 200  # 6 bytes each in JSON
    ids = [g.ok("support.open", subject=subject)["channel"]["id"] for g in guests]
    ana = chat.connect(tokens_for(ADMIN))
    # When the queue is read 100 at a time
    seen, cursor = [], None
    while True:
        reply = ana.request("channel.query", filter={"status": "queued"}, limit=100,
                            **({"cursor": cursor} if cursor else {}))
        # Then every page fits one frame, and together they list every channel once
        assert len(json.dumps(reply, separators=(",", ":"), ensure_ascii=False).encode()) <= FRAME_LIMIT
        seen += [c["id"] for c in reply["data"]["channels"]]
        cursor = reply["data"]["cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 40
    assert len(reply["data"]["channels"]) < 40  # it did take more than one page
