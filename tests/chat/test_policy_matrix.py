"""The chat policy, checked against docs/chat-policy.md: the policy data in chat_policy.py must be the
document's policy table, and every action x role x channel must answer what the document's matrix says
(contract section 1: nothing crosses tenants; section 4: who may do what)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.chat_support import Chat, known_visitor, run_action, visitor_tokens
from tests.conftest import ADMIN, OPERATOR, ROOT

DOC = ROOT / "docs" / "chat-policy.md"
ROLES = ["visitor level 0", "visitor level 1", "operator", "admin"]
COLUMNS = ["own", "other", "queued", "other tenant"]
GUS = {"email": "gus@globex.test", "password": "gus-correct-horse-battery"}


def _tables(markdown: str) -> dict[str, list[list[str]]]:
    """Markdown tables by the heading above them: rows of cells, header row first."""
    tables: dict[str, list[list[str]]] = {}
    heading = ""
    for line in markdown.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("|") and not re.fullmatch(r"\|[-| ]+\|", line.strip()):
            tables.setdefault(heading, []).append([c.strip().strip("`") for c in line.strip().strip("|").split("|")])
    return tables


def documented_policy() -> dict[tuple[str, str | None, str], tuple[str, frozenset[str]]]:
    header, *rows = _tables(DOC.read_text())["The policy"]
    assert header == ["role", "channel type", "permission", "scope", "granted to"]
    return {(role, None if kind == "—" else kind, perm): (scope, frozenset(r.strip() for r in granted.split(",")))
            for role, kind, perm, scope, granted in rows}


def documented_matrix() -> dict[str, dict[str, dict[str, str]]]:
    tables = _tables(DOC.read_text())
    out = {}
    for role in ROLES:
        header, *rows = tables[role]
        assert header == ["action", *COLUMNS], header
        out[role] = {row[0]: dict(zip(COLUMNS, row[1:], strict=True)) for row in rows}
    return out


def test_the_policy_data_is_the_documented_policy():
    from switchboard.chat.policy import PERMISSION_SCOPE, POLICY

    documented = documented_policy()
    assert set(documented) == set(POLICY), "rows in the code but not in the doc, or the other way round"
    for key, (scope, granted) in documented.items():
        assert (PERMISSION_SCOPE[key[2]], POLICY[key]) == (scope, granted), key


def test_the_matrix_covers_every_action_of_the_contract():
    from switchboard.edge.actions import ACTIONS

    for role, rows in documented_matrix().items():
        actions = {name.split(" (")[0] for name in rows}
        assert actions == set(ACTIONS), role


# -- running the matrix ------------------------------------------------------------------------
@dataclass
class World:
    """Who acts, and the people around them; channels are made fresh for every cell."""

    chat: Chat
    svc: Any
    actor: Any  # the connection acting
    role: str
    otto: str
    ana: str
    gus: str
    visitors: Any  # makes another visitor's id


def _support(world: World, tenant: str, visitor: str, assignee: str | None) -> dict[str, Any]:
    """A support channel straight through storage (the actions under test are what runs through
    the handlers), with a message from the visitor and, where the caller is a member, one of theirs."""
    from switchboard.ids import now_ms, time_ordered_id
    from switchboard.models import Channel, Message

    now = now_ms()
    members = (visitor, assignee) if assignee else (visitor,)
    ch = Channel(id=time_ordered_id(now), tenant=tenant, type="support", status="open" if assignee else "queued",
                 subject="matrix", members=members, assignee=assignee, visitor=visitor, created_at=now,
                 last_message_at=now)
    world.svc.store.channels.create(ch, support_pointer=False, now_ms=now)

    file = f"attachments/{tenant}/{ch.id}/0123"  # someone else's message carries it (attachment.open)
    boto3.client("s3").put_object(Bucket=world.svc.settings.attachments_bucket, Key=file, Body=b"file")

    def message(sender: str, role: str, attachments: tuple[dict[str, Any], ...] = ()) -> str:
        m = Message(id=time_ordered_id(), channel_id=ch.id, sender_id=sender, sender_role=role, sender_name=sender,
                    text="hello", attachments=attachments, client_id=f"seed-{time_ordered_id()}", created_at=now_ms())
        world.svc.store.messages.put(ch, m)
        return m.id

    me = world.actor.user_id
    sent = ({"key": file, "name": "file.txt"},)
    others_message = (message(visitor, "visitor", sent) if visitor != me
                      else message(assignee or "", "operator", sent))
    own_message = message(me, world.actor.tokens["user"]["role"]) if me in members else None
    return {"id": ch.id, "others_message": others_message, "own_message": own_message, "file": file,
            "visitor": visitor}


def _channel_for(world: World, column: str) -> dict[str, Any]:
    me, is_visitor = world.actor.user_id, world.role.startswith("visitor")
    if column == "own":
        return _support(world, "acme", me, world.otto) if is_visitor else _support(world, "acme", world.visitors(), me)
    if column == "other":
        return _support(world, "acme", world.visitors(), world.ana if world.role == "operator" else world.otto)
    if column == "queued":
        return _support(world, "acme", world.visitors(), None)
    return _support(world, "globex", "anon-globexvisitor", world.gus)


def _outcome(reply: dict[str, Any]) -> str:
    return "ok" if reply["ok"] else str(reply["error"]["code"])


def run_cell(world: World, action: str, column: str) -> str:
    actor = world.actor
    if action == "support.open":
        return _outcome(actor.request("support.open"))
    if action == "channel.create":
        member = world.gus if column == "other tenant" else (world.ana if world.role == "operator" else world.otto)
        return _outcome(actor.request("channel.create", type="team", members=[member], name="matrix"))
    return run_action(actor, action, _channel_for(world, column))


@pytest.mark.parametrize("role", ROLES)
def test_every_action_on_every_channel_answers_as_documented(role, template, call, tokens_for, seeded, svc):
    # Given the caller, connected, and the staff of both tenants
    chat = Chat(template)
    if role == "visitor level 0":
        tokens = visitor_tokens(call)
    elif role == "visitor level 1":
        tokens = known_visitor(call, "matrix-customer")
    else:
        tokens = tokens_for(OPERATOR if role == "operator" else ADMIN)
    counter = iter(range(10**6))
    world = World(chat=chat, svc=svc, actor=chat.connect(tokens), role=role, otto=seeded[OPERATOR["email"]]["id"],
                  ana=seeded[ADMIN["email"]]["id"], gus=seeded[GUS["email"]]["id"],
                  visitors=lambda: f"anon-matrix{next(counter):06d}")
    assert world.actor.tokens["user"]["level"] == {"visitor level 0": 0, "visitor level 1": 1, "operator": 2,
                                                   "admin": 3}[role]
    # When every action runs on a fresh channel of each kind
    expected = documented_matrix()[role]
    actual = {action: {column: cell if cell == "—" else run_cell(world, action, column)
                       for column, cell in cells.items()}
              for action, cells in expected.items()}
    # Then every answer is the documented one
    mismatches = [f"{action} / {column}: documented {expected[action][column]}, got {actual[action][column]}"
                  for action in expected for column in COLUMNS if expected[action][column] != actual[action][column]]
    assert not mismatches, "\n".join(mismatches)


#: scope -> (an action needing it, the channel it runs on) - for the revocation check below
NEEDS = {
    "chat:read": ("channel.history", "own"),
    "chat:write": ("message.send", "own"),
    "chat:assign": ("channel.assign", "queued"),
    "team:chat": ("channel.create", "own"),
    "chat:moderate": ("message.delete (someone else's)", "own"),
    "chat:attach": ("attachment.presign", "own"),
}


def test_every_scope_a_permission_needs_is_in_the_revocation_check():
    from switchboard.chat.policy import PERMISSION_SCOPE

    assert set(NEEDS) == set(PERMISSION_SCOPE.values())


@pytest.mark.parametrize("scope", sorted(NEEDS))
def test_a_revoked_scope_is_refused_at_the_next_action_that_needs_it(scope, template, call, tokens_for, seeded, svc):
    # Given an admin (who holds every chat scope) connected, for whom the action works
    chat = Chat(template)
    tokens = tokens_for(ADMIN)
    counter = iter(range(10**6))
    world = World(chat=chat, svc=svc, actor=chat.connect(tokens), role="admin", otto=seeded[OPERATOR["email"]]["id"],
                  ana=seeded[ADMIN["email"]]["id"], gus=seeded[GUS["email"]]["id"],
                  visitors=lambda: f"anon-scope{next(counter):06d}")
    action, column = NEEDS[scope]
    assert run_cell(world, action, column) == "ok"
    # When that scope is revoked from the admin's sessions (POST /auth/revoke, kind scopes)
    r = call("POST /auth/revoke", body={"kind": "scopes", "scopes": [scope]}, token=tokens["access_token"])
    assert r["status"] == 200, r
    # Then the same, still-open connection is refused it at once, checked against its scopes now
    assert run_cell(world, action, column) == "forbidden"
    # while what needs other scopes still works
    other = next(s for s in sorted(NEEDS) if s != scope)
    assert run_cell(world, *NEEDS[other]) == "ok"


def test_the_policy_itself_never_grants_another_tenants_channel():
    from switchboard.chat.policy import authorize, may_read
    from switchboard.errors import NotFound
    from switchboard.models import Channel

    # Given a support channel of globex, and an admin of acme holding every chat scope
    # (whose relations, were tenants ignored, would include "tenant" and even "member")
    channel = Channel(id="0000000000001-x", tenant="globex", type="support", status="open", subject=None,
                      members=("v-1", "ana"), assignee="ana", visitor="v-1", created_at=1, last_message_at=1)

    @dataclass(frozen=True)
    class Who:
        tenant: str = "acme"
        user_id: str = "ana"
        role: str = "admin"
        scopes: frozenset[str] = frozenset({"chat:read", "chat:write", "chat:moderate", "chat:assign"})

    # When the policy is asked, Then the channel does not exist for them - with or without the
    # action's own check that a channel is of the caller's tenant
    assert may_read("acme", "ana", "admin", channel) is False
    for permission in ("read", "write", "close", "assign", "moderate"):
        with pytest.raises(NotFound):
            authorize(Who(), permission, channel)
