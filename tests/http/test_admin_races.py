"""An operator's access follows their record, whatever fails or races: a block, a role change
or a removal whose revocation failed is finished by the retry and by the next refresh; a
sign-in that races a block or a password change opens no session; concurrent changes never
write back what they did not change; an invited admin who never signed up is no admin yet.

(Found by a review; each test failed before its fix.)
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import ADMIN, OPERATOR, TENANT
from tests.http.test_admin import call_path
from tests.http.test_admin import operators as staff


def patch(call, admin, operator_id, body):
    return call_path(call, "PATCH", operator_id, admin, body)


def delete(call, admin, operator_id):
    return call_path(call, "DELETE", operator_id, admin)


def live(call, tokens):
    return call("GET /auth/me", token=tokens["access_token"])["status"] == 200


@pytest.fixture
def revocation_fails_once(svc, monkeypatch):
    """DynamoDB throttles the first revocation (the request answers 503 after its change)."""
    from switchboard.errors import Unavailable

    revoke, left = svc.store.sessions.revoke, [1]

    def flaky(*args, **kwargs):
        if left[0]:
            left[0] -= 1
            raise Unavailable("storage unavailable")
        return revoke(*args, **kwargs)

    monkeypatch.setattr(svc.store.sessions, "revoke", flaky)


def test_a_block_retried_after_its_revocation_failed_ends_the_sessions(call, admin, tokens_for,
                                                                        revocation_fails_once):
    # Given Otto signed in, and an admin's block whose revocation fails (503) after the block was written
    otto = tokens_for(OPERATOR)
    otto_id = otto["user"]["id"]
    assert patch(call, admin, otto_id, {"blocked": True})["status"] == 503
    # When the admin retries, as a 503 asks
    retry = patch(call, admin, otto_id, {"blocked": True})
    # Then the retry ends the session the first try left, and it is over everywhere
    assert retry["status"] == 200 and retry["json"]["revoked_sessions"] == 1
    assert not live(call, otto)
    assert call("POST /auth/refresh", body={"refresh_token": otto["refresh_token"]})["status"] == 401


def test_a_removal_retried_after_its_revocation_failed_ends_the_sessions(call, admin, tokens_for,
                                                                          revocation_fails_once):
    otto = tokens_for(OPERATOR)
    assert delete(call, admin, otto["user"]["id"])["status"] == 503
    # the retry finds the operator gone (404) and still ends what the first try left
    assert delete(call, admin, otto["user"]["id"])["status"] == 404
    assert not live(call, otto)
    assert call("POST /auth/refresh", body={"refresh_token": otto["refresh_token"]})["status"] == 401


@pytest.mark.parametrize("change", ["blocked", "demoted", "removed"])
def test_a_session_is_not_renewed_once_its_operator_changed_even_if_nobody_ended_it(call, svc, tokens_for, change):
    # Given an admin's session, and a change to their record that ended no session (a failed
    # revocation that was never retried)
    ana = tokens_for(ADMIN)
    other = tokens_for(OPERATOR)  # a second admin, so the tenant keeps one
    svc.store.staff.update(svc.store.staff.get(TENANT, other["user"]["id"]), role="admin")
    op = svc.store.staff.get(TENANT, ana["user"]["id"])
    if change == "removed":
        svc.store.staff.delete(op)
    else:
        svc.store.staff.update(op, **({"blocked": True} if change == "blocked" else {"role": "operator"}))
    assert live(call, ana)  # the access token lives on its session until...
    # When the session is refreshed
    r = call("POST /auth/refresh", body={"refresh_token": ana["refresh_token"]})
    # Then it is refused and the session is ended with it: the access token stops working too
    assert r["status"] == 401 and r["json"]["code"] == "session_revoked", r
    assert not live(call, ana)


def test_an_operators_refresh_checks_the_record_in_the_same_transaction(call, tokens_for, svc):
    # (one round trip: the check is an item of the rotation's transaction, not another read)
    from tests.chat_support import CallLog

    otto = tokens_for(OPERATOR)
    with CallLog().counting(svc.store.client) as log:
        assert call("POST /auth/refresh", body={"refresh_token": otto["refresh_token"]})["status"] == 200
    # the two rate-limit counters, the session, the transaction (with the operator's check in it)
    assert sorted(log.names()) == ["GetItem", "TransactWriteItems", "UpdateItem", "UpdateItem"], log.names()


@pytest.mark.parametrize("change", ["blocked", "password"])
def test_a_sign_in_racing_a_block_or_a_password_change_opens_no_session(call, admin, svc, monkeypatch, change):
    from switchboard.auth import passwords

    verify, otto_id = passwords.verify_password, svc.store.staff.get_by_email(TENANT, OPERATOR["email"]).id

    def verify_then_change(stored, password):
        # the admin's block, or Otto's password change elsewhere, lands during this argon2 check
        ok = verify(stored, password)
        monkeypatch.setattr(passwords, "verify_password", verify)
        if change == "blocked":
            assert patch(call, admin, otto_id, {"blocked": True})["status"] == 200
        else:
            svc.store.staff.set_password_hash(TENANT, otto_id, passwords.hash_password("a-brand-new-password"))
        return ok

    monkeypatch.setattr(passwords, "verify_password", verify_then_change)
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                          "password": OPERATOR["password"]})
    # Then the sign-in is refused as things now are, and no session of Otto's is live
    # (a block answers as a wrong password does: "blocked" would confirm the password)
    assert (r["status"], r["json"]["code"]) == (401, "invalid_credentials"), r
    assert not [s for s in svc.store.sessions.of_user(TENANT, otto_id) if s.is_live(int(time.time()))]


@pytest.mark.parametrize("this_one_rehashes", [False, True])
def test_a_sign_in_racing_another_devices_rehashing_sign_in_still_signs_in(call, seeded, svc, monkeypatch,
                                                                          this_one_rehashes):
    # Given the argon2 parameters were raised (every stored hash is due for a rehash, or - the
    # other case - only the other sign-in's), and another device signs in during this one's check
    from switchboard.auth import logins, passwords

    verify, otto_id = passwords.verify_password, svc.store.staff.get_by_email(TENANT, OPERATOR["email"]).id
    if this_one_rehashes:
        monkeypatch.setattr(logins.passwords, "needs_rehash", lambda stored: True)

    def verify_while_the_other_device_rehashes(stored, password):
        ok = verify(stored, password)
        monkeypatch.setattr(passwords, "verify_password", verify)
        svc.store.staff.set_password_hash(TENANT, otto_id, passwords.hash_password(password), replacing=stored)
        return ok

    monkeypatch.setattr(passwords, "verify_password", verify_while_the_other_device_rehashes)
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                          "password": OPERATOR["password"]})
    # Then the correct password still signs in (checked again against the hash as it is now)
    assert r["status"] == 200, r
    assert live(call, r["json"])


def test_a_blocked_operators_session_opens_no_new_socket_even_if_nobody_ended_it(call, chat, svc, tokens_for):
    from tests.chat_support import Refused

    otto = tokens_for(OPERATOR)
    chat.connect(otto).disconnect()  # connects while the record is as signed in
    svc.store.staff.update(svc.store.staff.get(TENANT, otto["user"]["id"]), blocked=True)  # no revocation
    with pytest.raises(Refused) as refused:
        chat.connect(otto)
    assert refused.value.status == 401


def interleaved(svc, monkeypatch, other_changes):
    """The next update_operator runs ``other_changes`` between its read and its write."""
    update = svc.store.staff.update

    def first_the_others(read, **changes):
        monkeypatch.setattr(svc.store.staff, "update", update)
        other_changes()
        return update(read, **changes)

    monkeypatch.setattr(svc.store.staff, "update", first_the_others)


def test_a_rename_racing_a_block_keeps_the_block(call, admin, svc, monkeypatch):
    otto = staff(call, admin)[OPERATOR["email"]]
    interleaved(svc, monkeypatch, lambda: patch(call, admin, otto["id"], {"blocked": True}))
    assert patch(call, admin, otto["id"], {"name": "Otto Renamed"})["status"] == 200
    now = staff(call, admin)[OPERATOR["email"]]
    assert (now["name"], now["blocked"]) == ("Otto Renamed", True)


def otto_promoted_and_ana_stepping_down_meanwhile(call, admin, svc, monkeypatch):
    """Otto's id; the next operator update reads first, then Otto is promoted and Ana steps down."""
    listed = staff(call, admin)
    otto, ana = listed[OPERATOR["email"]], listed[ADMIN["email"]]

    def promote_otto_then_ana_steps_down():
        assert patch(call, admin, otto["id"], {"role": "admin"})["status"] == 200
        assert patch(call, admin, ana["id"], {"role": "operator"})["status"] == 200

    interleaved(svc, monkeypatch, promote_otto_then_ana_steps_down)
    return otto["id"]


