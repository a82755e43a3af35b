"""Verified visitors only, and identity / hook secret rotation with an overlap (contract section 9):
the old secret works inside its grace and not after it (the clock is the test's), the new one
works, no answer but the rotation's shows a secret, and the table holds them sealed."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import boto3
import pytest
from switchboard.auth import hooks
from switchboard.auth.identity import visitor_hash

from tests.conftest import HOOK_SECRET, IDENTITY_SECRET, ORIGIN, TENANT


def external(call, user=None):
    body = {"tenant": TENANT, **({"user": user} if user else {})}
    return call("POST /auth/external", body=body, headers={"origin": ORIGIN})


def known(secret, user_id="customer-42"):
    return {"id": user_id, "name": "Jo", "hash": visitor_hash(secret, user_id)}


def at(monkeypatch, module, when):
    """The module's clock reads ``when`` (epoch seconds): nobody sleeps through a grace period."""
    monkeypatch.setattr(module, "time", SimpleNamespace(time=lambda: when, monotonic=time.monotonic))


def stored_item(svc):
    raw = boto3.client("dynamodb").get_item(TableName=svc.settings.table_name,
                                            Key={"pk": {"S": f"T#{TENANT}"}, "sk": {"S": "TENANT"}})["Item"]
    return json.dumps(raw)


def rotate(call, admin, kind, **body):
    r = call(f"POST /admin/tenant/{kind}-secret", token=admin, body=body or None)
    assert r["status"] == 200, r
    assert set(r["json"]) == {"secret"}
    return r["json"]["secret"]


# -- verified visitors only ------------------------------------------------------------------------------
def test_verified_visitors_only_refuses_anonymous_and_unsigned_identities(call, admin, seeded):
    # Given a tenant whose anonymous visitors sign in today
    assert external(call)["status"] == 200
    # When its admin allows verified visitors only
    assert call("PATCH /admin/tenant", token=admin, body={"verified_visitors_only": True})["status"] == 200
    # Then an anonymous sign-in and an identity without a (valid) hash are refused
    for user in (None, {"id": "customer-42"}, {"id": "customer-42", "hash": "ab" * 32}):
        r = external(call, user)
        assert r["status"] == 401 and r["json"]["code"] == "invalid_identity", (user, r)
    # And a visitor the website vouches for still signs in
    r = external(call, known(IDENTITY_SECRET))
    assert r["status"] == 200 and r["json"]["user"]["anonymous"] is False
    # And turning it off lets anonymous visitors in again
    assert call("PATCH /admin/tenant", token=admin, body={"verified_visitors_only": False})["status"] == 200
    assert external(call)["status"] == 200


# -- identity secret -------------------------------------------------------------------------------------
def test_the_old_identity_secret_works_for_its_grace_then_stops(call, admin, svc, monkeypatch):
    from switchboard.auth import visitors

    now = int(time.time())
    # Given a rotation with a one-hour grace
    new = rotate(call, admin, "identity", grace_seconds=3600)
    assert new != IDENTITY_SECRET and len(new) >= 40
    # Then inside the grace both the old and the new secret vouch for a visitor
    at(monkeypatch, visitors, now + 3590)
    assert external(call, known(IDENTITY_SECRET))["status"] == 200
    assert external(call, known(new))["status"] == 200
    # And once the grace has passed only the new one does
    at(monkeypatch, visitors, now + 3601)
    r = external(call, known(IDENTITY_SECRET))
    assert r["status"] == 401 and r["json"]["code"] == "invalid_identity"
    assert external(call, known(new))["status"] == 200


def test_the_default_grace_is_a_day_and_zero_ends_the_old_secret_at_once(call, admin, monkeypatch):
    from switchboard.auth import visitors

    now = int(time.time())
    new = rotate(call, admin, "identity")  # no body: the default grace
    at(monkeypatch, visitors, now + 86400 - 30)
    assert external(call, known(IDENTITY_SECRET))["status"] == 200
    at(monkeypatch, visitors, now + 86400 + 30)
    assert external(call, known(IDENTITY_SECRET))["status"] == 401
    monkeypatch.undo()
    newest = rotate(call, admin, "identity", grace_seconds=0)
    assert external(call, known(new))["status"] == 401
    assert external(call, known(newest))["status"] == 200


def test_rotated_secrets_are_never_shown_and_stored_sealed(call, admin, svc):
    identity, hook = rotate(call, admin, "identity"), rotate(call, admin, "hook")
    shown = json.dumps(call("GET /admin/tenant", token=admin))
    for secret in (identity, hook, IDENTITY_SECRET, HOOK_SECRET):
        assert secret not in shown
    # the table holds the new secrets sealed only (the old ones, seeded in plain form, stay as they
    # were until their grace ends)
    item = stored_item(svc)
    assert identity not in item and hook not in item and "kms1:" in item
    # the audit says what was rotated, never a secret
    events = [e for e in svc.store.events.page(TENANT, limit=100)[0] if e.kind == "secret_rotated"]
    assert sorted(e.detail["secret"] for e in events) == ["hook", "identity"]
    assert not any(s in json.dumps([e.detail for e in events]) for s in (identity, hook, IDENTITY_SECRET))


def test_a_sealed_secret_copied_into_another_tenant_does_not_open(call, admin, svc):
    from msgspec.structs import replace

    new = rotate(call, admin, "identity", grace_seconds=0)
    # (opened once for its own tenant: this container now holds it opened)
    assert svc.tenant_secrets(svc.store.tenants.get(TENANT), "identity", int(time.time())) == [new]
    sealed = svc.store.tenants.get(TENANT).identity_secret
    globex = svc.store.tenants.get("globex")
    svc.store.tenants.put(replace(globex, identity_secret=sealed))
    svc.tenants.forget()
    # it opens to nothing for globex, and a visitor signed with acme's secret is refused there
    assert svc.tenant_secrets(svc.store.tenants.get("globex"), "identity", int(time.time())) == []
    r = call("POST /auth/external", body={"tenant": "globex", "user": known(new)},
             headers={"origin": "https://globex.test"})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_identity"


@pytest.mark.parametrize("body", [{"grace_seconds": -1}, {"grace_seconds": 31 * 86400}, {"grace_seconds": "60"},
                                  {"grace": 60}])
def test_a_bad_rotation_is_a_400_and_keeps_the_secret(call, admin, body):
    r = call("POST /admin/tenant/identity-secret", token=admin, body=body)
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"
    assert external(call, known(IDENTITY_SECRET))["status"] == 200


# -- hook secret -----------------------------------------------------------------------------------------
def hook_call(call, secret, when):
    raw = json.dumps({"tenant": TENANT, "user": {"user_id": "auth0|abc", "email": "jo@example.com"}}).encode()
    return call("POST /hooks/post-login", raw_body=raw,
                headers={"content-type": "application/json",
                         "Switchboard-Signature": hooks.sign(secret, raw, now=when)})


def test_the_old_hook_secret_works_for_its_grace_then_stops(call, admin, seeded, monkeypatch):
    now = int(time.time())
    new = rotate(call, admin, "hook", grace_seconds=600)
    at(monkeypatch, hooks, now + 500)
    assert hook_call(call, HOOK_SECRET, now + 500)["status"] == 200
    assert hook_call(call, new, now + 500)["status"] == 200
    at(monkeypatch, hooks, now + 601)
    r = hook_call(call, HOOK_SECRET, now + 601)
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert hook_call(call, new, now + 602)["status"] == 200
