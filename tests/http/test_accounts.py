"""An operator's own account: accepting an invitation (POST /auth/invite) and changing
one's password. Inviting is the admin's (tests/http/test_admin.py)."""

from __future__ import annotations

import time

from tests.conftest import OPERATOR, TENANT
from tests.http.test_admin import call_path, invited


def test_an_invitation_is_a_one_time_token_to_set_a_password(call, admin):
    # Given an invited operator
    r = call("POST /admin/operators", token=admin, body={"email": "ivy@acme.test", "name": "Ivy", "role": "admin"})
    assert r["status"] == 201 and r["json"]["operator"]["invited"] is True
    invite = r["json"]["invite_token"]
    # Then they cannot sign in before accepting
    assert call("POST /auth/internal", body={"tenant": TENANT, "email": "ivy@acme.test",
                                             "password": "anything-at-all"})["status"] == 401
    # When they accept with a password, they are signed in
    r = call("POST /auth/invite", body={"invite_token": invite, "password": "ivy-correct-horse"})
    assert r["status"] == 200 and r["json"]["user"]["role"] == "admin"
    # And the invitation cannot be used twice
    r = call("POST /auth/invite", body={"invite_token": invite, "password": "mallory-password"})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert call("POST /auth/internal", body={"tenant": TENANT, "email": "ivy@acme.test",
                                             "password": "ivy-correct-horse"})["status"] == 200


def test_an_invitation_token_naming_the_invitee_with_another_secret_is_refused(call, admin):
    # Given an invited operator (their id is no secret: admins list it, team channels show it)
    _, invite = invited(call, admin)
    prefix, locator, secret = invite.split(".")
    forged = f"{prefix}.{locator}.{'A' * len(secret)}"
    # When someone presents a token with the invitee's locator but a secret of their own
    r = call("POST /auth/invite", body={"invite_token": forged, "password": "mallory-password-1"})
    # Then it is refused, no password is set, and the real invitation still works
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert call("POST /auth/internal", body={"tenant": TENANT, "email": "ivy@acme.test",
                                             "password": "mallory-password-1"})["status"] == 401
    r = call("POST /auth/invite", body={"invite_token": invite, "password": "ivy-correct-horse"})
    assert r["status"] == 200, r


def test_an_invitation_expires_after_seven_days(call, admin, monkeypatch):
    import types

    from switchboard.auth import accounts

    # Given an invitation issued now
    _, invite = invited(call, admin)
    # When it is accepted a second after its seven days are over
    later = time.time() + accounts.INVITE_SECONDS + 1
    monkeypatch.setattr(accounts, "time", types.SimpleNamespace(time=lambda: later))
    r = call("POST /auth/invite", body={"invite_token": invite, "password": "ivy-correct-horse"})
    # Then it is refused, and the password was not set
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    monkeypatch.undo()
    assert call("POST /auth/internal", body={"tenant": TENANT, "email": "ivy@acme.test",
                                             "password": "ivy-correct-horse"})["status"] == 401


def test_a_blocked_invitee_cannot_set_a_password_and_the_invitation_waits(call, admin):
    # Given an invited operator whom an admin blocked before they accepted
    ivy, invite = invited(call, admin)
    assert call_path(call, "PATCH", ivy["id"], admin, {"blocked": True})["status"] == 200
    # When they accept the invitation
    r = call("POST /auth/invite", body={"invite_token": invite, "password": "ivy-blocked-horse"})
    # Then it is refused and changes nothing: no password was set, the invitation is not spent
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert call_path(call, "PATCH", ivy["id"], admin, {"blocked": False})["status"] == 200
    assert call("POST /auth/internal", body={"tenant": TENANT, "email": "ivy@acme.test",
                                             "password": "ivy-blocked-horse"})["status"] == 401
    r = call("POST /auth/invite", body={"invite_token": invite, "password": "ivy-correct-horse"})
    assert r["status"] == 200, r


def test_an_invitee_blocked_the_moment_their_password_is_set_gets_no_session(call, admin, svc, monkeypatch):
    # Given an invited operator, whom an admin blocks just after the invitation is accepted and
    # before the sign-in that follows it is written
    ivy, invite = invited(call, admin)
    read = svc.store.staff.get

    def read_then_block(tenant_id, user_id):
        op = read(tenant_id, user_id)
        if op is not None and op.id == ivy["id"] and not op.blocked:
            svc.store.staff.update(op, blocked=True)
        return op

    monkeypatch.setattr(svc.store.staff, "get", read_then_block)
    # When the acceptance goes on to sign them in
    r = call("POST /auth/invite", body={"invite_token": invite, "password": "ivy-correct-horse"})
    # Then they get no tokens: the invitation is refused like a used one, not a crash
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token", r
    assert not any(s.is_live(int(time.time())) for s in svc.store.sessions.of_user(TENANT, ivy["id"]))


def test_accepting_an_invitation_is_in_the_audit_events(call, admin):
    # Given an invited operator who accepts
    ivy, invite = invited(call, admin)
    assert call("POST /auth/invite", body={"invite_token": invite, "password": "ivy-correct-horse"})["status"] == 200
    # When the admin reads the events
    events = call("GET /admin/events", token=admin, query={"limit": "100"})["json"]["events"]
    # Then the password set through the invitation is there, by the invitee, before their sign-in
    kinds = [(e["kind"], e["subject"], e["detail"]) for e in events if e["actor"] == ivy["id"]]
    assert ("password_changed", ivy["id"], {"invitation": True}) in kinds


def test_changing_ones_password_ends_the_other_sessions(call, tokens_for):
    first, second = tokens_for(OPERATOR), tokens_for(OPERATOR)
    r = call("POST /auth/password", token=second["access_token"],
             body={"current_password": "wrong", "new_password": "otto-new-password"})
    assert r["status"] == 401
    r = call("POST /auth/password", token=second["access_token"],
             body={"current_password": OPERATOR["password"], "new_password": "otto-new-password"})
    assert r["status"] == 200 and r["json"] == {"changed": True, "revoked_sessions": 1}
    assert call("GET /auth/me", token=first["access_token"])["status"] == 401
    assert call("GET /auth/me", token=second["access_token"])["status"] == 200
    assert tokens_for({"email": OPERATOR["email"], "password": "otto-new-password"})


def test_a_password_change_is_in_the_audit_events(call, admin, tokens_for):
    # Given Otto on two devices, who changes his password on the second
    first, second = tokens_for(OPERATOR), tokens_for(OPERATOR)
    r = call("POST /auth/password", token=second["access_token"],
             body={"current_password": OPERATOR["password"], "new_password": "otto-new-password"})
    assert r["status"] == 200, r
    # When the admin reads the events
    events = call("GET /admin/events", token=admin, query={"limit": "100"})["json"]["events"]
    # Then the change is there: by Otto, from that session, with the sessions it ended
    changed = [e for e in events if e["kind"] == "password_changed"]
    assert len(changed) == 1, changed
    assert changed[0]["actor"] == changed[0]["subject"] == first["user"]["id"]
    assert changed[0]["detail"] == {"revoked_sessions": 1}
    assert changed[0]["session_id"] == call("GET /auth/me", token=second["access_token"])["json"]["session"]["id"]


def test_a_visitor_has_no_password_to_change(call, seeded):
    from tests.chat_support import visitor_tokens

    # Given a signed-in visitor
    visitor = visitor_tokens(call)["access_token"]
    # When they try to change a password
    r = call("POST /auth/password", token=visitor,
             body={"current_password": "anything", "new_password": "a-new-password"})
    # Then it is forbidden outright (not a wrong-password answer to keep guessing at)
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"


