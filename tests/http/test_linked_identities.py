"""One record per staff member, any number of ways in (contract section 7): Cognito and Auth0
staff sign-ins land on the operator record - linked, or invited with that verified email -, or
are refused with nothing created; two first sign-ins at once make one record."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from switchboard.auth import hooks, linking
from switchboard.errors import SignInRefused

from tests.conftest import ADMIN, HOOK_SECRET, OPERATOR, TENANT, dynamodb_serialises_writes

NS = "https://switchboard.dev/claims"


def cognito_event(*, sub: str, email: str, verified: bool, groups: list[str]) -> dict[str, Any]:
    return {"version": "2", "triggerSource": "TokenGeneration_Authentication", "region": "us-east-1",
            "userPoolId": "us-east-1_EXAMPLE", "userName": sub,
            "callerContext": {"awsSdkVersion": "x", "clientId": "c"},
            "request": {"userAttributes": {"sub": sub, "email": email, "email_verified": str(verified).lower(),
                                           "name": "From Cognito"},
                        "groupConfiguration": {"groupsToOverride": groups}},
            "response": {}}


@pytest.fixture
def cognito(template, monkeypatch, seeded):
    from switchboard import runtime
    from switchboard.settings import get_settings

    from switchboard_local.lambda_runtime import LambdaContext, load_handler

    monkeypatch.setenv("COGNITO_TENANT", TENANT)
    get_settings.cache_clear()
    runtime.services.cache_clear()
    handler = load_handler(template, "PostLoginFunction")
    return lambda event: handler(json.loads(json.dumps(event)), LambdaContext("PostLoginFunction"))


def chat_of(svc, out: dict[str, Any]) -> Any:
    claims = out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"]
    return svc.tokens.verify_chat(claims[f"{NS}/chat_token"])


def staff_emails(svc) -> set[str]:
    return {o.email for o in svc.store.staff.of_tenant(TENANT)}


def test_a_cognito_operator_invited_with_a_verified_email_lands_on_the_record(cognito, svc, seeded, call, admin):
    otto = seeded[OPERATOR["email"]]["id"]
    # When Otto signs in through the company's user pool (a staff group, his invited email, verified)
    chat = chat_of(svc, cognito(cognito_event(sub="c-otto", email="otto@acme.test", verified=True,
                                              groups=["switchboard-operator"])))
    # Then he is Otto - his id, his role and name as the record says - with Cognito linked
    assert (chat.sub, chat.role, chat.name) == (otto, "operator", "Otto")
    assert svc.store.identities.find(TENANT, "cognito", "c-otto") == otto
    row = next(o for o in call("GET /admin/operators", token=admin)["json"]["operators"] if o["id"] == otto)
    assert row["identities"] == ["cognito", "password"]
    # And the next sign-in finds him by the identity, whatever the email now says
    again = chat_of(svc, cognito(cognito_event(sub="c-otto", email="otto.renamed@elsewhere.test", verified=False,
                                               groups=["switchboard-operator"])))
    assert again.sub == otto


def test_the_record_decides_the_role_not_the_group(cognito, svc, seeded):
    # Otto's record says operator: a user pool group saying admin does not make him one
    chat = chat_of(svc, cognito(cognito_event(sub="c-otto", email="otto@acme.test", verified=True,
                                              groups=["switchboard-admin"])))
    assert chat.role == "operator" and "admin:operators" not in chat.scopes


@pytest.mark.parametrize("email, verified, reason", [
    ("stranger@acme.test", True, "not_invited"),
    ("otto@acme.test", False, "email_not_verified"),
])
def test_a_cognito_staff_sign_in_nobody_vouches_for_fails_the_trigger_and_creates_nothing(
        cognito, svc, email, verified, reason):
    before = staff_emails(svc)
    with pytest.raises(SignInRefused) as refused:
        cognito(cognito_event(sub="c-x", email=email, verified=verified, groups=["switchboard-operator"]))
    assert refused.value.reason == reason
    assert staff_emails(svc) == before and svc.store.identities.find(TENANT, "cognito", "c-x") is None
    assert svc.store.staff.get_by_email(TENANT, "otto@acme.test").linked == {}


def test_a_cognito_visitor_is_no_staff_record(cognito, svc):
    before = staff_emails(svc)
    chat = chat_of(svc, cognito(cognito_event(sub="c-v", email="v@shop.test", verified=True, groups=[])))
    assert chat.role == "visitor" and staff_emails(svc) == before


def test_blocking_a_cognito_operator_ends_their_session(cognito, svc, seeded, call, admin):
    from switchboard.edge import ws

    otto = seeded[OPERATOR["email"]]["id"]
    out = cognito(cognito_event(sub="c-otto", email="otto@acme.test", verified=True, groups=["switchboard-operator"]))
    token = out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"][
        f"{NS}/chat_token"]
    connect = {"queryStringParameters": {"token": token}, "headers": {}, "methodArn": "arn:x/$connect"}
    assert ws.authorizer(connect, svc)["principalId"] == otto
    r = call("PATCH /admin/operators/{id}", path_params={"id": otto}, body={"blocked": True}, token=admin)
    assert r["status"] == 200 and r["json"]["revoked_sessions"] >= 1
    with pytest.raises(Exception, match="Unauthorized"):
        ws.authorizer(connect, svc)
    with pytest.raises(SignInRefused):
        cognito(cognito_event(sub="c-otto", email="otto@acme.test", verified=True, groups=["switchboard-operator"]))


def auth0(call, user: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps({"tenant": TENANT, "user": user}).encode()
    return call("POST /hooks/post-login", raw_body=raw,
                headers={"content-type": "application/json", "Switchboard-Signature": hooks.sign(HOOK_SECRET, raw)})


def test_an_auth0_admin_lands_on_the_record_by_verified_email(call, seeded, svc):
    ana = seeded[ADMIN["email"]]["id"]
    r = auth0(call, {"user_id": "auth0|ana", "email": "ana@acme.test", "email_verified": True, "role": "admin"})
    assert r["status"] == 200, r
    chat = svc.tokens.verify_chat(r["json"]["chat_token"])
    assert (chat.sub, chat.role) == (ana, "admin")
    assert svc.store.identities.find(TENANT, "auth0", "auth0|ana") == ana


def test_an_auth0_staff_sign_in_without_a_verified_email_is_403_and_creates_nothing(call, seeded, svc):
    before = staff_emails(svc)
    r = auth0(call, {"user_id": "auth0|ana", "email": "ana@acme.test", "role": "admin"})  # email_verified absent
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"
    assert svc.store.identities.find(TENANT, "auth0", "auth0|ana") is None and staff_emails(svc) == before


def test_two_first_sign_ins_at_once_create_one_record(seeded, svc):
    from switchboard.models import IdentityProvider

    # Given a provider that admits corp.test, and the same new person signing in twice at once
    provider = IdentityProvider(id="corp", kind="oidc", name="Corp", issuer="https://idp.test", client_id="c",
                                allowed_domains=("corp.test",))
    claimed = linking.Claimed(tenant=TENANT, kind="oidc", provider="corp", subject="same-person",
                              email="new@corp.test", email_verified=True, name="New")
    barrier, results, errors = threading.Barrier(4), [], []

    def sign_in() -> None:
        barrier.wait()
        try:
            results.append(linking.resolve(svc, claimed, admits=provider)[0].id)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    with dynamodb_serialises_writes():
        threads = [threading.Thread(target=sign_in) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    # Then one record exists, every sign-in landed on it, and it has one identity
    assert not errors, errors
    made = [o for o in svc.store.staff.of_tenant(TENANT) if o.email == "new@corp.test"]
    assert len(made) == 1 and set(results) == {made[0].id} and len(made[0].linked) == 1


def test_two_first_sign_ins_at_once_link_an_invited_record_once(seeded, svc):
    claimed = linking.Claimed(tenant=TENANT, kind="cognito", subject="c-otto", email="otto@acme.test",
                              email_verified=True)
    barrier, results = threading.Barrier(4), []

    def sign_in() -> None:
        barrier.wait()
        results.append(linking.resolve(svc, claimed, now=int(time.time()))[1].id)

    with dynamodb_serialises_writes():
        threads = [threading.Thread(target=sign_in) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    otto = svc.store.staff.get_by_email(TENANT, "otto@acme.test")
    assert len(otto.linked) == 1 and set(results) == set(otto.linked)


def test_a_federated_operator_is_assignable_while_offline_and_listed(seeded, svc, chat, call, tokens_for, admin):
    from switchboard.models import IdentityProvider

    from tests.chat_support import visitor_tokens

    # Given an operator made by their first SSO sign-in (an admitted domain), never connected since
    provider = IdentityProvider(id="corp", kind="oidc", name="Corp", issuer="https://idp.test", client_id="c",
                                allowed_domains=("corp.test",))
    made, _ = linking.resolve(svc, linking.Claimed(tenant=TENANT, kind="oidc", provider="corp", subject="s-1",
                                                   email="fed@corp.test", email_verified=True, name="Fed"),
                              admits=provider)
    # Then staff see them, and an admin can give them a conversation while they are offline
    assert made.id in [s["id"] for s in call("GET /staff", token=admin)["json"]["staff"]]
    queued = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    ana = chat.connect(tokens_for(ADMIN))
    assigned = ana.ok("channel.assign", channel_id=queued["id"], operator_id=made.id)["channel"]
    assert assigned["assignee"] == made.id and assigned["assignee_name"] == "Fed"
