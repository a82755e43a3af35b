"""Revocation reaches live WebSocket connections (contract section 5: "after /auth/revoke answers
200, nothing issued to the revoked sessions or scopes works any more ... live connections")."""

from __future__ import annotations

import pytest

from tests.chat_support import Refused, install_wire, keys_of, visitor_tokens
from tests.conftest import ADMIN, OPERATOR


def revoke(call, tokens, **body):
    r = call("POST /auth/revoke", body=body, token=tokens["access_token"])
    assert r["status"] == 200, r
    return r["json"]


def test_revoking_a_session_tells_its_connections_then_closes_them(chat, call):
    # Given a visitor with two tabs on one session, and another session of theirs elsewhere
    tokens = visitor_tokens(call)
    tab1, tab2 = chat.connect(tokens), chat.connect(tokens)
    channel = tab1.ok("support.open")["channel"]
    tab1.ok("channel.watch", channel_id=channel["id"])
    wire = install_wire()
    # When the session is revoked through the real POST /auth/revoke
    revoke(call, tokens, kind="session")
    # Then each of its connections got auth.revoked, and was then closed through the management API
    for tab in (tab1, tab2):
        assert wire.posts_to(tab.id) == [{"type": "event", "event": "auth.revoked", "data": {"kind": "session"}}]
    assert sorted(wire.deleted()) == sorted([tab1.id, tab2.id])
    order = [(op, cid) for op, cid, _ in wire.calls]
    for tab in (tab1, tab2):
        assert order.index(("PostToConnection", tab.id)) < order.index(("DeleteConnection", tab.id))
    # And no record of them is left (connection, user entry, watches)
    assert keys_of(tab1.id) == set() and keys_of(tab2.id) == set()
    # And the chat token cannot come back
    with pytest.raises(Refused) as refused:
        chat.connect(tokens)
    assert refused.value.status == 401


def test_revoking_one_session_leaves_the_users_other_sessions_connected(chat, call, tokens_for, svc):
    a, b = tokens_for(OPERATOR), tokens_for(OPERATOR)
    ca, cb = chat.connect(a), chat.connect(b)
    wire = install_wire()
    revoke(call, a, kind="session")
    assert wire.deleted() == [ca.id]
    assert svc.store.connections.get(cb.id) is not None
    assert cb.ok("channel.query", filter={"member": "me"}) == {"channels": [], "cursor": None}


def test_revoking_a_user_closes_every_connection_and_requeues_their_channels(chat, call, tokens_for, svc):
    # Given an operator on two devices with an open channel
    otto_a, otto_b = chat.connect(tokens_for(OPERATOR)), chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert channel["assignee"] == otto_a.user_id
    ana_tokens = tokens_for(ADMIN)
    wire = install_wire()
    # When an admin revokes the operator (every session)
    revoke(call, ana_tokens, kind="user", user_id=otto_a.user_id)
    # Then both connections heard auth.revoked {"kind": "user"} and were closed
    for conn in (otto_a, otto_b):
        assert wire.posts_to(conn.id)[0] == {"type": "event", "event": "auth.revoked", "data": {"kind": "user"}}
    assert sorted(wire.deleted()) == sorted([otto_a.id, otto_b.id])
    assert keys_of(otto_a.id) == set() and keys_of(otto_b.id) == set()
    # And the channel did not stay with an operator who is gone
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee) == ("queued", None)


def test_revoking_scopes_downgrades_live_connections_at_once(chat, call):
    # Given a visitor chatting
    tokens = visitor_tokens(call)
    guest = chat.connect(tokens)
    channel = guest.ok("support.open")["channel"]
    wire = install_wire()
    # When chat:write is revoked
    revoke(call, tokens, kind="scopes", scopes=["chat:write"])
    # Then the connection stays open but is told, and the very next send is refused
    assert wire.posts_to(guest.id) == [{"type": "event", "event": "auth.revoked",
                                        "data": {"kind": "scopes", "scopes": ["chat:write"]}}]
    assert wire.deleted() == []
    assert guest.error("message.send", channel_id=channel["id"], text="still here?", client_id="x") == "forbidden"
    assert guest.error("typing", channel_id=channel["id"]) == "forbidden"
    # while what needs only the scopes left still works
    assert guest.ok("channel.history", channel_id=channel["id"])["messages"] == []


