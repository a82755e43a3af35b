"""GET /staff with presence and capacity (issue 17: the transfer picker offers colleagues who are online
and under capacity) and max_chats on GET /admin/operators - including PATCH's ``max_chats: null``,
which clears an operator's cap back to the tenant's default (no cap)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat.test_support_channels import OLGA, add_operator
from tests.chat_support import CallLog, visitor_tokens
from tests.conftest import OPERATOR


def staff_of(call, token) -> dict[str, dict[str, Any]]:
    r = call("GET /staff", token=token)
    assert r["status"] == 200, r
    return {s["name"]: s for s in r["json"]["staff"]}


def set_cap(call, admin, operator_id, value) -> dict[str, Any]:
    return call("PATCH /admin/operators/{id}", token=admin, body={"max_chats": value}, path_params={"id": operator_id})


def test_staff_shows_each_colleagues_status_cap_and_open_chats(chat, call, tokens_for, svc, admin, seeded):
    # Given Otto online with one open chat and a cap of 2, Olga online but away, Ana offline
    otto_tokens = tokens_for(OPERATOR)
    otto = chat.connect(otto_tokens)
    chat.connect(visitor_tokens(call)).ok("support.open")
    assert set_cap(call, admin, otto.user_id, 2)["status"] == 200
    olga = chat.connect(tokens_for(add_operator(svc, OLGA)))
    olga.ok("presence.set", status="away")
    # When Otto reads the staff directory
    staff = staff_of(call, otto_tokens["access_token"])
    # Then each entry says who may take a chat now
    assert {name: (s["status"], s["max_chats"], s["open_chats"]) for name, s in staff.items()} == {
        "Ana": ("offline", None, 0), "Olga": ("away", None, 0), "Otto": ("online", 2, 1)}
    # and nothing more than the picker needs: no email, nothing of an admin's listing
    assert all(set(s) == {"id", "name", "role", "status", "max_chats", "open_chats"} for s in staff.values())
    # When Olga comes back and Otto leaves, the directory follows
    olga.ok("presence.set", status="online")
    otto.disconnect()
    staff = staff_of(call, otto_tokens["access_token"])
    assert (staff["Olga"]["status"], staff["Otto"]["status"]) == ("online", "offline")
    # Otto's chat went back to the queue and on to Olga (the one online): the counts say so
    assert (staff["Otto"]["open_chats"], staff["Olga"]["open_chats"]) == (0, 1)


def test_an_away_operator_with_no_connection_is_offline(chat, call, tokens_for):
    otto_tokens = tokens_for(OPERATOR)
    otto = chat.connect(otto_tokens)
    otto.ok("presence.set", status="away")
    otto.disconnect()
    # away is kept for their next connection, but nobody can hand them a chat now
    assert staff_of(call, otto_tokens["access_token"])["Otto"]["status"] == "offline"


def _calls_of(svc, call, token) -> list[str]:
    log = CallLog()
    with log.counting(svc.store.client):
        assert call("GET /staff", token=token)["status"] == 200
    return sorted(log.names())


def test_the_directory_costs_two_queries_whatever_the_number_of_staff(chat, call, tokens_for, svc, admin):
    """No per-colleague read: the operator records and the staff partition (presence and load),
    one Query each (the partition holds a few hundred staff before a second page)."""
    otto_tokens = tokens_for(OPERATOR)
    chat.connect(otto_tokens)
    few = _calls_of(svc, call, otto_tokens["access_token"])
    # Given ten more colleagues, each with a cap and some online
    for i in range(10):
        who = {"email": f"op{i}@acme.test", "password": f"op{i}-correct-horse-battery", "name": f"Op {i}"}
        add_operator(svc, who)
        tokens = tokens_for(who)
        assert set_cap(call, admin, tokens["user"]["id"], 3)["status"] == 200
        if i % 2:
            chat.connect(tokens)
    many = _calls_of(svc, call, otto_tokens["access_token"])
    # Then the same DynamoDB calls: two Queries for the directory, beside what signing in reads
    assert many == few
    baseline = CallLog()
    with baseline.counting(svc.store.client):
        assert call("GET /auth/me", token=otto_tokens["access_token"])["status"] == 200
    assert many.count("Query") - sorted(baseline.names()).count("Query") == 2, (many, baseline.names())
    assert "Scan" not in many


def test_admin_operators_lists_max_chats_and_null_clears_it_to_the_tenants_default(call, admin, seeded, chat,
                                                                                   tokens_for):
    otto_id = seeded[OPERATOR["email"]]["id"]

    def listed() -> dict[str, Any]:
        r = call("GET /admin/operators", token=admin)
        assert r["status"] == 200, r
        return {o["email"]: o["max_chats"] for o in r["json"]["operators"]}

    # Given no cap set: the list says null (the tenant's default: no cap)
    assert listed()[OPERATOR["email"]] is None
    # When an admin sets one, the list carries it
    assert set_cap(call, admin, otto_id, 1)["json"]["operator"]["max_chats"] == 1
    assert listed()[OPERATOR["email"]] == 1
    # And at his cap Otto gets no new chat
    otto = chat.connect(tokens_for(OPERATOR))
    assert chat.connect(visitor_tokens(call)).ok("support.open")["channel"]["assignee"] == otto.user_id
    assert chat.connect(visitor_tokens(call)).ok("support.open")["channel"]["status"] == "queued"
    # When it is cleared with null
    r = set_cap(call, admin, otto_id, None)
    assert r["status"] == 200 and r["json"]["operator"]["max_chats"] is None, r
    # Then the list says null again, and nothing caps him: the next new chat is his
    assert listed()[OPERATOR["email"]] is None
    assert chat.connect(visitor_tokens(call)).ok("support.open")["channel"]["assignee"] == otto.user_id
    # The change is audited like any other
    events = call("GET /admin/events", token=admin)["json"]["events"]
    assert any(e["kind"] == "operator_changed" and e["detail"].get("max_chats_cleared") is True
               and e["subject"] == otto_id for e in events)


def test_a_patch_without_max_chats_leaves_the_cap_alone(call, admin, seeded):
    otto_id = seeded[OPERATOR["email"]]["id"]
    assert set_cap(call, admin, otto_id, 4)["status"] == 200
    r = call("PATCH /admin/operators/{id}", token=admin, body={"name": "Otto O."}, path_params={"id": otto_id})
    assert r["status"] == 200, r
    caps = {o["email"]: o["max_chats"] for o in call("GET /admin/operators", token=admin)["json"]["operators"]}
    assert caps[OPERATOR["email"]] == 4


@pytest.mark.parametrize("value", [0, 51, "3", 2.5, True])
def test_a_bad_cap_is_refused_and_keeps_the_one_set(call, admin, seeded, value):
    otto_id = seeded[OPERATOR["email"]]["id"]
    assert set_cap(call, admin, otto_id, 7)["status"] == 200
    r = set_cap(call, admin, otto_id, value)
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    caps = {o["email"]: o["max_chats"] for o in call("GET /admin/operators", token=admin)["json"]["operators"]}
    assert caps[OPERATOR["email"]] == 7


def test_only_admin_operators_clears_a_cap(call, tokens_for, seeded, admin):
    otto_id = seeded[OPERATOR["email"]]["id"]
    assert set_cap(call, admin, otto_id, 5)["status"] == 200
    otto = tokens_for(OPERATOR)["access_token"]
    r = set_cap(call, otto, otto_id, None)
    assert r["status"] == 403 and r["json"]["code"] == "forbidden", r
    caps = {o["email"]: o["max_chats"] for o in call("GET /admin/operators", token=admin)["json"]["operators"]}
    assert caps[OPERATOR["email"]] == 5
