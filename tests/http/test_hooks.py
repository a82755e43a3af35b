"""Post-login for Auth0 (POST /hooks/post-login, signed) and Cognito (pre token generation trigger),
and the tenant's post-login rules (extra claims, denied domains) checked at configuration time."""

from __future__ import annotations

import json
import re
import time

import pytest
from msgspec.structs import replace
from switchboard.auth import hooks
from switchboard.errors import InvalidToken

from tests.conftest import HOOK_SECRET, TENANT

NS = "https://switchboard.dev/claims"


def body_of(user_id: str = "auth0|abc123", **user) -> bytes:
    return json.dumps({"tenant": TENANT, "user": {"user_id": user_id, "email": "jo@example.com", "name": "Jo",
                                                  **user}}).encode()


def post_hook(call, raw: bytes, signature: str | None):
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["Switchboard-Signature"] = signature
    return call("POST /hooks/post-login", raw_body=raw, headers=headers)


def test_a_signed_call_gets_a_chat_token_and_the_claims(call, seeded, svc):
    # Given an Auth0 Action's request, signed with the tenant's hook secret
    raw = body_of()
    r = post_hook(call, raw, hooks.sign(HOOK_SECRET, raw))
    # Then it gets a chat token for the chat-safe id and the namespaced claims to set
    assert r["status"] == 200, r
    chat = svc.tokens.verify_chat(r["json"]["chat_token"])
    assert (chat.sub, chat.tid, chat.role) == ("auth0abc123", TENANT, "visitor")
    claims = r["json"]["claims"]
    assert claims[f"{NS}/chat_token"] == r["json"]["chat_token"]
    assert claims[f"{NS}/tenant"] == TENANT and claims[f"{NS}/level"] == 1
    # And a session was recorded, so revoking the user ends it
    live = [s for s in svc.store.sessions.of_user(TENANT, "auth0abc123") if s.is_live(int(time.time()))]
    assert [s.id for s in live] == [chat.sid] and live[0].method == "auth0"


@pytest.mark.parametrize("make_signature", [
    lambda raw: None,
    lambda raw: "",
    lambda raw: "t=abc,v1=00",
    lambda raw: hooks.sign("some-other-secret-0123456789", raw),
    lambda raw: hooks.sign(HOOK_SECRET, raw + b" "),
    lambda raw: hooks.sign(HOOK_SECRET, raw).replace("v1=", "v0="),
    lambda raw: hooks.sign(HOOK_SECRET, raw, now=int(time.time()) - 301),
    lambda raw: hooks.sign(HOOK_SECRET, raw, now=int(time.time()) + 301),
], ids=["missing", "empty", "malformed", "wrong-secret", "other-body", "wrong-scheme", "stale", "future"])
def test_a_wrong_or_stale_signature_is_refused_and_records_nothing(call, seeded, svc, make_signature):
    raw = body_of()
    r = post_hook(call, raw, make_signature(raw))
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert svc.store.sessions.of_user(TENANT, "auth0abc123") == []


def test_a_signature_for_another_tenant_does_not_work_here(call, seeded, svc):
    raw = body_of()
    r = post_hook(call, raw, hooks.sign("globex-hook-secret-0123456789", raw))
    assert r["status"] == 401


def test_a_replayed_signed_request_is_refused(call, seeded, svc):
    raw = body_of()
    signature = hooks.sign(HOOK_SECRET, raw)
    assert post_hook(call, raw, signature)["status"] == 200
    r = post_hook(call, raw, signature)
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert len(svc.store.sessions.of_user(TENANT, "auth0abc123")) == 1


def test_the_record_of_a_seen_signed_request_expires(call, seeded, svc):
    # Given a signed request accepted once
    raw = body_of()
    signature = hooks.sign(HOOK_SECRET, raw)
    assert post_hook(call, raw, signature)["status"] == 200
    # When we look at what remembers it (for replay refusal)
    seen = svc.store.client.scan(TableName=svc.store.table)["Items"]  # test-only look at the table
    once = [i for i in seen if i["pk"]["S"].startswith("ONCE#")]
    # Then it carries a TTL just past the signature's tolerance: the table does not grow with every call
    assert len(once) == 1 and time.time() < int(once[0]["ttl"]["N"]) <= time.time() + 3600


