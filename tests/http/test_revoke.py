"""POST /auth/revoke - one session, all of a user's sessions, or scopes; and what it reaches."""

from __future__ import annotations

import time

import pytest

from tests.conftest import ADMIN, OPERATOR, TENANT

GUS = {"email": "gus@globex.test", "password": "gus-correct-horse-battery"}


def revoke(call, token, **body):
    return call("POST /auth/revoke", body=body, token=token)


def test_revoking_own_session_kills_access_refresh_and_chat(call, tokens_for, svc):
    # Given a signed-in operator
    t = tokens_for(OPERATOR)
    # When they revoke their session (the default kind target)
    r = revoke(call, t["access_token"], kind="session")
    assert r["status"] == 200, r
    assert r["json"]["revoked"]["sessions"] == [svc.tokens.verify_access(t["access_token"]).sid]
    # Then nothing issued to it works any more
    me = call("GET /auth/me", token=t["access_token"])
    assert me["status"] == 401 and me["json"]["code"] == "session_revoked"
    assert call("POST /auth/refresh", body={"refresh_token": t["refresh_token"]})["status"] == 401
    chat = svc.tokens.verify_chat(t["chat_token"])
    from switchboard.models import SessionKey

    assert not svc.store.sessions.get(SessionKey(chat.tid, chat.sub, chat.sid)).is_live(0)


def test_revoking_all_of_a_users_sessions(call, tokens_for):
    a, b = tokens_for(OPERATOR), tokens_for(OPERATOR)
    r = revoke(call, a["access_token"], kind="user")
    assert r["status"] == 200 and len(r["json"]["revoked"]["sessions"]) == 2
    for t in (a, b):
        assert call("GET /auth/me", token=t["access_token"])["status"] == 401


def test_other_sessions_of_the_user_survive_a_single_session_revoke(call, tokens_for):
    a, b = tokens_for(OPERATOR), tokens_for(OPERATOR)
    revoke(call, a["access_token"], kind="session")
    assert call("GET /auth/me", token=b["access_token"])["status"] == 200


def test_revoking_scopes_takes_them_from_live_sessions_at_once(call, tokens_for):
    t = tokens_for(OPERATOR)
    r = revoke(call, t["access_token"], kind="scopes", scopes=["chat:write", "team:chat"])
    assert r["status"] == 200, r
    me = call("GET /auth/me", token=t["access_token"])["json"]
    # the token still claims them, but the session no longer grants them
    assert "chat:write" not in me["scopes"] and "team:chat" not in me["scopes"] and "chat:read" in me["scopes"]
    # and a refresh does not bring them back
    fresh = call("POST /auth/refresh", body={"refresh_token": t["refresh_token"]})["json"]
    assert "chat:write" not in call("GET /auth/me", token=fresh["access_token"])["json"]["scopes"]


def test_admin_revokes_an_operators_session_in_the_same_tenant(call, tokens_for, svc):
    op, admin = tokens_for(OPERATOR), tokens_for(ADMIN)
    sid = svc.tokens.verify_access(op["access_token"]).sid
    r = revoke(call, admin["access_token"], kind="session", session_id=sid)
    assert r["status"] == 200, r
    assert call("GET /auth/me", token=op["access_token"])["status"] == 401


def test_admin_revokes_all_of_an_operators_sessions_and_scopes(call, tokens_for, seeded):
    op, admin = tokens_for(OPERATOR), tokens_for(ADMIN)
    op_id = seeded[OPERATOR["email"]]["id"]
    r = revoke(call, admin["access_token"], kind="scopes", scopes=["chat:assign"], user_id=op_id)
    assert r["status"] == 200
    assert "chat:assign" not in call("GET /auth/me", token=op["access_token"])["json"]["scopes"]
    assert revoke(call, admin["access_token"], kind="user", user_id=op_id)["status"] == 200
    assert call("GET /auth/me", token=op["access_token"])["status"] == 401


def test_operator_without_admin_sessions_cannot_revoke_others(call, tokens_for, svc, seeded):
    op, admin = tokens_for(OPERATOR), tokens_for(ADMIN)
    admin_sid = svc.tokens.verify_access(admin["access_token"]).sid
    for body in ({"kind": "session", "session_id": admin_sid},
                 {"kind": "user", "user_id": seeded[ADMIN["email"]]["id"]},
                 {"kind": "scopes", "scopes": ["admin:tenant"], "user_id": seeded[ADMIN["email"]]["id"]}):
        r = revoke(call, op["access_token"], **body)
        assert r["status"] == 403 and r["json"]["code"] == "forbidden", body
    assert call("GET /auth/me", token=admin["access_token"])["status"] == 200


