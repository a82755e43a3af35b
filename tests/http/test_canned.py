"""Canned replies (contract section 8): GET /canned for staff (chat:write), /admin/canned and
/admin/canned/{id} for admins (admin:tenant); shortcuts unique per tenant; every change audited."""

from __future__ import annotations

import pytest

from tests.chat_support import table_keys, visitor_tokens
from tests.conftest import ADMIN, OPERATOR

REFUND = {"title": "Refund policy", "text": "Hi {visitor.name}, refunds take 5 days. - {operator.name}",
          "shortcut": "refund"}


def create(call, admin, body=REFUND):
    return call("POST /admin/canned", token=admin["access_token"], body=body)


def test_admins_manage_canned_replies_and_staff_read_them(call, tokens_for):
    admin, otto = tokens_for(ADMIN), tokens_for(OPERATOR)
    made = create(call, admin)
    assert made["status"] == 201, made
    reply = made["json"]["canned"]
    # the placeholders are stored as written: the back office fills them in
    assert {k: reply[k] for k in REFUND} == REFUND
    create(call, admin, {"title": "Hello", "text": "Hello!", "shortcut": "hi"})
    listed = call("GET /canned", token=otto["access_token"])
    assert listed["status"] == 200
    assert [c["shortcut"] for c in listed["json"]["canned"]] == ["hi", "refund"]
    changed = call("PATCH /admin/canned/{id}", token=admin["access_token"], path_params={"id": reply["id"]},
                   body={"shortcut": "refunds", "text": "Refunds take 5 days."})
    assert changed["status"] == 200, changed
    assert (changed["json"]["canned"]["shortcut"], changed["json"]["canned"]["title"]) == ("refunds", "Refund policy")
    # the old shortcut is free again
    assert create(call, admin, {"title": "Other", "text": "x", "shortcut": "refund"})["status"] == 201
    gone = call("DELETE /admin/canned/{id}", token=admin["access_token"], path_params={"id": reply["id"]})
    assert gone["status"] == 200
    assert "refunds" not in [c["shortcut"] for c in call("GET /canned", token=otto["access_token"])["json"]["canned"]]
    # audited
    events = call("GET /admin/events", token=admin["access_token"])["json"]["events"]
    kinds = [e["kind"] for e in events]
    assert {"canned_created", "canned_changed", "canned_removed"} <= set(kinds)


def test_a_shortcut_is_unique_per_tenant_and_a_taken_one_changes_nothing(call, tokens_for):
    admin = tokens_for(ADMIN)
    create(call, admin)
    before = table_keys()
    again = create(call, admin, {"title": "Another", "text": "y", "shortcut": "refund"})
    assert again["status"] == 409, again
    assert {k for k in table_keys() - before} == set()
    other = create(call, admin, {"title": "Other", "text": "z", "shortcut": "other"})["json"]["canned"]
    moved = call("PATCH /admin/canned/{id}", token=admin["access_token"], path_params={"id": other["id"]},
                 body={"shortcut": "refund"})
    assert moved["status"] == 409


@pytest.mark.parametrize("body", [
    {"title": "", "text": "x", "shortcut": "a"},
    {"title": "t" * 101, "text": "x", "shortcut": "a"},
    {"title": "t", "text": "x" * 2001, "shortcut": "a"},
    {"title": "t", "text": "x", "shortcut": "Caps"},
    {"title": "t", "text": "x", "shortcut": "a" * 33},
    {"title": "t", "text": "x", "shortcut": "with space"},
    {"title": "t", "text": "x", "shortcut": "new\n"},
    {"title": "t", "text": "x"},
    {"title": "t", "text": "x", "shortcut": "a", "extra": 1},
])
def test_a_bad_canned_reply_is_400_and_changes_nothing(call, tokens_for, body):
    admin = tokens_for(ADMIN)
    before = table_keys()
    r = create(call, admin, body)
    assert r["status"] == 400, r
    assert table_keys() == before


def test_only_admins_manage_and_only_staff_read(call, tokens_for):
    admin, otto = tokens_for(ADMIN), tokens_for(OPERATOR)
    made = create(call, admin)["json"]["canned"]
    before = table_keys()
    assert create(call, otto)["status"] == 403
    assert call("PATCH /admin/canned/{id}", token=otto["access_token"], path_params={"id": made["id"]},
                body={"title": "mine"})["status"] == 403
    assert call("DELETE /admin/canned/{id}", token=otto["access_token"],
                path_params={"id": made["id"]})["status"] == 403
    assert table_keys() == before
    visitor = visitor_tokens(call)
    assert call("GET /canned", token=visitor["access_token"])["status"] == 403
    assert call("GET /canned")["status"] == 401


def test_another_tenants_canned_replies_are_neither_listed_nor_reachable(call, tokens_for):
    made = create(call, tokens_for(ADMIN))["json"]["canned"]
    gus = tokens_for({"email": "gus@globex.test", "password": "gus-correct-horse-battery"}, "globex")
    assert call("GET /canned", token=gus["access_token"])["json"]["canned"] == []
    assert call("PATCH /admin/canned/{id}", token=gus["access_token"], path_params={"id": made["id"]},
                body={"title": "x"})["status"] == 404
    assert call("DELETE /admin/canned/{id}", token=gus["access_token"], path_params={"id": made["id"]})["status"] == 404
