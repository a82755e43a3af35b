"""POST /auth/internal - operators and admins with argon2id passwords."""

from __future__ import annotations

from unittest import mock

from msgspec.structs import replace
from switchboard.auth import passwords

from tests.conftest import ADMIN, OPERATOR, TENANT


def login(call, email, password, tenant=TENANT):
    return call("POST /auth/internal", body={"tenant": tenant, "email": email, "password": password})


def test_operator_signs_in_with_operator_scopes(call, seeded, svc):
    r = login(call, OPERATOR["email"], OPERATOR["password"])
    assert r["status"] == 200, r
    assert r["json"]["user"]["role"] == "operator" and r["json"]["user"]["level"] == 2
    claims = svc.tokens.verify_access(r["json"]["access_token"])
    assert claims.scopes == {"chat:read", "chat:write", "chat:attach", "chat:assign", "team:chat"}
    # namespaced custom claims from post-login
    ns = svc.settings.claims_namespace
    assert claims.custom[f"{ns}/tenant"] == TENANT and claims.custom[f"{ns}/role"] == "operator"


def test_email_is_case_insensitive(call, seeded):
    assert login(call, ADMIN["email"].upper(), ADMIN["password"])["status"] == 200


def test_unknown_email_and_wrong_password_look_the_same(call, seeded):
    wrong_pw = login(call, ADMIN["email"], "not-the-password")
    unknown = login(call, "nobody@acme.test", ADMIN["password"])
    unknown_tenant = login(call, ADMIN["email"], ADMIN["password"], tenant="nope")
    for r in (wrong_pw, unknown, unknown_tenant):
        assert r["status"] == 401
    strip = lambda r: {k: v for k, v in r["json"].items()}  # noqa: E731
    assert strip(wrong_pw) == strip(unknown) == strip(unknown_tenant)
    assert wrong_pw["json"]["code"] == "invalid_credentials"


def test_unknown_email_costs_one_argon2_verification_like_a_wrong_password(call, seeded):
    # Same cost: both paths run exactly one argon2 verify (against a dummy hash when unknown)
    counts = []
    for email, pw in ((ADMIN["email"], "wrong-password"), ("nobody@acme.test", "wrong-password")):
        spy = mock.Mock(wraps=passwords._HASHER)
        with mock.patch.object(passwords, "_HASHER", spy):
            login(call, email, pw)
        counts.append(spy.verify.call_count)
    assert counts == [1, 1]


def test_blocked_operator_cannot_sign_in(call, seeded, svc):
    # Given a blocked operator
    op = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    svc.store.staff.put(replace(op, blocked=True))
    # When someone tries their correct password, and a wrong one
    right = login(call, OPERATOR["email"], OPERATOR["password"])
    wrong = login(call, OPERATOR["email"], "not-the-password")
    # Then both get the same answer: no tokens, and nothing that confirms the right password
    assert right["status"] == 401 and right["json"]["code"] == "invalid_credentials"
    assert "access_token" not in right["json"]
    assert (right["status"], right["json"], right["headers"]) == (wrong["status"], wrong["json"], wrong["headers"])
    # And the admin can tell the two apart in the audit log
    reasons = [e.detail.get("reason") for e in svc.store.events.page(TENANT, limit=10)[0]
               if e.kind == "sign_in_failed"]
    assert sorted(reasons) == ["blocked", "invalid_credentials"]


def test_old_parameters_are_rehashed_on_login(call, seeded, svc):
    # Given an operator whose hash was made with weaker (older) argon2 parameters
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(OPERATOR["password"])
    op = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    svc.store.staff.set_password_hash(TENANT, op.id, weak)
    # When they sign in
    assert login(call, OPERATOR["email"], OPERATOR["password"])["status"] == 200
    # Then the stored hash uses today's parameters (and still verifies)
    stored = svc.store.staff.get(TENANT, op.id).password_hash
    assert stored != weak and not passwords.needs_rehash(stored)
    assert "m=19456,t=2,p=1" in stored
    assert passwords.verify_password(stored, OPERATOR["password"])