def test_a_stale_rename_cannot_undo_a_promotion_and_leave_no_admin(call, admin, svc, monkeypatch):
    otto_id = otto_promoted_and_ana_stepping_down_meanwhile(call, admin, svc, monkeypatch)
    assert patch(call, admin, otto_id, {"name": "Otto R."})["status"] == 200
    assert [o.name for o in svc.store.staff.of_tenant(TENANT) if o.role == "admin" and not o.blocked] == ["Otto R."]


def test_a_block_decided_on_a_stale_read_is_decided_again(call, admin, svc, monkeypatch):
    # Given an admin blocking Otto (an operator, as read) while Otto is promoted and Ana steps down
    otto_id = otto_promoted_and_ana_stepping_down_meanwhile(call, admin, svc, monkeypatch)
    r = patch(call, admin, otto_id, {"blocked": True})
    # Then the write finds Otto changed, reads again, and refuses: Otto is now the last admin
    assert r["status"] == 403 and "last active admin" in r["json"]["detail"], r
    assert svc.store.staff.get(TENANT, otto_id).blocked is False


def test_an_invited_admin_who_never_signed_up_is_not_the_other_admin(call, admin):
    # Given the only admin invites another admin (who has not set a password yet)
    r = call("POST /admin/operators", token=admin, body={"email": "ivy@acme.test", "name": "Ivy", "role": "admin"})
    assert r["status"] == 201 and r["json"]["operator"]["invited"] is True
    ana = staff(call, admin)[ADMIN["email"]]
    # When the admin steps down, is blocked or removed, it is refused: the invitation may lapse
    for request in ({"role": "operator"}, {"blocked": True}):
        r = patch(call, admin, ana["id"], request)
        assert r["status"] == 403 and "last active admin" in r["json"]["detail"], r
    assert delete(call, admin, ana["id"])["status"] == 403


