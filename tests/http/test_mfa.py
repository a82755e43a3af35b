"""Operators' TOTP second factor: enrol, confirm, sign in with mfa_required -> /auth/mfa, turn off."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.conftest import ADMIN, OPERATOR, TENANT


def code_at(secret: str, step_offset: int = 0) -> str:
    """The code of the current 30 s step (by MFA's clock), or of one ``step_offset`` steps away."""
    from switchboard.auth import mfa

    return pyotp.TOTP(secret).at(mfa.time.time() + 30 * step_offset)


@pytest.fixture(autouse=True)
def totp_clock(monkeypatch):
    """MFA's clock, set back to 2 s into the current 30 s step and running from there. Codes are
    computed for a step and checked a moment later, sign-ins (argon2) in between: with a step
    boundary inside a test, "the previous step's code" would be two steps old when checked. A
    loaded machine can take seconds; this leaves every test 28 of them."""
    import types

    from switchboard.auth import mfa

    now = time.time()
    shift = (now // 30 * 30 + 2) - now  # -28 .. +2 s
    monkeypatch.setattr(mfa, "time", types.SimpleNamespace(time=lambda: time.time() + shift))


@pytest.fixture
def enrolled(call, tokens_for):
    """Otto with MFA on: returns (secret, his first session's tokens)."""
    tokens = tokens_for(OPERATOR)
    r = call("POST /auth/totp/enroll", token=tokens["access_token"])
    assert r["status"] == 200, r
    secret = r["json"]["secret"]
    r = call("POST /auth/totp/confirm", token=tokens["access_token"], body={"code": code_at(secret, -1)})
    assert r["status"] == 200, r
    codes = r["json"].pop("recovery_codes")  # (tests/http/test_mfa_recovery_codes.py)
    assert r["json"] == {"mfa_enabled": True, "revoked_sessions": 0} and len(codes) == 10, r
    return secret, tokens


def password_step(call, who=OPERATOR):
    return call("POST /auth/internal", body={"tenant": TENANT, "email": who["email"], "password": who["password"]})


def test_enrolment_gives_a_fresh_secret_uri_and_qr_and_mfa_stays_off_until_confirmed(call, tokens_for, svc):
    # Given an operator signed in
    access = tokens_for(OPERATOR)["access_token"]
    # When they enrol an authenticator
    r = call("POST /auth/totp/enroll", token=access)
    # Then they get a base32 secret, an otpauth URI with the tenant as issuer, and an SVG QR code
    assert r["status"] == 200
    body = r["json"]
    assert len(body["secret"]) == 32 and pyotp.TOTP(body["secret"]).now().isdigit()
    assert body["otpauth_uri"].startswith("otpauth://totp/Acme:")
    assert "issuer=Acme" in body["otpauth_uri"] and f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg") and "<path" in body["qr_svg"]
    # And a second enrolment gives another secret (CSPRNG, not derived)
    assert call("POST /auth/totp/enroll", token=access)["json"]["secret"] != body["secret"]
    # And until a code confirms it, signing in needs no second factor
    assert password_step(call)["status"] == 200
    op = svc.store.staff.get(TENANT, svc.store.staff.get_by_email(TENANT, OPERATOR["email"]).id)
    assert not op.totp_enabled


def test_me_says_the_second_factor_is_on_once_confirmed(call, enrolled):
    # Given Otto, who has turned MFA on
    _, tokens = enrolled
    # When he asks who he is
    me = call("GET /auth/me", token=tokens["access_token"])["json"]
    # Then the answer says his second factor is on
    assert me["user"]["mfa_enabled"] is True


def test_a_wrong_code_does_not_turn_mfa_on(call, tokens_for):
    access = tokens_for(OPERATOR)["access_token"]
    secret = call("POST /auth/totp/enroll", token=access)["json"]["secret"]
    wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"
    r = call("POST /auth/totp/confirm", token=access, body={"code": wrong})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"
    assert password_step(call)["status"] == 200


def test_visitors_have_no_second_factor(call, seeded):
    visitor = call("POST /auth/external", body={"tenant": TENANT})["json"]
    r = call("POST /auth/totp/enroll", token=visitor["access_token"])
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"


def test_with_mfa_on_the_password_alone_gets_mfa_required_then_a_code_gets_tokens(call, enrolled):
    secret, _ = enrolled
    # When Otto signs in with his password
    r = password_step(call)
    # Then he is asked for the second factor, with a short-lived token and no session tokens
    assert r["status"] == 401 and r["json"]["code"] == "mfa_required"
    assert r["json"]["mfa_token"].startswith("sbm1.") and r["json"]["expires_in"] == 300
    assert "access_token" not in r["json"]
    # And the mfa_token with a fresh code gives the tokens (the confirm used the previous step)
    r = call("POST /auth/mfa", body={"mfa_token": r["json"]["mfa_token"], "code": code_at(secret)})
    assert r["status"] == 200, r
    assert r["json"]["user"]["role"] == "operator" and r["json"]["access_token"]
    me = call("GET /auth/me", token=r["json"]["access_token"])["json"]
    assert me["session"]["method"] == "password+totp"


def test_a_code_is_accepted_once(call, enrolled):
    secret, _ = enrolled
    code = code_at(secret)
    first = password_step(call)["json"]["mfa_token"]
    assert call("POST /auth/mfa", body={"mfa_token": first, "code": code})["status"] == 200
    # When the same code comes again with a new challenge (a replay, or a shoulder-surfer)
    second = password_step(call)["json"]["mfa_token"]
    r = call("POST /auth/mfa", body={"mfa_token": second, "code": code})
    # Then it is refused
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"


def test_an_mfa_token_is_single_use(call, enrolled):
    secret, _ = enrolled
    token = password_step(call)["json"]["mfa_token"]
    assert call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})["status"] == 200
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret, +1)})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"