def test_operator_of_one_tenant_cannot_sign_in_to_another(call, seeded):
    assert login(call, ADMIN["email"], ADMIN["password"], tenant="globex")["status"] == 401


def test_failed_sign_in_is_audited(call, seeded, svc):
    login(call, ADMIN["email"], "wrong-password-123")
    events, _ = svc.store.events.page(TENANT, limit=5)
    assert events[0].kind == "sign_in_failed" and events[0].detail["reason"] == "invalid_credentials"
    assert "wrong-password-123" not in repr(events)


def test_the_dummy_hash_is_made_with_todays_parameters():
    from switchboard.auth import passwords

    assert not passwords.needs_rehash(passwords.DUMMY_HASH)


def test_unknown_email_and_wrong_password_make_the_same_dynamodb_reads(call, seeded, svc):
    # Given a count of the DynamoDB calls each failed sign-in makes
    import collections

    def reads_for(email: str) -> collections.Counter:
        seen: collections.Counter = collections.Counter()

        def count(model, **_):
            seen.update([model.name])

        svc.store.client.meta.events.register("before-call.dynamodb", count)
        call("POST /auth/internal", body={"tenant": TENANT, "email": email, "password": "wrong-password"},
             source_ip=f"192.0.2.{len(email)}")
        svc.store.client.meta.events.unregister("before-call.dynamodb", count)
        return seen

    svc.tenants.get(TENANT)  # the tenant is cached per container either way

    # Then an unknown email and a known one with a wrong password look the same to a stopwatch
    assert reads_for("nobody@acme.test") == reads_for(OPERATOR["email"])


def test_no_record_that_holds_a_secret_shows_it_in_its_repr(call, seeded, svc):
    # Records end up in log lines and tracebacks through repr(): theirs leave the secrets out
    from switchboard.auth import sessions
    from switchboard.auth.postlogin import Principal
    from switchboard.policy import Role

    bundle = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                               "password": OPERATOR["password"]})["json"]
    tenant = svc.store.tenants.get(TENANT)
    operator = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    minted = sessions.sign_in(svc, Principal(tenant=TENANT, user_id=operator.id, role=Role.OPERATOR, anon=False,
                                             name="Otto", method="password"), device="test")
    grant = sessions.federated_sign_in(svc, Principal(tenant=TENANT, user_id="auth0abc", role=Role.VISITOR,
                                                      anon=False, name="Jo", method="auth0"))
    shown = " ".join(repr(r) for r in (tenant, operator, minted, grant))
    for secret in (tenant.identity_secret, tenant.hook_secret, operator.password_hash, minted.access_token,
                   minted.refresh_token, minted.chat_token, grant.chat_token, bundle["refresh_token"]):
        assert secret and secret not in shown


def test_a_rehash_at_sign_in_never_undoes_a_password_change_made_meanwhile(call, seeded, svc, monkeypatch):
    # Given an operator whose stored hash is due for a rehash (today's parameters are stronger)
    from switchboard.auth import logins

    monkeypatch.setattr(logins.passwords, "needs_rehash", lambda stored: True)
    otto_id, verify = svc.store.staff.get_by_email(TENANT, OPERATOR["email"]).id, passwords.verify_password

    def verify_while_the_password_changes(stored, password):
        # the operator changes their password on another device during this argon2 check
        ok = verify(stored, password)
        monkeypatch.setattr(passwords, "verify_password", verify)
        svc.store.staff.set_password_hash(TENANT, otto_id, passwords.hash_password("a-brand-new-password"))
        return ok

    monkeypatch.setattr(passwords, "verify_password", verify_while_the_password_changes)
    # When the sign-in with the old password goes on to rehash it
    r = login(call, OPERATOR["email"], OPERATOR["password"])
    # Then it is refused, and the new password is the one stored (the rehash did not write the old one back)
    assert (r["status"], r["json"]["code"]) == (401, "invalid_credentials"), r
    stored = svc.store.staff.get(TENANT, otto_id).password_hash
    assert passwords.verify_password(stored, "a-brand-new-password")
    assert not passwords.verify_password(stored, OPERATOR["password"])