def test_admin_of_tenant_b_cannot_revoke_a_tenant_a_session(call, tokens_for, svc):
    # Given an acme operator's session, and globex's admin (who has admin:sessions - in globex)
    victim = tokens_for(OPERATOR)
    gus = tokens_for(GUS, tenant="globex")
    sid = svc.tokens.verify_access(victim["access_token"]).sid
    # When globex's admin tries to revoke the acme session by id, and then an id nobody has
    r = revoke(call, gus["access_token"], kind="session", session_id=sid)
    unknown = revoke(call, gus["access_token"], kind="session", session_id="no-such-session-id-00")
    # Then the acme session's answer is exactly the unknown id's (404, same body, same headers):
    # globex learns nothing about acme's ids; and the session lives on
    assert r["status"] == 404 and r["json"]["code"] == "not_found", r
    assert (r["status"], r["json"], r["headers"]) == (unknown["status"], unknown["json"], unknown["headers"])
    assert call("GET /auth/me", token=victim["access_token"])["status"] == 200


def test_admin_of_tenant_b_revoking_by_user_id_only_reaches_tenant_b(call, tokens_for, seeded):
    victim = tokens_for(OPERATOR)
    gus = tokens_for(GUS, tenant="globex")
    r = revoke(call, gus["access_token"], kind="user", user_id=seeded[OPERATOR["email"]]["id"])
    # an id is looked up in the caller's own tenant: nothing of acme's is touched
    assert r["json"]["revoked"]["sessions"] == []
    assert call("GET /auth/me", token=victim["access_token"])["status"] == 200


def test_unknown_session_id_is_not_found(call, tokens_for):
    admin = tokens_for(ADMIN)
    assert revoke(call, admin["access_token"], kind="session", session_id="no-such-session")["status"] == 404


def test_revoke_needs_a_live_bearer_token(call, seeded):
    assert revoke(call, None, kind="session")["json"]["code"] == "invalid_token"
    assert revoke(call, "not.a.token", kind="session")["json"]["code"] == "invalid_token"


def test_bad_revoke_bodies_are_400_and_change_nothing(call, tokens_for):
    t = tokens_for(OPERATOR)
    for body in ({"kind": "everything"}, {"kind": "scopes", "scopes": []}, {"kind": "scopes", "scopes": ["root:all"]},
                 {"kind": "user", "user_id": "UPPER CASE"}, {"kind": "session", "extra": 1}, {}):
        r = call("POST /auth/revoke", body=body, token=t["access_token"])
        assert r["status"] == 400 and r["json"]["code"] == "validation_error", body
    assert call("GET /auth/me", token=t["access_token"])["json"]["scopes"] == sorted(
        ["chat:read", "chat:write", "chat:attach", "chat:assign", "team:chat"])


@pytest.mark.parametrize("body,loc", [
    ({"scopes": ["chat:write"]}, "kind"),  # no kind: which revocation is meant is not guessed
    ({"kind": "sessions"}, "kind"),  # a kind the contract does not name
    ({"kind": 1}, "kind"),
    ({"kind": None}, "kind"),
    ({"kind": "session", "scopes": ["chat:write"]}, "scopes"),  # another kind's field is an unknown field
    ({"kind": "user", "user_id": "gus\n"}, "user_id"),  # a trailing newline does not pass the id pattern
    ({"kind": "scopes", "scopes": "chat:write"}, "scopes"),
    ({"kind": "scopes", "scopes": ["chat:write", 7]}, "scopes.1"),
])
def test_the_kind_picks_the_body_and_anything_else_is_400(call, tokens_for, body, loc):
    # Given a signed-in operator
    t = tokens_for(OPERATOR)
    # When the body does not fit the kind it names
    r = call("POST /auth/revoke", body=body, token=t["access_token"])
    # Then it is a validation error naming the field, and the session lives on
    assert r["status"] == 400 and [e["loc"] for e in r["json"]["errors"]] == [loc], r
    assert call("GET /auth/me", token=t["access_token"])["status"] == 200


def test_an_unknown_scope_among_known_ones_refuses_the_whole_revocation(call, tokens_for):
    # Given a signed-in operator
    t = tokens_for(OPERATOR)
    # When scopes to revoke include one no role has
    r = call("POST /auth/revoke", body={"kind": "scopes", "scopes": ["chat:write", "chat:everything"]},
             token=t["access_token"])
    # Then nothing is revoked: not even the known one
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"
    assert "chat:write" in call("GET /auth/me", token=t["access_token"])["json"]["scopes"]


def test_revocations_are_audited(call, tokens_for, svc):
    t = tokens_for(OPERATOR)
    revoke(call, t["access_token"], kind="scopes", scopes=["chat:write"])
    e = svc.store.events.page(TENANT, limit=1)[0][0]
    assert e.kind == "revoke" and e.detail["revoked_kind"] == "scopes" and e.detail["scopes"] == ["chat:write"]