@pytest.mark.parametrize(("offset", "accepted"), [(-2, False), (-1, True), (1, True), (2, False)])
def test_clock_drift_of_one_step_either_way_and_no_more(call, enrolled, svc, offset, accepted):
    secret, _ = enrolled
    # Given no step used yet beyond long ago (the confirm used the previous step)
    op_id = svc.store.staff.get_by_email(TENANT, OPERATOR["email"]).id
    svc.store.client.update_item(TableName=svc.store.table,
                                 Key={"pk": {"S": f"T#{TENANT}"}, "sk": {"S": f"OP#{op_id}"}},
                                 UpdateExpression="SET totp_last_step = :z",
                                 ExpressionAttributeValues={":z": {"N": "0"}})
    token = password_step(call)["json"]["mfa_token"]
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret, offset)})
    assert (r["status"] == 200) is accepted, r


def test_wrong_codes_exhaust_the_challenge(call, enrolled):
    secret, _ = enrolled
    token = password_step(call)["json"]["mfa_token"]
    right = code_at(secret)
    wrong = f"{(int(right) + 7) % 1_000_000:06d}"
    for _ in range(5):
        r = call("POST /auth/mfa", body={"mfa_token": token, "code": wrong})
        assert r["json"]["code"] == "invalid_mfa"
    # After five wrong codes the challenge is gone: even the right code needs a new sign-in
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": right})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"


def test_wrong_codes_count_toward_the_accounts_rate_limit(call, enrolled, monkeypatch):
    # Given a clock that stays in one minute (the limiter's windows are clock minutes)
    import types

    from switchboard.auth import ratelimit

    frozen = time.time() // 60 * 60 + 1
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: frozen))
    secret, _ = enrolled
    wrong = f"{(int(code_at(secret)) + 3) % 1_000_000:06d}"
    statuses = []
    for _ in range(4):
        token = password_step(call)["json"]["mfa_token"]
        for _ in range(4):
            statuses.append(call("POST /auth/mfa", body={"mfa_token": token, "code": wrong})["status"])
    # 10 attempts a minute per account (enrolment's confirmation was one): then 429
    assert statuses[:9] == [401] * 9
    assert set(statuses[9:]) == {429}


def test_forged_mfa_tokens_naming_an_operator_never_lock_them_out(call, enrolled, svc):
    # Given someone who knows Otto's operator id (visitors see it) forging mfa_tokens in his name
    from switchboard.tokens import opaque

    secret, _ = enrolled
    for i in range(1, 16):
        forged, _ = opaque.make("sbm1", [TENANT, _op_id(svc), f"guess{i}"])
        r = call("POST /auth/mfa", body={"mfa_token": forged, "code": "123456"}, source_ip=f"198.51.100.{i}")
        assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"
    # Then Otto, with his password and a code, still signs in
    token = password_step(call)["json"]["mfa_token"]
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})
    assert r["status"] == 200, r


