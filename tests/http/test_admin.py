"""Tenant administration: /admin/operators and /admin/events."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.conftest import ADMIN, OPERATOR, TENANT, dynamodb_as_documented, dynamodb_serialises_writes


def operators(call, admin):
    r = call("GET /admin/operators", token=admin)
    assert r["status"] == 200, r
    return {o["email"]: o for o in r["json"]["operators"]}


def call_path(call, method, operator_id, token, body=None):
    """The call helper addresses routes by key; fill the {id} path parameter ourselves."""
    return call(f"{method} /admin/operators/{{id}}", token=token, body=body, path_params={"id": operator_id})


def test_an_admin_lists_the_tenants_operators_without_secrets(call, admin):
    ops = operators(call, admin)
    assert set(ops) == {ADMIN["email"], OPERATOR["email"]}
    assert set(ops[OPERATOR["email"]]) == {"id", "email", "name", "role", "blocked", "mfa_enabled", "created_at",
                                           "invited", "identities", "max_chats"}
    assert ops[OPERATOR["email"]]["identities"] == ["password"]  # ways in: names only, never a secret
    assert ops[OPERATOR["email"]]["role"] == "operator"


def test_an_operator_without_admin_operators_is_forbidden(call, tokens_for):
    otto = tokens_for(OPERATOR)["access_token"]
    assert call("GET /admin/operators", token=otto)["status"] == 403
    r = call("POST /admin/operators", token=otto, body={"email": "x@acme.test", "name": "X", "password": "p" * 12})
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"


def test_create_with_a_password_then_that_operator_signs_in(call, admin):
    r = call("POST /admin/operators", token=admin,
             body={"email": "Nia@Acme.test", "name": "Nia", "role": "operator", "password": "nia-correct-horse"})
    assert r["status"] == 201 and r["json"]["operator"]["email"] == "nia@acme.test"
    assert "invite_token" not in r["json"]
    signed_in = call("POST /auth/internal", body={"tenant": TENANT, "email": "nia@acme.test",
                                                  "password": "nia-correct-horse"})
    assert signed_in["status"] == 200 and signed_in["json"]["user"]["role"] == "operator"


def test_a_duplicate_email_is_refused_and_changes_nothing(call, admin):
    before = operators(call, admin)
    r = call("POST /admin/operators", token=admin, body={"email": OPERATOR["email"], "name": "Dup",
                                                         "password": "dup-correct-horse"})
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"
    assert operators(call, admin) == before


def invited(call, admin, email="ivy@acme.test", role="operator"):
    r = call("POST /admin/operators", token=admin, body={"email": email, "name": "Ivy", "role": role})
    assert r["status"] == 201, r
    return r["json"]["operator"], r["json"]["invite_token"]


def test_removing_an_invited_operator_removes_the_invitation_and_it_expires_on_its_own(call, admin, svc):
    # Given an invited operator, whose invitation DynamoDB deletes by itself once it lapses
    ivy, invite = invited(call, admin)
    key = {"pk": {"S": f"T#{TENANT}"}, "sk": {"S": f"INV#{ivy['id']}"}}
    stored = svc.store.client.get_item(TableName=svc.store.table, Key=key)["Item"]
    assert int(stored["ttl"]["N"]) == int(stored["expires_at"]["N"]) > time.time()
    # When an admin removes them before they accept
    assert call_path(call, "DELETE", ivy["id"], admin)["status"] in (200, 204)
    # Then the invitation is gone with them, and its token sets no password
    assert "Item" not in svc.store.client.get_item(TableName=svc.store.table, Key=key)
    r = call("POST /auth/invite", body={"invite_token": invite, "password": "ivy-correct-horse"})
    assert r["status"] == 401


def test_blocking_an_operator_revokes_all_their_sessions_at_once(call, admin, tokens_for):
    # Given Otto signed in on two devices
    first, second = tokens_for(OPERATOR), tokens_for(OPERATOR)
    otto = operators(call, admin)[OPERATOR["email"]]
    # When the admin blocks him
    r = call_path(call, "PATCH", otto["id"], admin, {"blocked": True})
    assert r["status"] == 200 and r["json"]["operator"]["blocked"] is True and r["json"]["revoked_sessions"] == 2
    # Then nothing issued to him works, and he cannot sign in again
    for t in (first, second):
        assert call("GET /auth/me", token=t["access_token"])["json"]["code"] == "session_revoked"
        assert call("POST /auth/refresh", body={"refresh_token": t["refresh_token"]})["status"] == 401
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                          "password": OPERATOR["password"]})
    # (answered as a wrong password is: "blocked" would confirm the password - docs/architecture.md)
    assert r["status"] == 401 and r["json"]["code"] == "invalid_credentials" and "access_token" not in r["json"]
    # And unblocked, he can
    call_path(call, "PATCH", otto["id"], admin, {"blocked": False})
    assert tokens_for(OPERATOR)["access_token"]


def test_a_role_change_ends_the_old_sessions_so_new_scopes_apply(call, admin, tokens_for):
    otto_tokens = tokens_for(OPERATOR)
    otto = operators(call, admin)[OPERATOR["email"]]
    r = call_path(call, "PATCH", otto["id"], admin, {"role": "admin"})
    assert r["status"] == 200 and r["json"]["operator"]["role"] == "admin"
    assert call("GET /auth/me", token=otto_tokens["access_token"])["status"] == 401
    me = call("GET /auth/me", token=tokens_for(OPERATOR)["access_token"])["json"]
    assert me["user"]["role"] == "admin" and "admin:operators" in me["scopes"]


def test_an_operator_cannot_promote_themselves_to_admin(call, admin, tokens_for):
    # Given Otto, an operator, signed in
    otto_tokens = tokens_for(OPERATOR)
    before = operators(call, admin)
    # When he changes his own role to admin
    r = call_path(call, "PATCH", otto_tokens["user"]["id"], otto_tokens["access_token"], {"role": "admin"})
    # Then it is forbidden (changing operators needs admin:operators), and nothing changed
    assert r["status"] == 403 and r["json"]["code"] == "forbidden", r
    assert operators(call, admin) == before
    assert call("GET /auth/me", token=otto_tokens["access_token"])["json"]["user"]["role"] == "operator"


def test_an_operator_cannot_remove_a_colleague(call, admin, tokens_for):
    # Given Otto, an operator, and a colleague of his
    r = call("POST /admin/operators", token=admin, body={"email": "bo@acme.test", "name": "Bo", "role": "operator",
                                                         "password": "bo-correct-horse-battery"})
    bo = r["json"]["operator"]
    otto = tokens_for(OPERATOR)["access_token"]
    # When Otto removes the colleague
    r = call_path(call, "DELETE", bo["id"], otto)
    # Then it is forbidden (removing operators needs admin:operators), and the colleague is still there
    assert r["status"] == 403 and r["json"]["code"] == "forbidden", r
    assert operators(call, admin)["bo@acme.test"] == bo


def test_the_last_admin_cannot_be_demoted_blocked_or_removed(call, admin):
    ana = operators(call, admin)[ADMIN["email"]]
    for method, body in (("PATCH", {"role": "operator"}), ("PATCH", {"blocked": True}), ("DELETE", None)):
        r = call_path(call, method, ana["id"], admin, body)
        assert r["status"] == 403 and r["json"]["code"] == "forbidden", (method, body, r)
    assert operators(call, admin)[ADMIN["email"]] == ana


def test_with_a_second_admin_one_may_step_down(call, admin):
    otto = operators(call, admin)[OPERATOR["email"]]
    call_path(call, "PATCH", otto["id"], admin, {"role": "admin"})
    ana = operators(call, admin)[ADMIN["email"]]
    r = call_path(call, "PATCH", ana["id"], admin, {"role": "operator"})
    assert r["status"] == 200


def test_two_admins_demoting_each_other_at_once_leave_one_admin(call, tokens_for):
    # Given two admins, each signed in
    ana_token = tokens_for(ADMIN)["access_token"]
    otto = operators(call, ana_token)[OPERATOR["email"]]
    call_path(call, "PATCH", otto["id"], ana_token, {"role": "admin"})
    otto_token = tokens_for(OPERATOR)["access_token"]
    ana = operators(call, otto_token)[ADMIN["email"]]
    # When each demotes the other at the same moment
    barrier = threading.Barrier(2)
    results: list[int] = []

    def demote(token: str, target: str) -> None:
        barrier.wait()
        results.append(call_path(call, "PATCH", target, token, {"role": "operator"})["status"])

    threads = [threading.Thread(target=demote, args=(ana_token, otto["id"])),
               threading.Thread(target=demote, args=(otto_token, ana["id"]))]
    with dynamodb_serialises_writes():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # Then at most one succeeded, and the tenant still has an active admin
    assert sorted(results).count(200) <= 1
    from switchboard.runtime import services

    admins = [o for o in services().store.staff.of_tenant(TENANT) if o.role == "admin" and not o.blocked]
    assert len(admins) >= 1


def test_removing_an_operator_ends_their_sessions_and_frees_the_email(call, admin, tokens_for):
    otto_tokens = tokens_for(OPERATOR)
    otto = operators(call, admin)[OPERATOR["email"]]
    r = call_path(call, "DELETE", otto["id"], admin)
    assert r["status"] == 200 and r["json"]["removed"] == otto["id"] and r["json"]["revoked_sessions"] == 1
    assert call("GET /auth/me", token=otto_tokens["access_token"])["status"] == 401
    assert OPERATOR["email"] not in operators(call, admin)
    r = call("POST /admin/operators", token=admin, body={"email": OPERATOR["email"], "name": "Otto II",
                                                         "password": "otto-two-password"})
    assert r["status"] == 201


def test_a_removal_is_in_the_audit_events(call, admin, seeded):
    # Given Otto, an operator
    otto = operators(call, admin)[OPERATOR["email"]]
    ana_id = seeded[ADMIN["email"]]["id"]
    # When the admin removes him
    assert call_path(call, "DELETE", otto["id"], admin)["status"] == 200
    # Then the events show who removed whom
    events = call("GET /admin/events", token=admin)["json"]["events"]
    removed = [e for e in events if e["kind"] == "operator_removed"]
    assert [(e["actor"], e["subject"]) for e in removed] == [(ana_id, otto["id"])], events


def test_an_invitation_token_is_never_written_to_the_audit_events(call, admin):
    # Given an admin invites an operator (the answer holds the one-time token, shown once)
    r = call("POST /admin/operators", token=admin, body={"email": "ivy@acme.test", "name": "Ivy", "role": "admin"})
    invite = r["json"]["invite_token"]
    # When the audit events are read (by any admin, for as long as they are kept)
    r = call("GET /admin/events", token=admin, query={"limit": "100"})
    # Then the invitation is recorded, and its token nowhere in them: whoever reads the events
    # could otherwise accept it and become that admin
    assert r["status"] == 200, r
    assert "operator_created" in [e["kind"] for e in r["json"]["events"]]
    assert invite not in json.dumps(r["json"])


def test_an_audit_event_of_a_kind_the_log_does_not_know_is_refused():
    from switchboard.admin import audit

    with pytest.raises(ValueError, match="unknown audit event kind"):
        audit.event(tenant=TENANT, kind="password_chnaged", actor="op-0123456789abcdef")


def test_another_tenants_operator_is_not_found(call, admin, tokens_for):
    gus_token = tokens_for({"email": "gus@globex.test", "password": "gus-correct-horse-battery"}, tenant="globex")
    otto = operators(call, admin)[OPERATOR["email"]]
    for method, body in (("PATCH", {"blocked": True}), ("DELETE", None)):
        r = call_path(call, method, otto["id"], gus_token["access_token"], body)
        assert r["status"] == 404 and r["json"]["code"] == "not_found"
    assert operators(call, admin)[OPERATOR["email"]]["blocked"] is False


@pytest.mark.parametrize("body", [{}, {"role": "visitor"}, {"role": "admin", "extra": 1}, {"blocked": "yes"},
                                  {"name": ""}])
def test_bad_changes_are_400_and_change_nothing(call, admin, body):
    otto = operators(call, admin)[OPERATOR["email"]]
    r = call_path(call, "PATCH", otto["id"], admin, body)
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"
    assert operators(call, admin)[OPERATOR["email"]] == otto


def test_audit_events_newest_first_paginated_with_an_opaque_cursor(call, admin, tokens_for):
    # Given some activity: sign-ins, a failure, an operator change
    tokens_for(OPERATOR)
    call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"], "password": "wrong"})
    otto = operators(call, admin)[OPERATOR["email"]]
    call_path(call, "PATCH", otto["id"], admin, {"name": "Otto O."})
    # When the admin pages through the events three at a time
    seen, cursor = [], None
    for _ in range(10):
        r = call("GET /admin/events", token=admin, query={"limit": "3", **({"cursor": cursor} if cursor else {})})
        assert r["status"] == 200, r
        seen += r["json"]["events"]
        cursor = r["json"]["cursor"]
        if not cursor:
            break
    # Then they come newest first, each once, with the kinds the contract names
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids))
    kinds = [e["kind"] for e in seen]
    assert kinds[0] == "operator_changed"
    assert {"sign_in", "sign_in_failed", "operator_changed"} <= set(kinds)


def test_an_event_is_timed_in_seconds_and_kept_for_the_retention_period(call, admin, svc):
    # Given Otto signing in just now
    before = int(time.time())
    tokens = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                               "password": OPERATOR["password"]})["json"]
    # When the admin reads the newest event
    event = call("GET /admin/events", token=admin, query={"limit": "1"})["json"]["events"][0]
    # Then it is that sign-in, timed in unix seconds
    assert event["kind"] == "sign_in" and event["actor"] == tokens["user"]["id"]
    assert before - 1 <= event["at"] <= time.time() + 1
    # And DynamoDB deletes it only once the tenant's retention period is over
    item = svc.store.client.get_item(TableName=svc.store.table, Key={"pk": {"S": f"T#{TENANT}#EV"},
                                                                     "sk": {"S": event["id"]}})["Item"]
    assert int(item["ttl"]["N"]) == event["at"] + svc.settings.audit_retention_days * 86400


def test_paging_through_the_events_sees_each_once_as_one_long_page_would(call, admin, tokens_for):
    # Given a tenant with more events than one small page holds
    for _ in range(4):
        tokens_for(OPERATOR)
    everything = call("GET /admin/events", token=admin, query={"limit": "100"})["json"]
    assert everything["cursor"] is None and len(everything["events"]) > 4
    # When the admin pages through them two at a time
    seen, cursor, pages = [], None, 0
    while pages < 50:
        r = call("GET /admin/events", token=admin, query={"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert r["status"] == 200, r
        seen += r["json"]["events"]
        pages, cursor = pages + 1, r["json"]["cursor"]
        assert len(r["json"]["events"]) == 2 or cursor is None  # a page is as long as asked
        if cursor is None:
            break
    # Then the pages, in order, are the long page: every event once, newest first
    assert [e["id"] for e in seen] == [e["id"] for e in everything["events"]]


def test_the_last_page_of_events_has_no_cursor_even_when_dynamodb_stopped_at_its_limit(call, admin, tokens_for,
                                                                                         svc):
    # Given some events, and DynamoDB's pagination as documented
    tokens_for(OPERATOR)
    n = len(call("GET /admin/events", token=admin, query={"limit": "100"})["json"]["events"])
    dynamodb_as_documented(svc.store.client)
    # When the admin asks for exactly as many as there are
    r = call("GET /admin/events", token=admin, query={"limit": str(n)})["json"]
    # Then they all come, with no cursor to an empty page
    assert len(r["events"]) == n and r["cursor"] is None
    # And one fewer leaves a cursor to a last page of one, which has none
    first = call("GET /admin/events", token=admin, query={"limit": str(n - 1)})["json"]
    assert len(first["events"]) == n - 1 and first["cursor"]
    last = call("GET /admin/events", token=admin, query={"limit": str(n - 1), "cursor": first["cursor"]})["json"]
    assert len(last["events"]) == 1 and last["cursor"] is None


def test_events_need_admin_sessions_and_stay_in_the_tenant(call, tokens_for):
    otto = tokens_for(OPERATOR)["access_token"]
    assert call("GET /admin/events", token=otto)["status"] == 403
    gus = tokens_for({"email": "gus@globex.test", "password": "gus-correct-horse-battery"}, tenant="globex")
    events = call("GET /admin/events", token=gus["access_token"])["json"]["events"]
    assert events and all(e["actor"] in (None, gus["user"]["id"]) for e in events)


def test_an_admin_whose_admin_sessions_scope_was_revoked_cannot_read_the_events(call, tokens_for):
    # Given Ana, an admin, who revoked admin:sessions from her live sessions
    ana = tokens_for(ADMIN)["access_token"]
    r = call("POST /auth/revoke", token=ana, body={"kind": "scopes", "scopes": ["admin:sessions"]})
    assert r["status"] == 200, r
    # When she reads the audit events
    r = call("GET /admin/events", token=ana)
    # Then it is forbidden, though she still holds admin:operators
    assert r["status"] == 403 and r["json"]["code"] == "forbidden", r
    assert call("GET /admin/operators", token=ana)["status"] == 200
    # While a session that holds admin:sessions (a new sign-in) reads them
    assert call("GET /admin/events", token=tokens_for(ADMIN)["access_token"])["status"] == 200


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"limit": "1.5"},
                                   {"limit": "true"}, {"cursor": "%%%"}, {"cursor": ""}, {"other": "1"},
                                   {"cursor": "eHh4" * 22},  # "xxx" * 22: longer than any event id
                                   {"cursor": "w6k"}])  # "é": not an event id either
def test_bad_event_queries_are_400(call, admin, query):
    r = call("GET /admin/events", token=admin, query=query)
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"


def test_staff_see_their_tenants_active_colleagues_by_name_for_team_channels(call, admin, tokens_for):
    # Given an operator of acme, a blocked colleague and an invited one who never signed up
    otto = tokens_for(OPERATOR)["access_token"]
    call("POST /admin/operators", token=admin, body={"email": "ivy@acme.test", "name": "Ivy", "role": "operator"})
    r = call("POST /admin/operators", token=admin, body={"email": "bo@acme.test", "name": "Bo", "role": "operator",
                                                         "password": "bo-correct-horse-battery"})
    call_path(call, "PATCH", r["json"]["operator"]["id"], admin, {"blocked": True})
    # When the operator asks for the staff directory
    r = call("GET /staff", token=otto)
    # Then they get the tenant's active operators and admins, by id, name and role, with what the
    # transfer picker needs (presence and load: tests/http/test_staff_directory.py) - no email
    assert r["status"] == 200, r
    assert [(s["name"], s["role"]) for s in r["json"]["staff"]] == [("Ana", "admin"), ("Otto", "operator")]
    assert all(set(s) == {"id", "name", "role", "status", "max_chats", "open_chats"} for s in r["json"]["staff"])


def test_the_staff_directory_is_for_staff_of_the_tenant(call, tokens_for):
    from tests.chat_support import visitor_tokens

    visitor = visitor_tokens(call)["access_token"]
    r = call("GET /staff", token=visitor)
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"
    assert call("GET /staff")["status"] == 401
    gus = tokens_for({"email": "gus@globex.test", "password": "gus-correct-horse-battery"}, tenant="globex")
    assert [s["name"] for s in call("GET /staff", token=gus["access_token"])["json"]["staff"]] == ["Gus"]


def test_an_admin_resets_an_operators_second_factor_and_every_session_of_theirs_ends(call, admin, tokens_for):
    import pyotp

    # Given Otto signed in, with MFA on (an authenticator he has lost, or one someone else enrolled)
    tokens = tokens_for(OPERATOR)
    secret = call("POST /auth/totp/enroll", token=tokens["access_token"])["json"]["secret"]
    on = call("POST /auth/totp/confirm", token=tokens["access_token"], body={"code": pyotp.TOTP(secret).now()})
    assert on["status"] == 200, on
    sign_in = {"tenant": TENANT, "email": OPERATOR["email"], "password": OPERATOR["password"]}
    assert call("POST /auth/internal", body=sign_in)["json"]["code"] == "mfa_required"
    otto = operators(call, admin)[OPERATOR["email"]]
    # When the admin resets it
    r = call_path(call, "PATCH", otto["id"], admin, {"mfa_enabled": False})
    # Then it is off, his session is over, and his password alone signs him in again (to enrol anew)
    assert r["status"] == 200 and r["json"]["operator"]["mfa_enabled"] is False, r
    assert r["json"]["revoked_sessions"] == 1
    assert operators(call, admin)[OPERATOR["email"]]["mfa_enabled"] is False
    assert call("GET /auth/me", token=tokens["access_token"])["json"]["code"] == "session_revoked"
    assert call("POST /auth/internal", body=sign_in)["status"] == 200
    # And the audit log says who did it to whom
    events = call("GET /admin/events", token=admin)["json"]["events"]
    reset = [e for e in events if e["kind"] == "mfa_disabled"]
    assert len(reset) == 1 and reset[0]["subject"] == otto["id"] and reset[0]["actor"] != otto["id"]


def test_nobody_turns_a_second_factor_on_for_someone_else_nor_off_for_themselves_without_a_code(call, admin, svc,
                                                                                                 tokens_for):
    otto = operators(call, admin)[OPERATOR["email"]]
    ana_id = svc.store.staff.get_by_email(TENANT, ADMIN["email"]).id
    # An admin cannot turn it on for someone (enrolment needs their authenticator)
    assert call_path(call, "PATCH", otto["id"], admin, {"mfa_enabled": True})["status"] == 400
    # nor off for herself this way (that takes a current code: POST /auth/totp/disable)
    own = call_path(call, "PATCH", ana_id, admin, {"mfa_enabled": False})
    assert own["status"] == 403 and own["json"]["code"] == "forbidden"
    # and an operator cannot reset anyone's
    operator = tokens_for(OPERATOR)["access_token"]
    assert call_path(call, "PATCH", ana_id, operator, {"mfa_enabled": False})["status"] == 403
    # none of which ended a session
    assert call("GET /auth/me", token=operator)["status"] == 200 and call("GET /auth/me", token=admin)["status"] == 200


def test_a_reset_leaves_no_gap_for_a_stolen_token_to_enrol_its_own_authenticator_again(call, admin, tokens_for,
                                                                                          svc, monkeypatch):
    import pyotp

    # Given Otto's MFA on with an authenticator someone enrolled with his stolen access token
    stolen = tokens_for(OPERATOR)
    secret = call("POST /auth/totp/enroll", token=stolen["access_token"])["json"]["secret"]
    call("POST /auth/totp/confirm", token=stolen["access_token"], body={"code": pyotp.TOTP(secret).now()})
    otto = operators(call, admin)[OPERATOR["email"]]
    # and the thief trying again at the worst moment: the instant the old secret is gone
    real_disable, tried = svc.store.staff.disable_totp, []

    def disable_then_try(tenant, user_id):
        real_disable(tenant, user_id)
        again = call("POST /auth/totp/enroll", token=stolen["access_token"])
        tried.append(again["status"])
        if again["status"] == 200:
            code = pyotp.TOTP(again["json"]["secret"]).now()
            call("POST /auth/totp/confirm", token=stolen["access_token"], body={"code": code})

    monkeypatch.setattr(svc.store.staff, "disable_totp", disable_then_try)
    # When the admin resets Otto's second factor
    r = call_path(call, "PATCH", otto["id"], admin, {"mfa_enabled": False})
    # Then the stolen token was already dead when the secret went, and MFA is off for good
    assert r["status"] == 200 and tried == [401], (r, tried)
    assert svc.store.staff.get(TENANT, otto["id"]).totp_enabled is False


def test_resetting_the_second_factor_of_an_operator_without_one_changes_nothing(call, admin, tokens_for):
    # Given Otto signed in, with no second factor
    tokens = tokens_for(OPERATOR)
    otto = operators(call, admin)[OPERATOR["email"]]
    # When an admin resets it all the same
    r = call_path(call, "PATCH", otto["id"], admin, {"mfa_enabled": False})
    # Then it is off, as it was: his session lives on, and nothing is logged as disabled
    assert r["status"] == 200 and r["json"]["revoked_sessions"] == 0 and r["json"]["operator"]["mfa_enabled"] is False
    assert call("GET /auth/me", token=tokens["access_token"])["status"] == 200
    events = call("GET /admin/events", token=admin)["json"]["events"]
    assert [e for e in events if e["kind"] == "mfa_disabled"] == []


def test_a_reset_racing_the_operators_own_confirmation_resets_the_factor_just_turned_on(call, admin, tokens_for,
                                                                                       svc, monkeypatch):
    import pyotp

    # Given Otto enrolling (not confirmed yet) when the admin asks for a reset
    tokens = tokens_for(OPERATOR)
    secret = call("POST /auth/totp/enroll", token=tokens["access_token"])["json"]["secret"]
    otto = operators(call, admin)[OPERATOR["email"]]
    real = svc.store.staff.drop_pending_totp

    def confirmed_first(tenant, user_id):  # Otto's confirm lands between the reset's read and its write
        r = call("POST /auth/totp/confirm", token=tokens["access_token"], body={"code": pyotp.TOTP(secret).now()})
        assert r["status"] == 200, r
        return real(tenant, user_id)

    monkeypatch.setattr(svc.store.staff, "drop_pending_totp", confirmed_first)
    # When the reset finishes
    r = call_path(call, "PATCH", otto["id"], admin, {"mfa_enabled": False})
    # Then it reset the factor that went on meanwhile, as a reset of one: off, his session over, audited
    assert r["status"] == 200 and r["json"]["revoked_sessions"] == 1, r
    assert svc.store.staff.get(TENANT, otto["id"]).totp_enabled is False
    events = call("GET /admin/events", token=admin)["json"]["events"]
    assert [e["subject"] for e in events if e["kind"] == "mfa_disabled"] == [otto["id"]]