# Every route that takes a Bearer token, with a body it would accept: after a revocation each
# one must refuse what was revoked, not only /auth/me
BEARER_ROUTES: dict[str, dict] = {
    "POST /auth/revoke": {"body": {"kind": "session"}},
    "GET /auth/me": {},
    "GET /auth/sessions": {},
    "POST /auth/totp/enroll": {"body": {}},
    "POST /auth/totp/confirm": {"body": {"code": "123456"}},
    "POST /auth/totp/disable": {"body": {"code": "123456"}},
    "POST /auth/password": {"body": {"current_password": ADMIN["password"], "new_password": "a-new-long-password"}},
    "GET /staff": {},
    "GET /admin/operators": {},
    "POST /admin/operators": {"body": {"email": "new@acme.test", "name": "New"}},
    "PATCH /admin/operators/{id}": {"body": {"name": "Otto II"}, "target": OPERATOR},
    "DELETE /admin/operators/{id}": {"target": OPERATOR},
    "GET /admin/events": {},
    "GET /admin/tenant": {},
    "PATCH /admin/tenant": {"body": {"name": "Taken over"}},
    "POST /admin/tenant/identity-secret": {"body": {"grace_seconds": 0}},
    "POST /admin/tenant/hook-secret": {"body": {"grace_seconds": 0}},
    "GET /admin/reports": {"query": {"from": "2026-03-01", "to": "2026-03-31"}},
    "GET /admin/search": {"query": {"q": "refund", "from": "2026-03-01", "to": "2026-03-31"}},
    "GET /auth/identities": {},
    "DELETE /auth/identities/{id}": {"identity": "password"},
    "POST /auth/device/approve": {"body": {"user_code": "BCDF-GHJK"}},
    # issue 17: canned replies
    "GET /canned": {},
    "POST /admin/canned": {"body": {"title": "Hi", "text": "Hello", "shortcut": "hi"}},
    "PATCH /admin/canned/{id}": {"body": {"title": "Hey"}, "identity": "cnd_0000000000000000"},
    "DELETE /admin/canned/{id}": {"identity": "cnd_0000000000000000"},
    # issue 19: privacy requests
    "GET /admin/visitors/{id}/export": {"identity": "v_0000000000000000"},
    "DELETE /admin/visitors/{id}": {"identity": "v_0000000000000000"},
}
PUBLIC_ROUTES = {"POST /auth/external", "POST /auth/internal", "POST /auth/refresh", "POST /auth/mfa",
                 "POST /auth/invite", "POST /hooks/post-login", "GET /.well-known/jwks.json",
                 "GET /tenants/{tenant}/widget", "OPTIONS /{proxy+}", "GET /auth/providers",
                 "GET /auth/oidc/{provider}/authorize", "GET /auth/oidc/{provider}/callback",
                 "POST /auth/oidc/complete", "POST /auth/exchange",
                 "POST /auth/password/forgot", "POST /auth/password/reset", "POST /auth/device",
                 "POST /auth/device/token", "POST /auth/resume"}
# the scope each route needs beyond a live session (routes not listed need none)
SCOPED = {"GET /staff": "team:chat", "GET /admin/operators": "admin:operators",
          "POST /admin/operators": "admin:operators", "PATCH /admin/operators/{id}": "admin:operators",
          "DELETE /admin/operators/{id}": "admin:operators", "GET /admin/events": "admin:sessions",
          **{route: "admin:tenant" for route in ("GET /admin/tenant", "PATCH /admin/tenant", "GET /admin/reports",
                                                 "GET /admin/search", "POST /admin/tenant/identity-secret",
                                                 "POST /admin/tenant/hook-secret", "POST /admin/canned",
                                                 "PATCH /admin/canned/{id}", "DELETE /admin/canned/{id}",
                                                 "GET /admin/visitors/{id}/export", "DELETE /admin/visitors/{id}")},
          "GET /canned": "chat:write"}


def test_every_route_of_the_template_is_listed_here_as_bearer_or_public(template):
    assert {r.route_key for r in template.http_routes()} == set(BEARER_ROUTES) | PUBLIC_ROUTES


def call_as(call, svc, route: str, token: str) -> dict:
    spec = BEARER_ROUTES[route]
    params = {}
    if "target" in spec:
        params["path_params"] = {"id": svc.store.staff.get_by_email(TENANT, spec["target"]["email"]).id}
    if "query" in spec:
        params["query"] = spec["query"]
    if "identity" in spec:
        params["path_params"] = {"id": spec["identity"]}
    return call(route, body=spec.get("body"), token=token, **params)