@pytest.mark.parametrize("token", ["", "sbm1.x.y", "sbr1.eA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a" * 2000])
def test_a_malformed_mfa_token_is_refused_cleanly(call, seeded, token):
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": "123456"})
    assert r["status"] in (400, 401)
    assert r["json"]["code"] in ("validation_error", "invalid_mfa")


def test_turning_mfa_on_ends_the_other_sessions_opened_with_the_password_alone(call, chat, tokens_for):
    # Given Otto signed in on two devices with his password, each with a live connection
    from tests.chat_support import install_wire, keys_of

    here, elsewhere = tokens_for(OPERATOR), tokens_for(OPERATOR)
    socket_here, socket_elsewhere = chat.connect(here), chat.connect(elsewhere)
    wire = install_wire()
    # When he turns MFA on from the first
    secret = call("POST /auth/totp/enroll", token=here["access_token"])["json"]["secret"]
    r = call("POST /auth/totp/confirm", token=here["access_token"], body={"code": code_at(secret)})
    # Then the other session is over (whoever held it may have known only the password) ...
    assert r["status"] == 200 and len(r["json"].pop("recovery_codes")) == 10, r
    assert r["json"] == {"mfa_enabled": True, "revoked_sessions": 1}, r
    assert wire.posts_to(socket_elsewhere.id) == [
        {"type": "event", "event": "auth.revoked", "data": {"kind": "session"}}]
    assert wire.deleted() == [socket_elsewhere.id] and keys_of(socket_elsewhere.id) == set()
    assert call("GET /auth/me", token=elsewhere["access_token"])["json"]["code"] == "session_revoked"
    refreshed = call("POST /auth/refresh", body={"refresh_token": elsewhere["refresh_token"]})
    assert refreshed["status"] == 401 and refreshed["json"]["code"] == "session_revoked"
    # ... the one that turned it on lives on, its connection too
    assert call("GET /auth/me", token=here["access_token"])["status"] == 200
    assert wire.posts_to(socket_here.id) == [] and socket_here.ok("channel.query", filter={"member": "me"})
    # and the audit event says how many ended
    events = call("GET /admin/events", token=tokens_for(ADMIN)["access_token"])["json"]["events"]
    enabled = [e for e in events if e["kind"] == "mfa_enabled"]
    assert len(enabled) == 1 and enabled[0]["detail"] == {"revoked_sessions": 1}, enabled


def test_a_password_sign_in_racing_mfa_being_turned_on_asks_for_the_code(call, tokens_for, monkeypatch):
    # Given Otto about to turn MFA on, and someone who knows his password signing in
    tokens = tokens_for(OPERATOR)
    secret = call("POST /auth/totp/enroll", token=tokens["access_token"])["json"]["secret"]
    from switchboard.auth import passwords

    real, turned_on = passwords.verify_password, []

    def verify_while_mfa_is_turned_on(stored, password):
        ok = real(stored, password)
        if not turned_on:  # during the sign-in's argon2 check, after its read of the record
            r = call("POST /auth/totp/confirm", token=tokens["access_token"], body={"code": code_at(secret)})
            turned_on.append(r["status"])
        return ok

    monkeypatch.setattr(passwords, "verify_password", verify_while_mfa_is_turned_on)
    # When the sign-in finishes after MFA went on
    r = password_step(call)
    # Then it gets no session on the password alone: the code is asked for
    assert turned_on == [200]
    assert r["status"] == 401 and r["json"]["code"] == "mfa_required", r


def test_turning_mfa_off_needs_a_code_and_revokes_the_other_sessions(call, enrolled, tokens_for):
    secret, first = enrolled
    # Given Otto signed in on a second device, with MFA
    token = password_step(call)["json"]["mfa_token"]
    second = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})["json"]
    # When he turns MFA off from the second device, without a valid code, nothing changes
    r = call("POST /auth/totp/disable", token=second["access_token"], body={"code": "000000"})
    assert r["status"] == 401
    # And with a fresh code it is off
    r = call("POST /auth/totp/disable", token=second["access_token"], body={"code": code_at(secret, +1)})
    assert r["status"] == 200 and r["json"] == {"mfa_enabled": False, "revoked_sessions": 1}
    # Then the first device's session is over, the second lives on, and a password alone signs in again
    assert call("GET /auth/me", token=first["access_token"])["json"]["code"] == "session_revoked"
    assert call("GET /auth/me", token=second["access_token"])["status"] == 200
    assert password_step(call)["status"] == 200


