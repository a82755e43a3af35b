"""The WebSocket handshake: the ``$connect`` authorizer, ``$connect`` and ``$disconnect`` (contract section 4)."""

from __future__ import annotations

import time

import pytest
from switchboard.models import SessionKey

from tests.chat_support import (
    Refused,
    authorizer_context,
    connect_event,
    disconnect_event,
    item,
    keys_of,
    new_connection_id,
    table_keys,
    visitor_tokens,
)
from tests.conftest import ADMIN, OPERATOR, ORIGIN


def test_a_live_chat_token_is_allowed_with_its_identity_as_context(chat, call, svc):
    # Given a visitor signed in on the tenant's site
    tokens = visitor_tokens(call)
    # When the authorizer sees the handshake from that site
    policy = chat.authorize(tokens["chat_token"], ORIGIN)
    # Then it allows $connect and hands the identity on to the routes
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["policyDocument"]["Statement"][0]["Resource"].endswith("/live/$connect")
    assert policy["principalId"] == tokens["user"]["id"]
    claims = svc.tokens.verify_chat(tokens["chat_token"])
    session = svc.store.sessions.get(SessionKey(claims.tid, claims.sub, claims.sid))
    assert policy["context"] == {"tid": "acme", "sub": claims.sub, "sid": claims.sid, "role": "visitor", "lvl": 0,
                                 "scope": "chat:read chat:write", "name": claims.name, "exp": session.expires_at}


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"])
def test_a_missing_or_invalid_token_is_unauthorized(chat, token):
    with pytest.raises(Refused) as refused:
        chat.authorize(token)
    assert refused.value.status == 401


def test_the_authorizer_itself_refuses_the_chat_token_of_a_revoked_session(chat, call):
    # Given a visitor whose session was revoked (their chat token has not expired yet)
    tokens = visitor_tokens(call)
    assert call("POST /auth/revoke", body={"kind": "session"}, token=tokens["access_token"])["status"] == 200
    # When the authorizer alone sees the handshake (not relying on $connect to catch it)
    with pytest.raises(Refused) as refused:
        chat.authorize(tokens["chat_token"])
    # Then it answers Unauthorized: a revoked session's record is no live session
    assert refused.value.status == 401


def test_the_authorizer_hands_on_only_the_scopes_the_session_still_holds(chat, call):
    # Given a visitor whose chat:write was revoked after their chat token was issued
    tokens = visitor_tokens(call)
    r = call("POST /auth/revoke", body={"kind": "scopes", "scopes": ["chat:write"]}, token=tokens["access_token"])
    assert r["status"] == 200
    # When the authorizer sees a handshake with that token
    policy = chat.authorize(tokens["chat_token"])
    # Then the connection's context carries the session's scopes now, not the token's
    assert policy["context"]["scope"].split() == ["chat:read"]


def test_a_connection_made_without_chat_read_is_not_counted_as_a_reader(chat, call, svc):
    # Given a visitor whose chat:read was revoked after their chat token was issued
    tokens = visitor_tokens(call)
    r = call("POST /auth/revoke", body={"kind": "scopes", "scopes": ["chat:read"]}, token=tokens["access_token"])
    assert r["status"] == 200
    # When they connect with that token
    guest = chat.connect(tokens)
    # Then the connection is theirs, but not one to tell of channels (it may not read them)
    user = tokens["user"]["id"]
    assert [cid for cid, _ in svc.store.connections.of_user("acme", user)] == [guest.id]
    assert svc.store.connections.of_user("acme", user, readers_only=True) == []


def test_an_access_token_is_not_a_chat_token(chat, call):
    tokens = visitor_tokens(call)
    with pytest.raises(Refused) as refused:
        chat.authorize(tokens["access_token"])
    assert refused.value.status == 401