def test_revoking_chat_read_stops_the_events_of_watched_channels(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    tokens = visitor_tokens(call)
    guest = chat.connect(tokens)
    channel = guest.ok("support.open")["channel"]
    guest.ok("channel.watch", channel_id=channel["id"])
    revoke(call, tokens, kind="scopes", scopes=["chat:read"])
    otto.ok("message.send", channel_id=channel["id"], text="are you there?", client_id="q")
    assert guest.events("message.new") == []
    # and watching again is refused - without subscribing the connection on the way
    assert guest.error("channel.watch", channel_id=channel["id"]) == "forbidden"
    assert {(pk, sk) for pk, sk in keys_of(guest.id) if sk.startswith("W#")} == set()
    otto.ok("message.send", channel_id=channel["id"], text="hello?", client_id="q2")
    assert guest.events("message.new") == []


def test_an_admin_revoking_an_operators_scope_reaches_their_connections(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    revoke(call, tokens_for(ADMIN), kind="scopes", scopes=["chat:assign"], user_id=otto.user_id)
    assert otto.events("auth.revoked") == [{"kind": "scopes", "scopes": ["chat:assign"]}]
    assert otto.error("channel.assign", channel_id=channel["id"]) == "forbidden"
    assert otto.ok("message.send", channel_id=channel["id"], text="I can still write", client_id="w")


def test_reusing_a_refresh_token_revokes_the_session_and_closes_its_connections(chat, call):
    tokens = visitor_tokens(call)
    guest = chat.connect(tokens)
    assert call("POST /auth/refresh", body={"refresh_token": tokens["refresh_token"]})["status"] == 200
    wire = install_wire()
    reused = call("POST /auth/refresh", body={"refresh_token": tokens["refresh_token"]})
    assert reused["status"] == 401 and reused["json"]["code"] == "token_reused"
    assert wire.deleted() == [guest.id]
    assert keys_of(guest.id) == set()


def test_a_connection_already_gone_when_revoked_is_cleaned_up_and_the_others_are_closed(chat, call):
    tokens = visitor_tokens(call)
    gone, live = chat.connect(tokens), chat.connect(tokens)
    wire = install_wire()
    wire.gone.add(gone.id)
    revoke(call, tokens, kind="session")
    assert wire.deleted() == [live.id]
    assert keys_of(gone.id) == set() and keys_of(live.id) == set()


def test_revoking_chat_read_stops_channel_updates_to_a_member_too(chat, call, tokens_for):
    # Given a visitor in a conversation with Otto (a member, so told of its changes even unwatched)
    otto = chat.connect(tokens_for(OPERATOR))
    tokens = visitor_tokens(call)
    guest = chat.connect(tokens)
    channel = guest.ok("support.open")["channel"]
    # When the visitor's chat:read is revoked, and Otto then closes the conversation
    revoke(call, tokens, kind="scopes", scopes=["chat:read"])
    otto.ok("channel.close", channel_id=channel["id"])
    # Then the visitor's connection hears nothing of it (it may not read the channel any more)
    assert guest.events("channel.updated") == []


def test_staff_without_chat_read_are_told_nothing_and_assigned_nothing(chat, call, tokens_for, svc):
    # Given Otto online, then his chat:read revoked by an admin
    otto = chat.connect(tokens_for(OPERATOR))
    revoke(call, tokens_for(ADMIN), kind="scopes", scopes=["chat:read"], user_id=otto.user_id)
    # When a visitor opens a conversation about something private
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open", subject="my card number question")["channel"]
    # Then it is not given to Otto (nobody able to handle it is online: it waits in the queue)
    assert (channel["status"], channel["assignee"]) == ("queued", None)
    # And Otto's connection hears nothing of it
    assert otto.events("channel.updated") == []
    # And a new connection of his (its session lost chat:read for good) counts no more than the old
    chat.connect(otto.tokens)
    later = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert (later["status"], later["assignee"]) == ("queued", None)


def test_staff_whose_chat_write_is_revoked_hand_their_conversations_back(chat, call, tokens_for, svc):
    # Given Otto with an open conversation, and Ana (admin) online too
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert channel["assignee"] == otto.user_id
    ana_tokens = tokens_for(ADMIN)
    ana = chat.connect(ana_tokens)
    # When an admin revokes Otto's chat:write
    revoke(call, ana_tokens, kind="scopes", scopes=["chat:write"], user_id=otto.user_id)
    # Then the conversation goes to someone who can answer it
    assert svc.store.channels.get(channel["id"]).assignee == ana.user_id
    # And the next visitor is never given to Otto
    second = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert second["assignee"] == ana.user_id