def test_the_totp_secret_is_never_returned_again_nor_logged(call, json_logs, enrolled, capsys, caplog, tokens_for):
    # Given every log line captured since before Otto enrolled (json_logs comes before enrolled)
    secret, _ = enrolled
    # When an admin lists the operators, and Otto signs in with a code
    admin = tokens_for(ADMIN)["access_token"]
    listing = call("GET /admin/operators", token=admin)
    token = password_step(call)["json"]["mfa_token"]
    call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})
    # Then the secret is in no answer after the enrolment, and in no log line or field
    out = capsys.readouterr()
    everything = str(listing) + out.out + out.err + caplog.text + json_logs.text
    assert secret not in everything
    assert all("totp" not in key or key == "mfa_enabled" for o in listing["json"]["operators"] for key in o)


def test_seeded_totp_secrets_turn_mfa_on(call, aws):
    # Given a seed whose operator has a TOTP secret (contract section 6)
    from switchboard.runtime import services

    from switchboard_local.seed import apply_seed

    secret = pyotp.random_base32()
    apply_seed(services().store, {"tenants": [{
        "id": "initech", "name": "Initech", "identity_secret": "initech-identity-secret-01",
        "hook_secret": "initech-hook-secret-0123", "operators": [
            {"email": "bill@initech.test", "password": "bill-correct-horse", "role": "admin",
             "totp_secret": secret}]}]})
    r = call("POST /auth/internal", body={"tenant": "initech", "email": "bill@initech.test",
                                          "password": "bill-correct-horse"})
    assert r["json"]["code"] == "mfa_required"
    r = call("POST /auth/mfa", body={"mfa_token": r["json"]["mfa_token"], "code": pyotp.TOTP(secret).now()})
    assert r["status"] == 200
    # And the seeded secret is stored sealed, like an enrolled one
    op = services().store.staff.get_by_email("initech", "bill@initech.test")
    assert op.totp_secret.startswith("kms1:") and secret not in str(_raw_operator(services(), "initech", op.id))


# -- at rest: sealed under the TOTP key ---------------------------------------------------------
def _raw_operator(svc, tenant, user_id):
    """The operator's item as DynamoDB holds it (what a backup, an export or a table reader sees)."""
    return svc.store.client.get_item(TableName=svc.store.table,
                                      Key={"pk": {"S": f"T#{tenant}"}, "sk": {"S": f"OP#{user_id}"}})["Item"]


def _set_raw(svc, tenant, user_id, **values):
    names = {f"#{k}": k for k in values}
    svc.store.client.update_item(
        TableName=svc.store.table, Key={"pk": {"S": f"T#{tenant}"}, "sk": {"S": f"OP#{user_id}"}},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values), ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{k}": {"S": v} if isinstance(v, str) else {"BOOL": v} for k, v in values.items()})


def _op_id(svc, who=OPERATOR):
    return svc.store.staff.get_by_email(TENANT, who["email"]).id


def test_the_table_holds_the_totp_secret_only_sealed_pending_or_on(call, tokens_for, svc):
    access = tokens_for(OPERATOR)["access_token"]
    # When Otto enrols, the pending secret is stored sealed
    secret = call("POST /auth/totp/enroll", token=access)["json"]["secret"]
    item = _raw_operator(svc, TENANT, _op_id(svc))
    assert item["totp_pending"]["S"].startswith("kms1:") and secret not in str(item)
    # And once confirmed, the secret in force is sealed too
    assert call("POST /auth/totp/confirm", token=access, body={"code": code_at(secret)})["status"] == 200
    item = _raw_operator(svc, TENANT, _op_id(svc))
    assert item["totp_secret"]["S"].startswith("kms1:") and secret not in str(item)
    # Yet it still opens, with the KMS key, for his own record only
    from switchboard.tokens.sealing import totp_context

    assert svc.sealer.open(item["totp_secret"]["S"], context=totp_context(TENANT, _op_id(svc))) == secret