@pytest.mark.parametrize("route", sorted(BEARER_ROUTES))
def test_no_route_takes_the_access_token_of_a_revoked_session(call, tokens_for, svc, route):
    # Given an admin's access token, still unexpired, whose session was revoked from another one
    t, other = tokens_for(ADMIN), tokens_for(ADMIN)
    sid = svc.tokens.verify_access(t["access_token"]).sid
    assert revoke(call, other["access_token"], kind="session", session_id=sid)["status"] == 200
    # When it is used on the route
    r = call_as(call, svc, route, t["access_token"])
    # Then the route refuses it
    assert (r["status"], r["json"]["code"]) == (401, "session_revoked"), r


@pytest.mark.parametrize("route", sorted(SCOPED))
def test_no_route_takes_a_scope_revoked_from_the_session(call, tokens_for, svc, route):
    # Given an admin whose session no longer holds the scope the route needs (the token still claims it)
    t = tokens_for(ADMIN)
    assert revoke(call, t["access_token"], kind="scopes", scopes=[SCOPED[route]])["status"] == 200
    assert SCOPED[route] in svc.tokens.verify_access(t["access_token"]).scopes
    # When the token is used on the route
    r = call_as(call, svc, route, t["access_token"])
    # Then it is forbidden, and nothing was changed
    assert (r["status"], r["json"]["code"]) == (403, "forbidden"), r
    assert svc.store.staff.get_by_email(TENANT, OPERATOR["email"]).name == "Otto"


def test_a_refresh_after_a_scope_revocation_mints_tokens_without_it(call, tokens_for, svc):
    # Given an operator whose chat:write was revoked
    t = tokens_for(OPERATOR)
    assert revoke(call, t["access_token"], kind="scopes", scopes=["chat:write"])["status"] == 200
    # When the session is refreshed
    fresh = call("POST /auth/refresh", body={"refresh_token": t["refresh_token"]})["json"]
    # Then neither new token claims it (what a client or a downstream service reads is the truth)
    assert "chat:write" not in svc.tokens.verify_access(fresh["access_token"]).scopes
    assert "chat:write" not in svc.tokens.verify_chat(fresh["chat_token"]).scopes
    assert "chat:read" in svc.tokens.verify_chat(fresh["chat_token"]).scopes


@pytest.mark.parametrize("reasons", [["ThrottlingError"], ["None", "TransactionConflict"]])
def test_a_throttled_or_conflicting_transaction_is_unavailable_not_a_missing_session(svc, monkeypatch, reasons):
    from botocore.exceptions import ClientError
    from switchboard import errors
    from switchboard.models import SessionKey

    # Given DynamoDB cancelling transactions for throttling or a concurrent transaction (no condition failed)
    def cancelled(**_: object) -> None:
        raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                           "CancellationReasons": [{"Code": r} for r in reasons]}, "TransactWriteItems")

    monkeypatch.setattr(svc.store.client, "transact_write_items", cancelled)
    # When a revocation is written
    # Then it is Unavailable (503: retry), never "session not found" (404: nothing to retry)
    with pytest.raises(errors.Unavailable):
        svc.store.sessions.revoke([SessionKey("acme", "u1", "s1")], reason="revoked", now=1)
    with pytest.raises(errors.Unavailable):
        svc.store.sessions.revoke_scopes([SessionKey("acme", "u1", "s1")], frozenset({"chat:write"}))


def test_revoking_a_session_that_is_gone_writes_no_half_session(svc, seeded):
    from switchboard import errors
    from switchboard.models import SessionKey

    # Given a session key whose item is gone (its TTL passed between the read and the write)
    gone = SessionKey(TENANT, "u-gone", "s-gone")
    # When it is revoked
    with pytest.raises(errors.NotFound):
        svc.store.sessions.revoke([gone], reason="revoked", now=1)
    # Then no item is made up for it: the user's session list still reads
    assert svc.store.sessions.get(gone) is None and svc.store.sessions.of_user(TENANT, "u-gone") == []


def test_revoking_more_sessions_than_one_transaction_holds_revokes_every_one(svc):
    from switchboard.admin import audit
    from switchboard.models import Session

    # Given a user with 101 live sessions (a transaction holds at most 100 items)
    now = int(time.time())
    keys = []
    for i in range(101):
        s = Session(tenant="acme", user_id="u-many", id=f"s{i:03d}", role="visitor", lvl=0, anon=True, name="V",
                    scopes=frozenset({"chat:read"}), method="anonymous", device="d", created_at=now,
                    last_used_at=now, idle_expires_at=now + 600, expires_at=now + 3600)
        svc.store.sessions.create(s, "-", event=audit.event(tenant="acme", kind="sign_in", actor="u-many",
                                                           session_id=s.id), event_ttl=now + 60)
        keys.append(s.key)
    # When all of them are revoked
    svc.store.sessions.revoke(keys, reason="revoked", now=now)
    # Then none is left live, at any chunk's edge
    assert [s.id for s in svc.store.sessions.of_user("acme", "u-many") if s.status != "revoked"] == []