def test_the_edges_of_the_five_minute_tolerance():
    raw, now = body_of(), 1_800_000_000
    hooks.verify_signature(HOOK_SECRET, hooks.sign(HOOK_SECRET, raw, now=now - 300), raw, tolerance=300, now=now)
    with pytest.raises(InvalidToken):
        hooks.verify_signature(HOOK_SECRET, hooks.sign(HOOK_SECRET, raw, now=now - 301), raw, tolerance=300, now=now)


def test_the_mac_is_compared_in_constant_time(monkeypatch):
    import hmac as hmac_module

    calls = []
    real = hmac_module.compare_digest
    monkeypatch.setattr(hooks.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    raw = body_of()
    hooks.verify_signature(HOOK_SECRET, hooks.sign(HOOK_SECRET, raw), raw, tolerance=300)
    assert calls


def test_a_tenant_without_a_hook_secret_refuses_every_signature(call, seeded, svc):
    # Given a tenant whose hook secret is empty (not configured)
    svc.store.tenants.put(replace(svc.store.tenants.get(TENANT), hook_secret=""))
    svc.tenants.forget()
    # When a call comes signed with the empty key (which anyone can compute)
    raw = body_of()
    r = post_hook(call, raw, hooks.sign("", raw))
    # Then it is refused, and nobody is signed in
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token", r
    assert svc.store.sessions.of_user(TENANT, "auth0abc123") == []


def test_a_refused_signature_is_not_told_the_right_one(call, seeded):
    # Given a call signed with the wrong secret
    raw, now = body_of(), int(time.time())
    right = hooks.sign(HOOK_SECRET, raw, now=now).split("v1=", 1)[1]
    r = post_hook(call, raw, hooks.sign("some-other-secret-0123456789", raw, now=now))
    # Then the refusal does not contain the MAC it expected (which would sign this body for anyone)
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert right not in json.dumps(r["json"]) and right not in json.dumps(r["headers"])


def test_one_users_hook_calls_are_rate_limited_whatever_their_ips(call, seeded, svc, monkeypatch):
    import types

    # Given a clock that stays in one minute (the limiter's windows are clock minutes)
    frozen = time.time() // 60 * 60 + 1
    monkeypatch.setattr(hooks, "time", types.SimpleNamespace(time=lambda: frozen))
    per_minute = svc.settings.rate_limit_account[0]
    # When one user's sign-in is posted, correctly signed, once more than the account quota, each from another IP
    statuses = []
    for i in range(per_minute + 1):
        raw = body_of(name=f"Jo {i}")  # another request each time (the same one would be a replay)
        r = call("POST /hooks/post-login", raw_body=raw, source_ip=f"198.51.100.{i + 1}",
                 headers={"Switchboard-Signature": hooks.sign(HOOK_SECRET, raw)})
        statuses.append(r["status"])
    # Then the quota's worth pass and the next is 429
    assert statuses == [200] * per_minute + [429], statuses


@pytest.mark.parametrize("raw", [b"not json", b"{}", json.dumps({"tenant": TENANT, "user": {}}).encode(),
                                 json.dumps({"tenant": TENANT, "user": {"user_id": "x"}, "admin": True}).encode()])
def test_a_malformed_body_is_400_even_when_signed(call, seeded, raw):
    r = post_hook(call, raw, hooks.sign(HOOK_SECRET, raw))
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"


def test_the_tenants_rules_add_claims_and_deny_domains(call, seeded, svc):
    # Given acme's post-login rules: a plan claim, and no sign-ins from blocked.test
    tenant = svc.store.tenants.get(TENANT)
    svc.store.tenants.put(replace(tenant, claims={"https://acme.test/plan": "gold"},
                                 deny_email_domains=("blocked.test",)))
    svc.tenants.forget()
    raw = body_of()
    r = post_hook(call, raw, hooks.sign(HOOK_SECRET, raw))
    assert r["json"]["claims"]["https://acme.test/plan"] == "gold"
    denied = body_of(user_id="auth0|mallory", email="m@blocked.test")
    r = post_hook(call, denied, hooks.sign(HOOK_SECRET, denied))
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"
    assert svc.store.sessions.of_user(TENANT, "auth0mallory") == []


def test_a_denied_domain_is_denied_whatever_the_case_of_the_email(call, seeded, svc):
    # Given acme denies sign-ins from blocked.test
    svc.store.tenants.put(replace(svc.store.tenants.get(TENANT), deny_email_domains=("blocked.test",)))
    svc.tenants.forget()
    # When a user of that domain signs in with it written in capitals
    raw = body_of(user_id="auth0|mallory", email="m@BLOCKED.Test")
    r = post_hook(call, raw, hooks.sign(HOOK_SECRET, raw))
    # Then the sign-in is denied all the same (domains are case-insensitive)
    assert r["status"] == 403 and r["json"]["code"] == "forbidden", r
    assert svc.store.sessions.of_user(TENANT, "auth0mallory") == []


@pytest.mark.parametrize("claims", [{"plan": "gold"}, {"sub": "x"}, {"https://acme.test/": 1},
                                    {"urn:acme:plan": 1}, {"tid": "other"}, {"ftp://acme.test/plan": 1},
                                    {"https:plan": 1}, {"https:///plan": 1}, {"http://acme.test/plan": 1}])
def test_non_namespaced_or_reserved_claims_are_refused_at_configuration_time(aws, claims):
    from pydantic import ValidationError
    from switchboard.errors import ValidationFailed
    from switchboard.runtime import services

    from switchboard_local.seed import apply_seed

    seed = {"tenants": [{"id": "initech", "name": "Initech", "identity_secret": "initech-identity-secret-01",
                         "hook_secret": "initech-hook-secret-0123", "claims": claims}]}
    with pytest.raises((ValidationFailed, ValidationError)):
        apply_seed(services().store, seed)
    assert services().store.tenants.get("initech") is None


# -- Cognito ---------------------------------------------------------------------------------------
def cognito_event(version: str, groups: list[str] | None = None, email: str = "jo@example.com",
                  verified: bool = True) -> dict:
    return {"version": version, "triggerSource": "TokenGeneration_Authentication", "region": "us-east-1",
            "userPoolId": "us-east-1_EXAMPLE", "userName": "jo",
            "callerContext": {"awsSdkVersion": "x", "clientId": "c"},
            "request": {"userAttributes": {"sub": "1f2e3d4c-0000-1111-2222-333344445555", "email": email,
                                           "email_verified": "true" if verified else "false", "name": "Jo"},
                        "groupConfiguration": {"groupsToOverride": groups or []}},
            "response": {}}


@pytest.fixture
def post_login(template, monkeypatch, seeded):
    from switchboard.settings import get_settings

    from switchboard_local.lambda_runtime import LambdaContext, load_handler

    monkeypatch.setenv("COGNITO_TENANT", TENANT)
    get_settings.cache_clear()
    from switchboard import runtime

    runtime.services.cache_clear()
    handler = load_handler(template, "PostLoginFunction")
    return lambda event: handler(json.loads(json.dumps(event)), LambdaContext("PostLoginFunction"))


def test_a_cognito_v2_sign_in_round_trip(post_login, svc, seeded):
    # When Cognito asks before issuing tokens, for the admin invited with that verified email
    out = post_login(cognito_event("2", groups=["switchboard-admin"], email="ana@acme.test"))
    # Then both tokens get the chat token and the claims, for a session we can revoke
    details = out["response"]["claimsAndScopeOverrideDetails"]
    id_claims = details["idTokenGeneration"]["claimsToAddOrOverride"]
    assert id_claims == details["accessTokenGeneration"]["claimsToAddOrOverride"]
    chat = svc.tokens.verify_chat(id_claims[f"{NS}/chat_token"])
    # (on her record: staff signed in by Cognito are one person with their password self)
    assert chat.role == "admin" and chat.tid == TENANT and chat.sub == seeded["ana@acme.test"]["id"]
    session = svc.store.sessions.get(svc.store.sessions.find_key(chat.sid))
    assert session.method == "cognito" and session.is_live(int(time.time()))
    # And the chat token works for the WebSocket handshake until that session is revoked
    svc.store.sessions.revoke([session.key], reason="revoked", now=int(time.time()))
    from switchboard.edge import ws

    with pytest.raises(Exception, match="Unauthorized"):
        ws.authorizer({"queryStringParameters": {"token": id_claims[f"{NS}/chat_token"]}, "headers": {},
                       "methodArn": "arn:x/$connect"}, svc)


def test_a_cognito_v1_event_gets_string_claims_in_the_id_token(post_login):
    out = post_login(cognito_event("1"))
    claims = out["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"]
    assert claims[f"{NS}/role"] == "visitor" and claims[f"{NS}/level"] == "1"


def test_a_denied_cognito_sign_in_fails_the_trigger(post_login, svc):
    svc.store.tenants.put(replace(svc.store.tenants.get(TENANT), deny_email_domains=("blocked.test",)))
    svc.tenants.forget()
    from switchboard.errors import Forbidden

    with pytest.raises(Forbidden):
        post_login(cognito_event("2", email="m@blocked.test"))


def test_a_cognito_v3_sign_in_gets_the_claims_in_both_tokens_as_v2_does(post_login, svc):
    # When a V3_0 trigger asks for a user's sign-in (identical to V2_0 for users)
    out = post_login(cognito_event("3", groups=["switchboard-operator"], email="otto@acme.test"))
    # Then the ID and the access token both get the claims and a chat token of a live session
    details = out["response"]["claimsAndScopeOverrideDetails"]
    claims = details["accessTokenGeneration"]["claimsToAddOrOverride"]
    assert claims == details["idTokenGeneration"]["claimsToAddOrOverride"]
    chat = svc.tokens.verify_chat(claims[f"{NS}/chat_token"])
    assert chat.role == "operator" and chat.tid == TENANT


def machine_event() -> dict:
    """A V3_0 event for an OAuth client-credentials token request: a machine, no user."""
    return {"version": "3", "triggerSource": "TokenGeneration_ClientCredentials", "region": "us-east-1",
            "userPoolId": "us-east-1_EXAMPLE", "callerContext": {"awsSdkVersion": "x", "clientId": "m2m-client"},
            "request": {"userAttributes": {}, "groupConfiguration": None, "scopes": ["https://api.test/read"],
                        "clientMetadata": {}},
            "response": {"claimsAndScopeOverrideDetails": None}}


@pytest.mark.parametrize("response", [{"claimsAndScopeOverrideDetails": None}, {}, None])
def test_a_machine_clients_token_request_goes_through_unchanged_with_no_chat(post_login, response):
    from tests.chat_support import table_keys

    # Given a machine-to-machine client asking Cognito for a token (however Cognito fills "response")
    event = machine_event()
    event["response"] = response
    before = table_keys()
    # When the trigger runs
    out = post_login(event)
    # Then Cognito gets the event back with a null override (its token unchanged): no chat token,
    # no claims, and the rest of the event as it came
    assert out["response"] == {"claimsAndScopeOverrideDetails": None}
    assert {k: v for k, v in out.items() if k != "response"} == {k: v for k, v in event.items() if k != "response"}
    # And nothing was stored: no session, no audit event (a machine has no chat)
    assert table_keys() == before


def test_a_machine_clients_token_request_needs_no_tenant_configured(post_login, monkeypatch):
    # Given a user pool whose trigger has no COGNITO_TENANT (machines only, or not set up yet)
    from switchboard import runtime
    from switchboard.settings import get_settings

    monkeypatch.setenv("COGNITO_TENANT", "")
    get_settings.cache_clear()
    runtime.services.cache_clear()
    # Then a machine's token request still goes through (a user's would fail: which tenant?)
    assert post_login(machine_event())["response"] == {"claimsAndScopeOverrideDetails": None}
    with pytest.raises(RuntimeError, match="COGNITO_TENANT"):
        post_login(cognito_event("3"))


# -- direct invocation -----------------------------------------------------------------------------
@pytest.mark.parametrize("event,loc", [
    ({"tenant": TENANT}, "user"),
    ({"tenant": TENANT, "user": {"user_id": "auth0|1", "role": "owner"}}, "user.role"),
    ({"tenant": TENANT, "user": {"user_id": 42}}, "user.user_id"),
    ({"tenant": TENANT + "\n", "user": {"user_id": "auth0|1"}}, "tenant"),
    ({"tenant": TENANT, "user": {"user_id": "auth0|1"}, "admin": True}, "admin"),
])
def test_an_invalid_direct_invocation_is_a_validation_error(post_login, svc, event, loc):
    # When PostLogin is invoked directly with a payload that breaks one rule
    out = post_login(event)
    # Then it answers validation_error naming the field, and signs no one in
    assert out["error"]["code"] == "validation_error"
    assert [e["loc"] for e in out["error"]["errors"]] == [loc]
    assert svc.store.sessions.of_user(TENANT, "auth01") == []


# -- provider ids to chat user ids: stable, and never two users in one --------------------------------
@pytest.mark.parametrize(("raw", "chat_id"), [
    ("auth0|abc", "auth0abc"),                      # the contract's example
    ("google-oauth2|1234567890", "google-oauth21234567890"),
    ("cognito|3f2a9c1e-77aa-4b1d-9a0e-0c1d2e3f4a5b", "cognito3f2a9c1e-77aa-4b1d-9a0e-0c1d2e3f4a5b"),
    ("bob", "bob"),
])
def test_provider_ids_that_lose_nothing_keep_their_readable_form(raw, chat_id):
    from switchboard.auth.identity import chat_safe_id

    assert chat_safe_id(raw) == chat_id


@pytest.mark.parametrize(("one", "other"), [
    ("samlp|corp|Bob.Smith", "samlp|corp|bobsmith"),   # a second separator, case, a dot
    ("auth0|ABC", "auth0|abc"),                         # case
    ("waad|jo.smith@corp.test", "waad|josmith@corp.test"),
    ("v-customer-42", "auth0|nobody"),                  # the form of a website visitor's id...
    ("op-1234", "auth0|nobody"),                        # ... or an operator's
    ("bob\n", "bob"),                                   # a trailing newline is not chat-safe
])
def test_two_provider_users_are_never_one_chat_user(call, seeded, svc, one, other):
    # Given two users an identity provider tells apart, signing in through the Auth0 hook
    subs = []
    for user_id in (one, other):
        raw = body_of(user_id=user_id)
        r = post_hook(call, raw, hooks.sign(HOOK_SECRET, raw))
        assert r["status"] == 200, r
        subs.append(svc.tokens.verify_chat(r["json"]["chat_token"]).sub)
    # Then they are two chat users, and neither has an id of Switchboard's own kinds
    assert subs[0] != subs[1]
    assert not subs[0].startswith(("v-", "vh-", "op-", "anon-"))
    assert all(re.fullmatch(r"[a-z0-9@_-]{1,128}", sub) for sub in subs)
    # And the mapping is stable: the same provider id is the same chat user next time
    raw = body_of(user_id=one, name="Jo again")  # another request (the same one would be a replay)
    again = post_hook(call, raw, hooks.sign(HOOK_SECRET, raw))["json"]["chat_token"]
    assert svc.tokens.verify_chat(again).sub == subs[0]


def test_the_hook_refuses_a_body_over_the_size_limit_even_when_signed(call, seeded, svc):
    raw = b'{"tenant": "' + TENANT.encode() + b'", "user": {"user_id": "auth0|big"}}' + b" " * 20_000
    r = call("POST /hooks/post-login", raw_body=raw, headers={"Switchboard-Signature": hooks.sign(HOOK_SECRET, raw)})
    assert r["status"] == 400 and "larger" in r["json"]["detail"]
    assert svc.store.sessions.of_user(TENANT, "auth0big") == []


def test_a_signed_call_with_a_query_is_refused_and_records_nothing(call, seeded, svc):
    # Given a correctly signed Auth0 Action request (the signature covers the body, not the query)
    raw = body_of(user_id="auth0|query")
    # When it comes with a query parameter
    r = call("POST /hooks/post-login", raw_body=raw, query={"kind": "user"},
             headers={"content-type": "application/json", "Switchboard-Signature": hooks.sign(HOOK_SECRET, raw)})
    # Then it is a 400, as on every route with a body, and nobody was signed in
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    assert svc.store.sessions.of_user(TENANT, "auth0query") == []
    # and the same request without the query still works (nothing was spent on the refused one)
    assert post_hook(call, raw, hooks.sign(HOOK_SECRET, raw))["status"] == 200