def test_a_sealed_secret_copied_to_another_operator_does_not_open_for_them(call, enrolled, svc, caplog):
    secret, _ = enrolled
    # Given someone who can write the table copies Otto's sealed secret into Ada's record
    sealed = _raw_operator(svc, TENANT, _op_id(svc))["totp_secret"]["S"]
    _set_raw(svc, TENANT, _op_id(svc, ADMIN), totp_secret=sealed, totp_enabled=True)
    # When Ada's password is used with a code from Otto's authenticator
    r = password_step(call, ADMIN)
    assert r["json"]["code"] == "mfa_required"
    r = call("POST /auth/mfa", body={"mfa_token": r["json"]["mfa_token"], "code": code_at(secret)})
    # Then the code is wrong for her (a clean 401, not a 500), and the event is logged without secrets
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"
    assert "did not open" in caplog.text and secret not in caplog.text and sealed not in caplog.text


def test_a_plaintext_secret_signs_in_even_when_kms_cannot_seal_it_yet(call, enrolled, svc, monkeypatch):
    from switchboard.tokens.sealing import Sealer

    secret, _ = enrolled
    # Given a secret in the plaintext form of earlier versions, and KMS unusable for now
    _set_raw(svc, TENANT, _op_id(svc), totp_secret=secret)
    monkeypatch.setattr(svc, "sealer", Sealer("alias/no-such-key"))
    # When Otto signs in with his password and a code
    token = password_step(call)["json"]["mfa_token"]
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})
    # Then he is in (his plaintext secret needed no KMS), and it stays to be sealed next time
    assert r["status"] == 200, r
    assert _raw_operator(svc, TENANT, _op_id(svc))["totp_secret"]["S"] == secret


@pytest.mark.parametrize("damaged", ["kms1:not base64!", "kms1:" + "A" * 40])
def test_a_damaged_sealed_secret_makes_every_code_wrong_not_a_500(call, enrolled, svc, damaged):
    secret, _ = enrolled
    _set_raw(svc, TENANT, _op_id(svc), totp_secret=damaged)
    token = password_step(call)["json"]["mfa_token"]
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"


def test_a_secret_stored_before_sealing_works_and_is_sealed_at_the_next_mfa_sign_in(call, enrolled, svc):
    secret, _ = enrolled
    # Given Otto's secret in the plaintext form of earlier versions
    _set_raw(svc, TENANT, _op_id(svc), totp_secret=secret)
    # When he signs in with his password and a code
    token = password_step(call)["json"]["mfa_token"]
    assert call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})["status"] == 200
    # Then the table now holds it sealed, and it keeps working
    item = _raw_operator(svc, TENANT, _op_id(svc))
    assert item["totp_secret"]["S"].startswith("kms1:") and secret not in str(item)
    token = password_step(call)["json"]["mfa_token"]
    assert call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret, +1)})["status"] == 200


def test_without_the_key_service_enrolment_answers_503_and_stores_nothing(call, tokens_for, svc, monkeypatch):
    # Given the TOTP key cannot be used (here: the configured alias does not exist)
    from switchboard.tokens.sealing import Sealer

    access = tokens_for(OPERATOR)["access_token"]
    monkeypatch.setattr(svc, "sealer", Sealer("alias/no-such-key"))
    # When Otto enrols
    r = call("POST /auth/totp/enroll", token=access)
    # Then he is told to come back later, and no secret was stored in any form
    assert r["status"] == 503 and r["json"]["code"] == "unavailable"
    assert "totp_pending" not in _raw_operator(svc, TENANT, _op_id(svc))


def test_a_used_code_is_refused_but_the_challenge_stays_for_the_next_code(call, enrolled):
    secret, _ = enrolled
    # Given a challenge, and the code of the step the enrolment's confirmation used
    token = password_step(call)["json"]["mfa_token"]
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret, -1)})
    # Then that code is refused, saying why
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa" and "used already" in r["json"]["detail"]
    # And the same challenge takes the next, fresh code (like after any wrong code)
    assert call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})["status"] == 200



def test_a_password_change_ends_the_mfa_challenges_the_old_password_got(call, enrolled):
    secret, tokens = enrolled
    # Given an mfa_token got with Otto's password (by him, or by whoever learnt it)
    pending = password_step(call)["json"]["mfa_token"]
    # When Otto changes his password
    r = call("POST /auth/password", token=tokens["access_token"],
             body={"current_password": OPERATOR["password"], "new_password": "a-brand-new-horse-battery"})
    assert r["status"] == 200, r
    # Then that mfa_token is no good, even with a right code
    r = call("POST /auth/mfa", body={"mfa_token": pending, "code": code_at(secret)})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"