def test_a_revoked_chat_token_is_refused_at_the_handshake_and_nothing_is_stored(chat, call):
    # Given a visitor whose session was revoked (their chat token has not expired yet)
    tokens = visitor_tokens(call)
    assert call("POST /auth/revoke", body={"kind": "session"}, token=tokens["access_token"])["status"] == 200
    before = table_keys()
    # When they try to connect with it
    with pytest.raises(Refused) as refused:
        chat.connect(tokens)
    # Then API Gateway answers 401 (the authorizer said Unauthorized) and nothing was written
    assert refused.value.status == 401
    assert table_keys() == before


@pytest.mark.parametrize("origin", ["https://evil.test", "https://globex.test", "null",
                                    # lookalikes: an allowed origin is matched whole, never as a prefix
                                    ORIGIN + ".evil.test", ORIGIN + ":8443"])
def test_an_origin_the_tenant_does_not_allow_is_denied_and_nothing_is_stored(chat, call, origin):
    tokens = visitor_tokens(call)
    before = table_keys()
    with pytest.raises(Refused) as refused:
        chat.connect(tokens, origin=origin)
    assert refused.value.status == 403
    assert table_keys() == before


@pytest.mark.parametrize("who", ["anonymous visitor", "known visitor"])
def test_a_visitors_handshake_without_an_origin_is_denied_and_nothing_is_stored(chat, call, who):
    # Given a visitor's live chat token (the widget's, which a browser always sends with its Origin)
    from tests.chat_support import known_visitor

    tokens = visitor_tokens(call) if who == "anonymous visitor" else known_visitor(call, "customer-no-origin")
    before = table_keys()
    # When a handshake presents it without any Origin (a script, not the widget in a browser)
    with pytest.raises(Refused) as refused:
        chat.connect(tokens, origin=None)
    # Then it is denied (403) and nothing is stored; from the tenant's own origin it is let in
    assert refused.value.status == 403
    assert table_keys() == before
    assert chat.connect(tokens).ok("channel.query", filter={"member": "me"}) == {"channels": [], "cursor": None}


@pytest.mark.parametrize("who", [OPERATOR, ADMIN])
def test_staff_may_connect_without_an_origin_but_not_from_an_origin_the_tenant_does_not_allow(chat, tokens_for, who):
    # Given a staff member's chat token, used by a server-side tool (no Origin to send)
    tokens = tokens_for(who)
    # When it connects without an Origin, it is let in and works
    tool = chat.connect(tokens, origin=None)
    assert tool.ok("channel.query", filter={"status": "queued"})["channels"] == []
    # But a browser page of another origin is still denied
    with pytest.raises(Refused) as refused:
        chat.connect(tokens, origin="https://evil.test")
    assert refused.value.status == 403


def test_connect_records_the_connection_with_its_scopes_and_a_ttl(chat, call, svc):
    # When a visitor connects
    tokens = visitor_tokens(call)
    started = int(time.time())
    guest = chat.connect(tokens)
    # Then the connection is recorded with the scopes it has now, under the user too
    conn = svc.store.connections.get(guest.id)
    assert conn is not None and conn.user_id == tokens["user"]["id"] and conn.tenant == "acme"
    assert conn.scopes == {"chat:read", "chat:write"} and conn.role == "visitor" and conn.lvl == 0
    record = item(f"C#{guest.id}", "CONN")
    user_entry = item(f"U#acme#{conn.user_id}", f"C#{guest.id}")
    # and every record expires (TTL) when API Gateway would have closed the socket anyway (2 hours)
    assert started + 7200 - 5 <= record["ttl"] <= started + 7200 + 5
    assert user_entry["ttl"] == record["ttl"]


