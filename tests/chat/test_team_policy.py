"""Team channels under the chat policy (docs/chat-policy.md, "The policy": the team rows).

The matrix test covers support channels; this one runs every team-channel action for every
kind of caller: a member, a staff member who is not one, an admin who is not one (admins
read, close and moderate any channel of their tenant, but write only where they are members),
visitors of both levels (no team rows at all: the channel does not exist for them) and
another tenant's admin.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat_support import Chat, known_visitor, run_action, table_keys, visitor_tokens
from tests.conftest import ADMIN, OPERATOR, ORIGIN

OLGA = {"email": "olga@acme.test", "password": "olga-correct-horse-battery", "role": "operator", "name": "Olga"}
PIA = {"email": "pia@acme.test", "password": "pia-correct-horse-battery", "role": "operator", "name": "Pia"}
GUS = {"email": "gus@globex.test", "password": "gus-correct-horse-battery"}
#: member: Otto, in the channel · staff: Pia, an operator who is not · admin: Ana, not a member ·
#: visitor 0 / 1: anonymous / vouched for · other tenant: Gus, Globex's admin
CALLERS = ["member", "staff", "admin", "visitor 0", "visitor 1", "other tenant"]

#: what each action answers, per caller: the documented policy's team rows, applied
TABLE = """
action                          | member    | staff     | admin     | visitor 0 | visitor 1 | other tenant
channel.watch                   | ok        | not_found | ok        | not_found | not_found | not_found
channel.history                 | ok        | not_found | ok        | not_found | not_found | not_found
message.send                    | ok        | not_found | forbidden | not_found | not_found | not_found
typing                          | ok        | not_found | forbidden | not_found | not_found | not_found
read                            | ok        | not_found | forbidden | not_found | not_found | not_found
message.delete (someone else's) | forbidden | not_found | ok        | not_found | not_found | not_found
channel.close                   | forbidden | not_found | ok        | not_found | not_found | not_found
channel.query                   | listed    | hidden    | hidden    | hidden    | hidden    | hidden
"""
_HEADER, *_ROWS = [[c.strip() for c in line.split("|")] for line in TABLE.strip().splitlines()]
assert _HEADER[1:] == CALLERS
EXPECTED: dict[str, dict[str, str]] = {row[0]: dict(zip(CALLERS, row[1:], strict=True)) for row in _ROWS}


@pytest.fixture
def staff(call, tokens_for, seeded) -> dict[str, Any]:
    """Olga and Pia join Acme's staff (through the admin API), beside Otto and Ana."""
    admin = tokens_for(ADMIN)["access_token"]
    ids = {}
    for who in (OLGA, PIA):
        r = call("POST /admin/operators", token=admin, body={k: who[k] for k in ("email", "password", "role", "name")})
        assert r["status"] == 201, r
        ids[who["email"]] = r["json"]["operator"]["id"]
    return ids


def team_channel(svc: Any, members: tuple[str, ...], author: str) -> dict[str, str]:
    """A fresh team channel of Acme straight through storage, with one message of ``author``."""
    from switchboard.ids import now_ms, time_ordered_id
    from switchboard.models import Channel, Message

    now = now_ms()
    ch = Channel(id=time_ordered_id(now), tenant="acme", type="team", status="open", subject=None, members=members,
                 assignee=None, visitor=None, created_at=now, last_message_at=now, name="Escalations")
    svc.store.channels.create(ch, support_pointer=False, now_ms=now)
    m = Message(id=time_ordered_id(), channel_id=ch.id, sender_id=author, sender_role="operator", sender_name="Olga",
                text="order 42?", attachments=(), client_id=f"seed-{time_ordered_id()}", created_at=now_ms())
    svc.store.messages.put(ch, m)
    return {"id": ch.id, "others_message": m.id}


@pytest.mark.parametrize("who", CALLERS)
def test_every_team_channel_action_answers_as_the_policy_says(who, template, call, tokens_for, seeded, staff, svc):
    # Given a team channel of Otto and Olga, and the caller connected
    chat = Chat(template)
    tokens = {
        "member": lambda: tokens_for(OPERATOR),
        "staff": lambda: tokens_for(PIA),
        "admin": lambda: tokens_for(ADMIN),
        "visitor 0": lambda: visitor_tokens(call),
        "visitor 1": lambda: known_visitor(call, "team-curious"),
        "other tenant": lambda: tokens_for(GUS, "globex"),
    }[who]()
    caller = chat.connect(tokens, origin="https://globex.test" if who == "other tenant" else ORIGIN)
    members = (seeded[OPERATOR["email"]]["id"], staff[OLGA["email"]])
    # When each action runs on a fresh channel
    actual = {action: run_action(caller, action, team_channel(svc, members, author=staff[OLGA["email"]]))
              for action in EXPECTED}
    # Then each answers as the policy says
    assert actual == {action: answers[who] for action, answers in EXPECTED.items()}


def test_visitors_cannot_make_team_channels_nor_be_put_in_one(template, call, tokens_for, seeded):
    chat = Chat(template)
    visitor = chat.connect(visitor_tokens(call))
    otto = chat.connect(tokens_for(OPERATOR))
    # A visitor may not create one (no create_team row for visitors)
    assert visitor.error("channel.create", type="team", members=[otto.user_id], name="x") == "forbidden"
    # And staff may not put a visitor in one: members must be staff of the tenant
    assert otto.error("channel.create", type="team", members=[visitor.user_id], name="x") == "not_found"


def test_a_blocked_operator_cannot_be_put_in_a_team_channel(template, call, tokens_for, staff):
    # Given Olga blocked by an admin
    chat = Chat(template)
    otto = chat.connect(tokens_for(OPERATOR))
    r = call("PATCH /admin/operators/{id}", token=tokens_for(ADMIN)["access_token"], body={"blocked": True},
             path_params={"id": staff[OLGA["email"]]})
    assert r["status"] == 200, r
    before = table_keys()
    # When Otto makes a team channel with her in it
    code = otto.error("channel.create", type="team", members=[staff[OLGA["email"]]], name="Escalations")
    # Then she is no operator to put in one (as if she did not exist), and nothing is stored
    assert code == "not_found"
    assert table_keys() == before