def test_a_password_change_deletes_the_pending_challenges_from_the_table(call, enrolled, svc):
    from switchboard.auth import mfa
    from switchboard.tokens import opaque

    _, tokens = enrolled
    # Given an mfa_token got with Otto's password, its challenge stored
    pending = password_step(call)["json"]["mfa_token"]
    (_, user_id, challenge_id), _ = opaque.parse(pending, mfa.MFA_PREFIX, 3)
    assert svc.store.staff.get_mfa_challenge(TENANT, user_id, challenge_id) is not None
    # When Otto changes his password
    r = call("POST /auth/password", token=tokens["access_token"],
             body={"current_password": OPERATOR["password"], "new_password": "a-brand-new-horse-battery"})
    assert r["status"] == 200, r
    # Then the challenge is gone, not merely outdated (nothing is left to try codes against)
    assert svc.store.staff.get_mfa_challenge(TENANT, user_id, challenge_id) is None


def test_a_challenge_earned_before_a_password_change_is_worthless_even_if_written_after_it(call, enrolled, svc):
    secret, _ = enrolled
    # Given a challenge earned with the current password
    pending = password_step(call)["json"]["mfa_token"]
    # When the password changes without the challenge being deleted (a sign-in in flight wrote it
    # after the change's delete)
    from switchboard.auth.passwords import hash_password

    svc.store.staff.set_password_hash(TENANT, _op_id(svc), hash_password("another-correct-horse-battery"))
    # Then the challenge is no good, even with a right code
    r = call("POST /auth/mfa", body={"mfa_token": pending, "code": code_at(secret)})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"


def test_mfa_still_works_after_the_sign_in_upgrades_the_password_hash(call, enrolled, svc):
    # Given Otto's password stored with weaker argon2 parameters than today's
    from argon2 import PasswordHasher

    secret, _ = enrolled
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(OPERATOR["password"])
    svc.store.staff.set_password_hash(TENANT, _op_id(svc), weak)
    # When he signs in (the hash is upgraded on the way) and gives a code
    token = password_step(call)["json"]["mfa_token"]
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})
    # Then he is in, and the stored hash is the upgraded one
    assert r["status"] == 200, r
    assert svc.store.staff.get(TENANT, _op_id(svc)).password_hash != weak


# -- a code used once everywhere, races, the event log, expiry, the key -----------------------------
def test_turning_mfa_off_refuses_the_code_a_sign_in_just_used(call, enrolled, svc):
    secret, _ = enrolled
    # Given Otto signed in with a code (its step is now used)
    code = code_at(secret)
    token = password_step(call)["json"]["mfa_token"]
    signed_in = call("POST /auth/mfa", body={"mfa_token": token, "code": code})
    assert signed_in["status"] == 200, signed_in
    # When that same code is given to turn MFA off (a replay, or a shoulder-surfer with the session)
    r = call("POST /auth/totp/disable", token=signed_in["json"]["access_token"], body={"code": code})
    # Then it is refused, and MFA stays on
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa", r
    assert svc.store.staff.get(TENANT, _op_id(svc)).totp_enabled
    assert password_step(call)["json"]["code"] == "mfa_required"


def test_enrolling_again_while_mfa_is_on_is_refused_and_keeps_the_secret(call, enrolled, svc):
    # Given Otto with MFA on
    _, tokens = enrolled
    before = _raw_operator(svc, TENANT, _op_id(svc))
    # When Otto (or whoever holds his session) enrols a new authenticator with MFA on
    r = call("POST /auth/totp/enroll", token=tokens["access_token"])
    # Then it is a 400 without a secret, and nothing was stored: MFA must be turned off (with a code) first
    assert r["status"] == 400 and r["json"]["code"] == "validation_error" and "secret" not in r["json"], r
    assert _raw_operator(svc, TENANT, _op_id(svc)) == before