def test_staff_connections_are_recorded_as_presence(chat, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    presence = item("T#acme#OPS", f"OC#{otto.user_id}#{otto.id}")
    assert presence is not None and presence["ttl"] > time.time()


def test_a_session_revoked_between_the_authorizer_and_connect_is_refused(chat, call):
    # Given the authorizer let a handshake in ...
    tokens = visitor_tokens(call)
    policy = chat.authorize(tokens["chat_token"])
    # ... and the session is revoked before $connect records the connection
    assert call("POST /auth/revoke", body={"kind": "session"}, token=tokens["access_token"])["status"] == 200
    cid = new_connection_id()
    result = chat.invoke(chat.routes["$connect"], connect_event(cid, authorizer_context(policy)))
    # Then $connect refuses it (401) and no record of it remains for a revocation to miss
    assert result["statusCode"] == 401
    assert keys_of(cid) == set()


def test_scopes_revoked_between_the_authorizer_and_connect_are_not_recorded(chat, call, svc):
    tokens = visitor_tokens(call)
    policy = chat.authorize(tokens["chat_token"])
    r = call("POST /auth/revoke", body={"kind": "scopes", "scopes": ["chat:write"]}, token=tokens["access_token"])
    assert r["status"] == 200
    cid = new_connection_id()
    assert chat.invoke(chat.routes["$connect"], connect_event(cid, authorizer_context(policy)))["statusCode"] == 200
    assert svc.store.connections.get(cid).scopes == {"chat:read"}


def test_disconnect_removes_every_record_of_the_connection(chat, call, tokens_for):
    # Given an operator connection watching a channel
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    otto.ok("channel.watch", channel_id=channel["id"])
    assert keys_of(otto.id)
    # When it disconnects
    result = chat.invoke(chat.routes["$disconnect"], disconnect_event(otto.id, authorizer=otto.authorizer))
    # Then nothing of it remains: connection, user entry, presence, watches
    assert result == {"statusCode": 200}
    assert keys_of(otto.id) == set()


def test_a_second_disconnect_of_the_same_connection_is_harmless(chat, call):
    guest = chat.connect(visitor_tokens(call))
    guest.disconnect()
    guest.disconnect()
    assert keys_of(guest.id) == set()


def test_an_action_on_a_connection_with_no_record_is_forbidden(chat, call):
    # $disconnect is best-effort: a frame can still arrive after the records are gone
    guest = chat.connect(visitor_tokens(call))
    guest.disconnect()
    assert guest.error("channel.query", filter={"member": "me"}) == "forbidden"


def test_a_stale_connection_record_past_its_expiry_is_refused(chat, call, svc):
    # Given a connection record whose TTL has passed but which DynamoDB has not deleted yet
    guest = chat.connect(visitor_tokens(call))
    svc.store.client.update_item(TableName=svc.store.table, Key={"pk": {"S": f"C#{guest.id}"}, "sk": {"S": "CONN"}},
                                 UpdateExpression="SET expires_at = :t",
                                 ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 1)}})
    # Then it authorises nothing
    assert guest.error("channel.query", filter={"member": "me"}) == "forbidden"


def session_ends(svc, tokens, at: int, *fields: str) -> None:
    """Move the ``fields`` (``expires_at``, ``idle_expires_at``) of the session behind ``tokens`` to ``at``."""
    claims = svc.tokens.verify_chat(tokens["chat_token"])
    svc.store.client.update_item(
        TableName=svc.store.table, Key={"pk": {"S": f"U#acme#{claims.sub}"}, "sk": {"S": f"S#{claims.sid}"}},
        UpdateExpression="SET " + ", ".join(f"{f} = :t" for f in fields),
        ExpressionAttributeValues={":t": {"N": str(at)}})