def active_admins(svc):
    return [o.name for o in svc.store.staff.of_tenant(TENANT) if o.role == "admin" and o.active]


def test_an_admin_steps_down_only_if_the_admin_kept_can_still_sign_in_when_written(call, admin, svc,
                                                                                  monkeypatch):
    # Given Ana and Ivy, both admins as Ana's step-down reads them - but by its write Ivy's record
    # is an invitation with no password set (one that may lapse: nobody could administer the tenant)
    from msgspec.structs import replace

    r = call("POST /admin/operators", token=admin, body={"email": "ivy@acme.test", "name": "Ivy", "role": "admin",
                                                         "password": "ivy-correct-horse-battery"})
    ivy_id = r["json"]["operator"]["id"]
    ana = staff(call, admin)[ADMIN["email"]]
    interleaved(svc, monkeypatch, lambda: svc.store.staff.put(
        replace(svc.store.staff.get(TENANT, ivy_id), password_hash=None)))
    # When Ana steps down
    r = patch(call, admin, ana["id"], {"role": "operator"})
    # Then the write's own check refuses it: the tenant keeps Ana, its one admin who can act
    assert r["status"] == 403 and "last active admin" in r["json"]["detail"], r
    assert active_admins(svc) == ["Ana"]


def test_an_admin_stepping_down_while_the_other_admin_is_blocked_leaves_an_active_admin(call, admin, tokens_for,
                                                                                       svc, monkeypatch):
    # Given two admins, Ana and Otto
    ana = staff(call, admin)[ADMIN["email"]]
    otto = staff(call, admin)[OPERATOR["email"]]
    assert patch(call, admin, otto["id"], {"role": "admin"})["status"] == 200
    otto_token = tokens_for(OPERATOR)["access_token"]

    def otto_blocks_ana():
        assert patch(call, otto_token, ana["id"], {"blocked": True})["status"] == 200

    # When Otto steps down and, at the same moment (another tab), blocks Ana - the block landing
    # between his step-down's read and its write
    interleaved(svc, monkeypatch, otto_blocks_ana)
    r = patch(call, otto_token, otto["id"], {"role": "operator"})
    # Then the step-down is refused: the admin it counted on is blocked now
    assert r["status"] == 403 and "last active admin" in r["json"]["detail"], r
    # And the tenant keeps an active admin
    assert active_admins(svc) == ["Otto"]


def test_a_role_change_decided_before_a_block_is_not_written_over_the_block(svc, seeded):
    from switchboard.errors import StandingChanged

    # Given an admin's read of Otto (not blocked), and another admin blocking him meanwhile
    read = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    svc.store.staff.update(read, blocked=True)
    # When the promotion decided on that read is written
    with pytest.raises(StandingChanged):
        svc.store.staff.update(read, role="admin")
    # Then Otto stays a blocked operator: the decision is made again on what he is now
    now = svc.store.staff.get(TENANT, read.id)
    assert (now.role, now.blocked) == ("operator", True)


def test_a_password_change_for_an_operator_removed_meanwhile_does_not_bring_them_back(svc, seeded):
    from switchboard.errors import NotFound

    # Given Otto, removed by an admin while he was changing his password
    otto = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    svc.store.staff.delete(otto)
    # When the new password hash is written
    with pytest.raises(NotFound):
        svc.store.staff.set_password_hash(TENANT, otto.id, "$argon2id$new")
    # Then no operator record is made up from it
    key = {"pk": {"S": f"T#{TENANT}"}, "sk": {"S": f"OP#{otto.id}"}}
    assert "Item" not in svc.store.client.get_item(TableName=svc.store.table, Key=key)


def test_a_stale_removal_does_not_take_the_email_from_the_operator_who_has_it_now(svc, seeded):
    from switchboard.errors import Conflict
    from switchboard.models import Operator

    # Given Otto removed, and his email given to a new operator since
    otto = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    svc.store.staff.delete(otto)
    svc.store.staff.create(Operator(tenant=TENANT, id="op-newcomer", email=OPERATOR["email"], name="New",
                                       role="operator", password_hash=None))
    # When a second removal decided on the old read of Otto is written
    with pytest.raises(Conflict):
        svc.store.staff.delete(otto)
    # Then the newcomer keeps the email (and can be found by it at sign-in)
    assert svc.store.staff.get_by_email(TENANT, OPERATOR["email"]).id == "op-newcomer"