def test_totp_codes_are_compared_in_constant_time(monkeypatch):
    from switchboard.auth import mfa

    calls = []
    real = mfa.hmac.compare_digest
    monkeypatch.setattr(mfa.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    secret = pyotp.random_base32()
    # When a code is checked
    step = mfa.matching_step(secret, pyotp.TOTP(secret).now())
    # Then it matched, and every candidate step was compared with compare_digest
    assert step is not None and len(calls) == 2 * mfa.DRIFT_STEPS + 1


def test_a_confirm_racing_a_new_enrolment_does_not_turn_on_the_secret_it_read(call, tokens_for, svc, monkeypatch):
    from switchboard.tokens.sealing import totp_context

    access = tokens_for(OPERATOR)["access_token"]
    first = call("POST /auth/totp/enroll", token=access)["json"]["secret"]
    # Given a second enrolment that lands between the confirm's read of the pending secret and its write
    store, enable_totp = svc.store, svc.store.staff.enable_totp

    def enrolled_again_meanwhile(tenant, user_id, secret, step):
        other = svc.sealer.seal(pyotp.random_base32(length=32), context=totp_context(tenant, user_id))
        store.staff.set_totp_pending(tenant, user_id, other)
        return enable_totp(tenant, user_id, secret, step)

    monkeypatch.setattr(store.staff, "enable_totp", enrolled_again_meanwhile)
    # When the confirm's code is right for the secret it read
    r = call("POST /auth/totp/confirm", token=access, body={"code": code_at(first)})
    # Then the confirm fails (the pending secret is not the one it checked), and MFA stays off
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa", r
    assert not svc.store.staff.get(TENANT, _op_id(svc)).totp_enabled


def test_turning_mfa_on_and_off_is_in_the_tenants_event_log(call, admin, enrolled):
    # Given Otto turned MFA on (the enrolled fixture confirmed a code), and signed in with a code
    secret, _ = enrolled
    token = password_step(call)["json"]["mfa_token"]
    second = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})["json"]
    # When he turns MFA off
    r = call("POST /auth/totp/disable", token=second["access_token"], body={"code": code_at(secret, +1)})
    assert r["status"] == 200, r
    # Then the admin's event log shows both, about Otto, done by Otto
    events = call("GET /admin/events", token=admin, query={"limit": "100"})["json"]["events"]
    otto_id = second["user"]["id"]
    for kind in ("mfa_enabled", "mfa_disabled"):
        assert any(e["kind"] == kind and e["subject"] == otto_id and e["actor"] == otto_id for e in events), kind


def test_an_mfa_token_is_no_good_once_its_five_minutes_are_over(call, enrolled, monkeypatch):
    import types

    from switchboard.auth import mfa

    secret, _ = enrolled
    # Given a challenge earned with Otto's password
    token = password_step(call)["json"]["mfa_token"]
    # When the code arrives when the challenge's 5 minutes are over (a code valid at that time)
    later = mfa.time.time() + mfa.CHALLENGE_SECONDS  # by MFA's clock (see totp_clock)
    monkeypatch.setattr(mfa, "time", types.SimpleNamespace(time=lambda: later))
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": pyotp.TOTP(secret).at(later)})
    # Then the token is refused: sign in again
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa", r
    assert "expired" in r["json"]["detail"]


@pytest.fixture
def kms_refuses_another_keys_ciphertext_as_aws_does(monkeypatch):
    """AWS KMS answers a Decrypt whose KeyId is not the ciphertext's key with
    IncorrectKeyException (API reference, Decrypt); moto answers AccessDeniedException, which
    on AWS means a missing permission. Give moto AWS's answer."""
    from moto.core.exceptions import JsonRESTError
    from moto.kms.exceptions import AccessDeniedException
    from moto.kms.models import KmsBackend

    real = KmsBackend.decrypt

    def decrypt(self, ciphertext_blob, encryption_context, key_id=None):
        try:
            return real(self, ciphertext_blob, encryption_context, key_id)
        except AccessDeniedException:
            raise JsonRESTError("IncorrectKeyException", "The key ID in the request does not identify a KMS key "
                                "that can perform this operation.") from None

    monkeypatch.setattr(KmsBackend, "decrypt", decrypt)