def test_a_connection_is_authorised_only_until_its_session_ends(chat, call, tokens_for, svc):
    # Given a visitor with an open conversation whose session reaches its absolute limit in 3
    # seconds (well inside the 2 hours API Gateway keeps a socket; a session a post-login hook
    # opened lasts only as long as its chat token)
    otto = chat.connect(tokens_for(OPERATOR))
    tokens = visitor_tokens(call)
    claims = svc.tokens.verify_chat(tokens["chat_token"])
    ends = int(time.time()) + 3
    session_ends(svc, tokens, ends, "expires_at", "idle_expires_at")
    # When the visitor connects and watches the conversation
    guest = chat.connect(tokens)
    channel = guest.ok("support.open")["channel"]
    guest.ok("channel.watch", channel_id=channel["id"])
    otto.ok("channel.watch", channel_id=channel["id"])
    # Then every record of the connection ends with the session, not 2 hours on
    assert item(f"C#{guest.id}", "CONN")["expires_at"] == ends
    assert item(f"C#{guest.id}", "CONN")["ttl"] == ends
    assert item(f"U#acme#{claims.sub}", f"C#{guest.id}")["ttl"] == ends
    assert item(f"CH#{channel['id']}", f"W#{guest.id}")["expires_at"] == ends
    # And once the session has ended (DynamoDB's TTL deletes lazily: the records are still there)
    time.sleep(max(0.0, ends - time.time()) + 0.05)
    assert item(f"C#{guest.id}", "CONN") is not None
    # the connection authorises nothing more
    assert guest.error("channel.query", filter={"member": "me"}) == "forbidden"
    # and hears nothing more of the conversation: no message, no change to it
    heard = len(guest.events("channel.updated"))
    otto.ok("message.send", channel_id=channel["id"], text="still there?", client_id="late")
    otto.ok("channel.close", channel_id=channel["id"])
    assert guest.events("message.new") == []
    assert len(guest.events("channel.updated")) == heard
    assert [e["message"]["text"] for e in otto.events("message.new")] == ["still there?"]


def test_staff_presence_ends_with_the_session(chat, tokens_for, svc):
    # Given an operator whose session ends in a minute
    tokens = tokens_for(OPERATOR)
    ends = int(time.time()) + 60
    session_ends(svc, tokens, ends, "expires_at")
    # When they connect, they count as online for auto-assignment only until then
    otto = chat.connect(tokens)
    presence = item("T#acme#OPS", f"OC#{otto.user_id}#{otto.id}")
    assert presence["expires_at"] == ends and presence["ttl"] == ends


def test_connect_without_the_session_end_in_the_authorizer_context_is_refused(chat, call):
    # the authorizer always hands it on; a $connect without it is a misconfigured stack
    policy = chat.authorize(visitor_tokens(call)["chat_token"])
    context = {k: v for k, v in authorizer_context(policy).items() if k != "exp"}
    cid = new_connection_id()
    assert chat.invoke(chat.routes["$connect"], connect_event(cid, context))["statusCode"] == 403
    assert keys_of(cid) == set()


def test_the_idle_limit_does_not_end_a_connection_the_session_outlives_by_refreshing(chat, call, svc):
    # Given a visitor whose session would go idle in a minute unless refreshed (absolute limit far off)
    tokens = visitor_tokens(call)
    session_ends(svc, tokens, int(time.time()) + 60, "idle_expires_at")
    # When they connect
    started = int(time.time())
    guest = chat.connect(tokens)
    # Then the connection keeps API Gateway's 2 hours: a refresh moves the idle limit on, and
    # nothing rewrites the connection's record when it does
    assert started + 7200 - 5 <= item(f"C#{guest.id}", "CONN")["expires_at"] <= started + 7200 + 5


def test_one_user_holds_at_most_25_sockets_whatever_their_sessions_and_a_closed_one_frees_its_place(chat, call,
                                                                                                     svc):
    # Given a known visitor with 25 live sockets, over two sessions (two sign-ins)
    from tests.chat_support import known_visitor

    first, second = known_visitor(call, "customer-cap"), known_visitor(call, "customer-cap")
    assert first["user"]["id"] == second["user"]["id"]
    cap = svc.settings.max_connections_per_user
    assert cap == 25
    tabs = [chat.connect(first) for _ in range(20)] + [chat.connect(second) for _ in range(cap - 20)]
    # When one more is opened, from either session, the handshake is refused (429) and nothing is stored
    before = table_keys()
    for tokens in (first, second):
        with pytest.raises(Refused) as refused:
            chat.connect(tokens)
        assert refused.value.status == 429
    assert table_keys() == before
    # But a socket that closes frees its place, and another visitor is not held back
    tabs[0].disconnect()
    assert chat.connect(second).ok("channel.query", filter={"member": "me"})
    assert chat.connect(visitor_tokens(call)).ok("channel.query", filter={"member": "me"})
