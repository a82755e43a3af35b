"""Device sign-in for the command line (RFC 8628; contract section 7): POST /auth/device, the
admin's approval, and the polling answers."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.conftest import ADMIN, OPERATOR, TENANT

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _start(call: Any, **body: Any) -> dict[str, Any]:
    r = call("POST /auth/device", body=body or {})
    assert r["status"] == 200, r
    return r["json"]


def _poll(call: Any, device_code: str) -> dict[str, Any]:
    return call("POST /auth/device/token", body={"grant_type": GRANT, "device_code": device_code})


def _approve(call: Any, token: str, user_code: str, action: str = "approve") -> dict[str, Any]:
    return call("POST /auth/device/approve", body={"user_code": user_code, "action": action}, token=token)


@pytest.fixture
def later(monkeypatch):
    """Move the device flow's clock forward (the polling interval, the expiry)."""
    import types

    from switchboard.auth import device

    offset = [0.0]
    monkeypatch.setattr(device, "time", types.SimpleNamespace(time=lambda: time.time() + offset[0]))

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def test_a_device_request_answers_rfc_8628s_fields(call, seeded, svc):
    got = _start(call, tenant=TENANT)
    assert set(got) == {"device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in",
                        "interval"}
    assert got["expires_in"] == 600 and got["interval"] == 5
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", got["user_code"])
    assert got["verification_uri"] == svc.settings.backoffice_url + "#/device"
    assert got["verification_uri_complete"].endswith("#/device/" + got["user_code"])


def test_polling_is_pending_until_an_admin_approves_then_gives_the_admins_tokens_once(call, seeded, admin, svc, later):
    got = _start(call)
    # Before approval: authorization_pending (RFC 8628 §3.5), with OAuth's "error"
    r = _poll(call, got["device_code"])
    assert r["status"] == 400 and r["json"]["code"] == r["json"]["error"] == "authorization_pending"
    # When the admin approves the user code (as typed: any case, no dash)
    later(5)
    a = _approve(call, admin, got["user_code"].lower().replace("-", ""))
    assert a["status"] == 200 and a["json"] == {"user_code": got["user_code"], "approved": True}
    # Then the next poll gets tokens of the approving admin's own account, for the CLI
    r = _poll(call, got["device_code"])
    assert r["status"] == 200, r
    claims = svc.tokens.verify_access(r["json"]["access_token"])
    ana = svc.store.staff.get_by_email(TENANT, ADMIN["email"])
    assert claims.sub == ana.id and claims.role == "admin"
    me = call("GET /auth/me", token=r["json"]["access_token"])["json"]
    assert me["session"]["method"] == "device"
    # And never again
    later(5)
    again = _poll(call, got["device_code"])
    assert again["status"] == 401 and again["json"]["code"] == "invalid_token"


def test_polling_faster_than_the_interval_is_slow_down_and_the_interval_grows(call, seeded, later):
    got = _start(call)
    assert _poll(call, got["device_code"])["json"]["code"] == "authorization_pending"
    later(2)
    r = _poll(call, got["device_code"])
    assert r["status"] == 400 and r["json"]["code"] == "slow_down" and r["json"]["interval"] == 10
    # the old interval is not enough any more: each slow_down adds 5 s more (RFC 8628 §3.5)
    later(6)
    r = _poll(call, got["device_code"])
    assert r["json"]["code"] == "slow_down" and r["json"]["interval"] == 15
    # waiting the interval it was given is
    later(15)
    assert _poll(call, got["device_code"])["json"]["code"] == "authorization_pending"


def test_a_denied_request_is_access_denied(call, seeded, admin, later):
    got = _start(call)
    assert _approve(call, admin, got["user_code"], "deny")["json"]["approved"] is False
    later(5)
    r = _poll(call, got["device_code"])
    assert r["status"] == 400 and r["json"]["code"] == "access_denied"


def test_an_expired_request_is_expired_token_and_can_no_longer_be_approved(call, seeded, admin, later):
    got = _start(call)
    later(601)
    r = _poll(call, got["device_code"])
    assert r["status"] == 400 and r["json"]["code"] == "expired_token"
    assert _approve(call, admin, got["user_code"])["status"] == 404


def test_only_an_admin_approves(call, seeded, tokens_for):
    got = _start(call)
    otto = tokens_for(OPERATOR)["access_token"]
    r = _approve(call, otto, got["user_code"])
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"
    assert _approve(call, None, got["user_code"])["status"] == 401


def test_an_admin_of_another_tenant_cannot_approve_a_request_naming_a_tenant(call, seeded, tokens_for):
    got = _start(call, tenant=TENANT)
    gus = tokens_for({"email": "gus@globex.test", "password": "gus-correct-horse-battery"}, tenant="globex")
    assert _approve(call, gus["access_token"], got["user_code"])["status"] == 404


def test_a_code_is_decided_once(call, seeded, admin, tokens_for):
    got = _start(call)
    assert _approve(call, admin, got["user_code"])["status"] == 200
    assert _approve(call, admin, got["user_code"], "deny")["status"] == 404


def test_wrong_user_codes_count_against_the_admins_rate_limit(call, seeded, admin, monkeypatch):
    import types

    from switchboard.auth import ratelimit

    frozen = time.time() // 60 * 60 + 1
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: frozen))
    answers = [_approve(call, admin, "BBBB-BBBB")["status"] for _ in range(11)]
    assert answers == [404] * 10 + [429]


@pytest.mark.parametrize("spoil", ["secret", "locator", "prefix"])
def test_an_edited_device_code_gets_nothing(call, seeded, admin, spoil, later):
    got = _start(call)
    _approve(call, admin, got["user_code"])
    prefix, locator, secret = got["device_code"].split(".")
    if spoil == "secret":
        secret = secret[:-2] + ("AA" if secret[-2:] != "AA" else "BB")
    elif spoil == "locator":
        locator = locator[:-2] + ("AA" if locator[-2:] != "AA" else "BB")
    else:
        prefix = "sbr1"
    later(5)
    r = _poll(call, f"{prefix}.{locator}.{secret}")
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    # and the real code still works
    assert _poll(call, got["device_code"])["status"] == 200


def test_the_device_code_is_stored_only_as_a_hash(call, seeded, svc):
    got = _start(call)
    secret = got["device_code"].split(".")[2]
    assert secret not in str(svc.store.client.scan(TableName=svc.store.table)["Items"])


def test_a_blocked_approver_gets_the_device_nothing(call, seeded, admin, tokens_for, svc, later):
    # Given a second admin who approves, then is blocked before the CLI polls
    r = call("POST /admin/operators", body={"email": "al@acme.test", "name": "Al", "role": "admin",
                                            "password": "al-correct-horse-battery"}, token=admin)
    al = tokens_for({"email": "al@acme.test", "password": "al-correct-horse-battery"})
    got = _start(call)
    assert _approve(call, al["access_token"], got["user_code"])["status"] == 200
    assert call("PATCH /admin/operators/{id}", path_params={"id": r["json"]["operator"]["id"]},
                body={"blocked": True}, token=admin)["status"] == 200
    later(5)
    r = _poll(call, got["device_code"])
    assert r["status"] == 400 and r["json"]["code"] == "access_denied"


def test_an_unknown_tenant_is_not_found(call, seeded):
    assert call("POST /auth/device", body={"tenant": "nobody"})["status"] == 404
