"""GET /auth/me, GET /auth/sessions, GET /.well-known/jwks.json."""

from __future__ import annotations

import jwt
import pytest

from tests.conftest import ADMIN, OPERATOR, TENANT


def test_me_answers_user_session_and_scopes(call, tokens_for):
    t = tokens_for(OPERATOR)
    body = call("GET /auth/me", token=t["access_token"], headers={"user-agent": "pytest-browser"})["json"]
    assert set(body) == {"user", "session", "scopes"}
    assert body["user"]["role"] == "operator" and body["user"]["name"] == "Otto"
    assert body["session"]["method"] == "password"


def test_sessions_lists_only_the_callers_live_sessions(call, tokens_for):
    a, b = tokens_for(OPERATOR), tokens_for(OPERATOR)
    tokens_for(ADMIN)  # someone else's session is not listed
    call("POST /auth/revoke", body={"kind": "session"}, token=b["access_token"])
    r = call("GET /auth/sessions", token=a["access_token"])
    assert r["status"] == 200
    listed = r["json"]["sessions"]
    assert len(listed) == 1 and listed[0]["current"] is True
    assert set(listed[0]) == {"id", "device", "method", "created_at", "last_used_at", "expires_at", "current"}


def test_me_refuses_a_chat_token(call, tokens_for):
    t = tokens_for(OPERATOR)
    r = call("GET /auth/me", token=t["chat_token"])
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert r["headers"]["WWW-Authenticate"].startswith("Bearer")


def test_jwks_publishes_the_verifying_key(call, seeded):
    r = call("GET /.well-known/jwks.json")
    assert r["status"] == 200 and "max-age" in r["headers"]["Cache-Control"]
    keys = r["json"]["keys"]
    assert keys and all(k["kty"] == "EC" and k["crv"] == "P-256" and k["alg"] == "ES256" for k in keys)
    assert all("d" not in k for k in keys)  # never the private part
    # a token verifies with the published key alone (what a third party would do)
    t = call("POST /auth/external", body={"tenant": TENANT})["json"]
    kid = jwt.get_unverified_header(t["access_token"])["kid"]
    jwk = next(k for k in keys if k["kid"] == kid)
    key = jwt.PyJWK(jwk).key
    claims = jwt.decode(t["access_token"], key, algorithms=["ES256"], audience="switchboard-api")
    assert claims["tid"] == TENANT


def test_staff_see_whether_their_second_factor_is_on(call, tokens_for, seeded):
    from tests.conftest import OPERATOR

    me = call("GET /auth/me", token=tokens_for(OPERATOR)["access_token"])["json"]
    assert me["user"]["mfa_enabled"] is False
    visitor = call("POST /auth/external", body={"tenant": "acme"})["json"]
    assert "mfa_enabled" not in call("GET /auth/me", token=visitor["access_token"])["json"]["user"]


def test_an_admin_lists_another_users_sessions_but_an_operator_may_not(call, tokens_for, seeded):
    from tests.conftest import ADMIN, OPERATOR

    otto = tokens_for(OPERATOR)
    admin = tokens_for(ADMIN)["access_token"]
    r = call("GET /auth/sessions", token=admin, query={"user_id": otto["user"]["id"]})
    assert r["status"] == 200 and len(r["json"]["sessions"]) == 1
    r = call("GET /auth/sessions", token=otto["access_token"], query={"user_id": admin_id(call, admin)})
    assert r["status"] == 403
    assert call("GET /auth/sessions", token=admin, query={"user_id": "Bad Id!"})["status"] == 400
    assert call("GET /auth/sessions", token=admin, query={"user_id": otto["user"]["id"] + "\n"})["status"] == 400
    assert call("GET /auth/sessions", token=admin, query={"other": "1"})["status"] == 400


def test_a_listing_marks_only_the_asking_session_current_and_ends_at_the_first_limit(call, tokens_for, svc):
    # Given Otto signed in on two devices, and an admin looking at his sessions
    first, second = tokens_for(OPERATOR), tokens_for(OPERATOR)
    admin = tokens_for(ADMIN)["access_token"]
    # When Otto lists his sessions from the second device, and the admin lists them
    mine = call("GET /auth/sessions", token=second["access_token"])["json"]["sessions"]
    theirs = call("GET /auth/sessions", token=admin, query={"user_id": first["user"]["id"]})["json"]["sessions"]
    # Then only the second device's session is current for Otto, and none for the admin
    sid = call("GET /auth/me", token=second["access_token"])["json"]["session"]["id"]
    assert {s["id"]: s["current"] for s in mine} == {s["id"]: s["id"] == sid for s in mine} and len(mine) == 2
    assert len(theirs) == 2 and not any(s["current"] for s in theirs)
    # And each ends when its first limit does: idle (sooner, unless refreshed) or absolute
    from switchboard.models import SessionKey

    for listed in mine:
        stored = svc.store.sessions.get(SessionKey(TENANT, first["user"]["id"], listed["id"]))
        assert stored.idle_expires_at < stored.expires_at
        assert listed["expires_at"] == stored.idle_expires_at


def admin_id(call, token):
    return call("GET /auth/me", token=token)["json"]["user"]["id"]


@pytest.mark.parametrize(("reasons", "expected"), [
    (["ConditionalCheckFailed", "None"], "Conflict"),        # the session id exists: a collision
    (["TransactionConflict", "None"], "Unavailable"),        # another transaction on the item: retry later
    (["None", "ThrottlingError"], "Unavailable"),
])
def test_a_cancelled_sign_in_transaction_says_why(svc, monkeypatch, reasons, expected):
    from botocore.exceptions import ClientError
    from switchboard import errors
    from switchboard.admin import audit
    from switchboard.models import Session

    def cancelled(**_: object) -> None:
        raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                           "CancellationReasons": [{"Code": r} for r in reasons]}, "TransactWriteItems")

    monkeypatch.setattr(svc.store.client, "transact_write_items", cancelled)
    session = Session(tenant="acme", user_id="u1", id="s1", role="visitor", lvl=0, anon=True, name="V",
                      scopes=frozenset(), method="anonymous", device="d", created_at=1, last_used_at=1,
                      idle_expires_at=2, expires_at=2)
    event = audit.event(tenant="acme", kind="sign_in", actor="u1", session_id="s1")
    with pytest.raises(getattr(errors, expected)):
        svc.store.sessions.create(session, "-", event=event, event_ttl=3)


def test_a_session_id_collision_is_refused_and_leaves_the_first_session_as_it_was(svc):
    from switchboard import errors
    from switchboard.admin import audit
    from switchboard.models import Session, SessionKey

    def session(at: int) -> Session:
        return Session(tenant="acme", user_id="u1", id="s1", role="visitor", lvl=0, anon=True, name="V",
                       scopes=frozenset(), method="anonymous", device="d", created_at=at, last_used_at=at,
                       idle_expires_at=at + 10, expires_at=at + 10)

    # Given a session s1 of u1
    svc.store.sessions.create(session(1), "first-hash",
                             event=audit.event(tenant="acme", kind="sign_in", actor="u1", session_id="s1"), event_ttl=3)
    # When another sign-in draws the same session id
    with pytest.raises(errors.Conflict):
        svc.store.sessions.create(session(2), "second-hash",
                                 event=audit.event(tenant="acme", kind="sign_in", actor="u1", session_id="s1"),
                                 event_ttl=3)
    # Then it is refused, and the first session keeps its refresh token and times
    stored, rt_hash = svc.store.sessions.read_refresh(SessionKey("acme", "u1", "s1"))
    assert (stored.created_at, rt_hash) == (1, "first-hash")