def test_a_secret_sealed_under_another_key_does_not_open(call, enrolled, svc,
                                                         kms_refuses_another_keys_ciphertext_as_aws_does):
    import base64

    import boto3
    from switchboard.tokens.sealing import PREFIX, totp_context

    secret, _ = enrolled
    # Given Otto's secret sealed, for his record, under a KMS key other than the TOTP key
    kms = boto3.client("kms")
    other_key = kms.create_key(Description="not the TOTP key")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=other_key, Plaintext=secret.encode(),
                       EncryptionContext=totp_context(TENANT, _op_id(svc)))["CiphertextBlob"]
    _set_raw(svc, TENANT, _op_id(svc), totp_secret=PREFIX + base64.b64encode(blob).decode())
    # When he signs in with his password and a right code
    token = password_step(call)["json"]["mfa_token"]
    r = call("POST /auth/mfa", body={"mfa_token": token, "code": code_at(secret)})
    # Then the code is wrong for that record (a clean 401, not a 500)
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa", r


def test_an_mfa_challenge_carries_its_expiry_as_its_ttl(call, enrolled, svc):
    from switchboard.auth import mfa
    from switchboard.tokens import opaque

    # Given an mfa_token got with Otto's password
    pending = password_step(call)["json"]["mfa_token"]
    (_, user_id, challenge_id), _ = opaque.parse(pending, mfa.MFA_PREFIX, 3)
    # When we look at its stored challenge
    challenge = svc.store.staff.get_mfa_challenge(TENANT, user_id, challenge_id)
    # Then DynamoDB deletes it when it lapses, even if nobody ever presents it
    assert challenge["ttl"] == challenge["expires_at"] > time.time()


def test_an_expired_challenge_is_not_consumed_even_while_the_table_still_holds_it(svc, seeded):
    # Given a challenge whose expiry has come (TTL deletion lags: it may still be in the table)
    svc.store.staff.put_mfa_challenge(TENANT, "op-x", "ch-1", "right-hash", expires_at=1_000, password="p")
    # When it is presented with the right hash at its expiry
    # Then it is not consumed; a wrong hash never is; before its expiry it is, exactly once
    assert svc.store.staff.consume_mfa_challenge(TENANT, "op-x", "ch-1", "right-hash", now=1_000) is False
    assert svc.store.staff.consume_mfa_challenge(TENANT, "op-x", "ch-1", "wrong-hash", now=999) is False
    assert svc.store.staff.consume_mfa_challenge(TENANT, "op-x", "ch-1", "right-hash", now=999) is True
    assert svc.store.staff.consume_mfa_challenge(TENANT, "op-x", "ch-1", "right-hash", now=999) is False


def test_clearing_the_mfa_challenges_leaves_the_users_other_items_alone(svc, seeded):
    # Given Otto with a pending challenge and a chat membership (``M#<chid>``: also begins with "M")
    otto = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    svc.store.staff.put_mfa_challenge(TENANT, otto.id, "ch-1", "h", expires_at=int(time.time()) + 300, password="p")
    membership = {"pk": {"S": f"U#{TENANT}#{otto.id}"}, "sk": {"S": "M#chan-1"}, "channel_id": {"S": "chan-1"}}
    svc.store.client.put_item(TableName=svc.store.table, Item=membership)
    # When his challenges are cleared (a password change)
    cleared = svc.store.staff.delete_mfa_challenges(TENANT, otto.id)
    # Then the challenge is gone and the membership is not
    assert cleared == 1 and svc.store.staff.get_mfa_challenge(TENANT, otto.id, "ch-1") is None
    key = {"pk": membership["pk"], "sk": membership["sk"]}
    assert "Item" in svc.store.client.get_item(TableName=svc.store.table, Key=key)


def test_sealing_a_secret_never_writes_it_over_a_newer_one_or_back_after_mfa_is_off(svc, seeded):
    # Given Otto's plaintext secret read for sealing, then replaced by a new enrolment
    otto = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    svc.store.staff.set_totp_pending(TENANT, otto.id, "NEWSECRET")
    svc.store.staff.enable_totp(TENANT, otto.id, "NEWSECRET", 1)
    # When the sealed form of the old secret is written
    # Then it is refused and the new secret stays
    assert svc.store.staff.replace_totp_secret(TENANT, otto.id, old="OLDSECRET", new="sealed:OLDSECRET") is False
    assert svc.store.staff.get(TENANT, otto.id).totp_secret == "NEWSECRET"
    # And once MFA is turned off, no sealed secret comes back either
    svc.store.staff.disable_totp(TENANT, otto.id)
    assert svc.store.staff.replace_totp_secret(TENANT, otto.id, old="NEWSECRET", new="sealed:NEWSECRET") is False
    assert svc.store.staff.get(TENANT, otto.id).totp_secret is None
