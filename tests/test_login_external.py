"""POST /auth/external - website visitors (contract section 3)."""

from __future__ import annotations

import pytest
from switchboard.identity import visitor_hash

from tests.conftest import IDENTITY_SECRET, ORIGIN, TENANT


def test_anonymous_visitor_gets_level_0_tokens(call, seeded, svc):
    # When a visitor signs in with no identity
    r = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": ORIGIN})
    # Then they are an anonymous level-0 visitor with chat scopes only
    assert r["status"] == 200, r
    body = r["json"]
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "chat_token", "user"}
    assert body["user"]["anonymous"] is True and body["user"]["level"] == 0 and body["user"]["role"] == "visitor"
    claims = svc.tokens.verify_access(body["access_token"])
    assert claims.scopes == {"chat:read", "chat:write"} and claims.anon is True and claims.lvl == 0
    assert body["user"]["id"].startswith("anon-")
    # And the browser may read the answer (CORS for the allowed origin)
    assert r["headers"]["Access-Control-Allow-Origin"] == ORIGIN


def test_identified_visitor_with_valid_hash_is_level_1(call, seeded, svc):
    # Given the website's backend computed the HMAC of its user id
    user = {"id": "Customer|42", "name": "Jo", "email": "jo@example.com",
            "hash": visitor_hash(IDENTITY_SECRET, "Customer|42")}
    # When the visitor signs in with it
    r = call("POST /auth/external", body={"tenant": TENANT, "user": user})
    # Then they are a known level-1 visitor with a stable chat-safe id
    assert r["status"] == 200, r
    assert r["json"]["user"] == {"id": "v-customer42", "role": "visitor", "level": 1, "anonymous": False, "name": "Jo"}
    chat = svc.tokens.verify_chat(r["json"]["chat_token"])
    assert chat.sub == "v-customer42" and chat.lvl == 1
    # and the tenant allows visitor attachments, so level 1 gets chat:attach
    assert "chat:attach" in chat.scopes


@pytest.mark.parametrize("bad_hash", [None, "", "00" * 32, visitor_hash("another-secret", "Customer|42"),
                                      visitor_hash(IDENTITY_SECRET, "Customer|43")])
def test_claimed_identity_without_valid_hash_is_refused(call, seeded, bad_hash):
    # Given a visitor claiming to be a known user with a missing or wrong hash
    user = {"id": "Customer|42"}
    if bad_hash is not None:
        user["hash"] = bad_hash
    # When they sign in
    r = call("POST /auth/external", body={"tenant": TENANT, "user": user})
    # Then they are refused outright: no half-trusted visitor
    assert r["status"] == 401
    assert r["json"]["code"] == "invalid_identity"
    assert "access_token" not in r["json"]


def test_origin_not_allowed_for_tenant_is_forbidden(call, seeded):
    r = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": "https://evil.test"})
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in r["headers"]


def test_another_tenants_origin_is_forbidden(call, seeded):
    # globex's site may not sign visitors into acme
    r = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": "https://globex.test"})
    assert r["status"] == 403


def test_unknown_tenant_is_not_found(call, seeded):
    r = call("POST /auth/external", body={"tenant": "nope"})
    assert r["status"] == 404 and r["json"]["code"] == "not_found"


def test_failed_identity_is_audited_without_secrets(call, seeded, svc):
    call("POST /auth/external", body={"tenant": TENANT, "user": {"id": "42", "hash": "ab" * 32}})
    events, _ = svc.store.list_events(TENANT, limit=10)
    failed = [e for e in events if e.kind == "sign_in_failed"]
    assert failed and failed[0].detail == {"reason": "invalid_identity"}
    assert "ab" * 32 not in repr(failed[0])
