"""TOTP recovery codes (contract section 7): confirming TOTP answers 10 single-use codes, stored
only as digests; POST /auth/mfa takes one in place of a TOTP code, under the same limits."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.conftest import ADMIN, OPERATOR, TENANT
from tests.http.test_mfa import code_at, password_step, totp_clock  # noqa: F401 - the fixture, autouse here too


@pytest.fixture
def codes(call, tokens_for) -> tuple[str, list[str]]:
    """Otto with MFA on: (his TOTP secret, the recovery codes his confirmation answered)."""
    tokens = tokens_for(OPERATOR)
    secret = call("POST /auth/totp/enroll", token=tokens["access_token"])["json"]["secret"]
    r = call("POST /auth/totp/confirm", token=tokens["access_token"], body={"code": code_at(secret, -1)})
    assert r["status"] == 200, r
    return secret, r["json"]["recovery_codes"]


def _mfa(call: Any, **body: Any) -> dict[str, Any]:
    return call("POST /auth/mfa", body={"mfa_token": password_step(call)["json"]["mfa_token"], **body})


def test_confirming_totp_answers_ten_distinct_readable_codes(codes):
    _, recovery = codes
    assert len(recovery) == 10 and len(set(recovery)) == 10
    for code in recovery:
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}", code), code


def test_a_recovery_code_signs_in_in_place_of_a_totp_code(call, codes, svc):
    _, recovery = codes
    r = _mfa(call, recovery_code=recovery[3])
    assert r["status"] == 200, r
    me = call("GET /auth/me", token=r["json"]["access_token"])
    assert me["json"]["session"]["method"] == "password+recovery_code"


def test_a_code_works_once(call, codes):
    _, recovery = codes
    assert _mfa(call, recovery_code=recovery[0])["status"] == 200
    again = _mfa(call, recovery_code=recovery[0])
    assert again["status"] == 401 and again["json"]["code"] == "invalid_mfa"
    # and the others still work
    assert _mfa(call, recovery_code=recovery[1])["status"] == 200


def test_a_code_is_read_in_any_case_with_or_without_dashes(call, codes):
    _, recovery = codes
    assert _mfa(call, recovery_code=recovery[2].lower().replace("-", " "))["status"] == 200


def test_a_made_up_code_is_refused(call, codes):
    r = _mfa(call, recovery_code="ABCD-EFGH-JKLM-NPQR")
    assert r["status"] == 401 and r["json"]["code"] == "invalid_mfa"


def test_another_operators_code_is_refused(call, codes, tokens_for):
    # Given Ana with MFA on too, and Otto's codes
    _, otto_codes = codes
    tokens = tokens_for(ADMIN)
    secret = call("POST /auth/totp/enroll", token=tokens["access_token"])["json"]["secret"]
    assert call("POST /auth/totp/confirm", token=tokens["access_token"],
                body={"code": code_at(secret, -1)})["status"] == 200
    # Then Otto's code does not open Ana's account
    r = _mfa_as(call, ADMIN, recovery_code=otto_codes[0])
    assert r["status"] == 401


def _mfa_as(call: Any, who: dict[str, str], **body: Any) -> dict[str, Any]:
    token = password_step(call, who)["json"]["mfa_token"]
    return call("POST /auth/mfa", body={"mfa_token": token, **body})


def test_wrong_recovery_codes_exhaust_the_challenge_like_wrong_totp_codes(call, codes):
    _, recovery = codes
    token = password_step(call)["json"]["mfa_token"]
    for _ in range(5):
        r = call("POST /auth/mfa", body={"mfa_token": token, "recovery_code": "ABCD-EFGH-JKLM-NPQR"})
        assert r["json"]["code"] == "invalid_mfa"
    r = call("POST /auth/mfa", body={"mfa_token": token, "recovery_code": recovery[0]})
    assert r["status"] == 401
    # and the right code was not spent by that refusal
    assert _mfa(call, recovery_code=recovery[0])["status"] == 200


def test_wrong_recovery_codes_count_toward_the_accounts_rate_limit(call, codes, monkeypatch):
    import types

    from switchboard.auth import ratelimit

    frozen = time.time() // 60 * 60 + 1
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: frozen))
    statuses = []
    for _ in range(4):
        token = password_step(call)["json"]["mfa_token"]
        for _ in range(4):
            statuses.append(call("POST /auth/mfa", body={"mfa_token": token,
                                                         "recovery_code": "ABCD-EFGH-JKLM-NPQR"})["status"])
    # as for TOTP codes: 10 a minute per account (the confirmation was one), then 429
    assert statuses[:9] == [401] * 9 and set(statuses[9:]) == {429}


@pytest.mark.parametrize("body", [{}, {"code": "123456", "recovery_code": "ABCD-EFGH-JKLM-NPQR"}])
def test_a_code_or_a_recovery_code_exactly(call, codes, body):
    r = call("POST /auth/mfa", body={"mfa_token": password_step(call)["json"]["mfa_token"], **body})
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"


def test_codes_are_stored_only_as_digests(call, codes, svc):
    _, recovery = codes
    items = str(svc.store.client.scan(TableName=svc.store.table)["Items"])
    for code in recovery:
        assert code not in items and code.replace("-", "") not in items


def test_turning_mfa_off_deletes_the_codes(call, codes, tokens_for, svc):
    secret, _ = codes
    tokens = _mfa(call, code=code_at(secret))["json"]
    r = call("POST /auth/totp/disable", token=tokens["access_token"], body={"code": code_at(secret, 1)})
    assert r["status"] == 200, r
    op = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    assert svc.store.recovery.count_codes(TENANT, op.id) == 0


def test_an_admins_mfa_reset_deletes_the_codes(call, codes, admin, svc):
    op = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    assert svc.store.recovery.count_codes(TENANT, op.id) == 10
    r = call("PATCH /admin/operators/{id}", path_params={"id": op.id}, body={"mfa_enabled": False}, token=admin)
    assert r["status"] == 200, r
    assert svc.store.recovery.count_codes(TENANT, op.id) == 0


def test_enrolling_again_gives_new_codes_and_the_old_ones_stop_working(call, codes, svc):
    secret, old = codes
    tokens = _mfa(call, code=code_at(secret))["json"]
    assert call("POST /auth/totp/disable", token=tokens["access_token"],
                body={"code": code_at(secret, 1)})["status"] == 200
    secret2 = call("POST /auth/totp/enroll", token=tokens["access_token"])["json"]["secret"]
    new = call("POST /auth/totp/confirm", token=tokens["access_token"],
               body={"code": code_at(secret2)})["json"]["recovery_codes"]
    assert not set(new) & set(old)
    assert _mfa(call, recovery_code=old[5])["status"] == 401
    assert _mfa(call, recovery_code=new[5])["status"] == 200


def test_two_sign_ins_racing_with_one_code_cannot_both_win(call, codes, svc, monkeypatch):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import dynamodb_serialises_writes

    _, recovery = codes
    tokens = [password_step(call)["json"]["mfa_token"] for _ in range(2)]
    # Given two challenges that both found the code unused (held there together)
    both_looked = threading.Barrier(2, timeout=10)
    real = svc.store.recovery.has_code

    def looked(*args: Any) -> bool:
        found = real(*args)
        both_looked.wait()
        return found

    monkeypatch.setattr(svc.store.recovery, "has_code", looked)
    with dynamodb_serialises_writes("delete_item", "update_item", "transact_write_items"), \
            ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda t: call("POST /auth/mfa", body={"mfa_token": t,
                                                                      "recovery_code": recovery[0]})["status"],
                                tokens))
    assert sorted(answers) == [200, 401]


def test_a_wrong_code_leaves_the_challenge_for_the_right_one(call, codes):
    _, recovery = codes
    token = password_step(call)["json"]["mfa_token"]
    wrong = call("POST /auth/mfa", body={"mfa_token": token, "recovery_code": "ABCD-EFGH-JKLM-NPQR"})
    assert wrong["status"] == 401
    assert call("POST /auth/mfa", body={"mfa_token": token, "recovery_code": recovery[0]})["status"] == 200


def test_recovery_codes_stay_out_of_the_logs(json_logs, call, codes):
    # json_logs first: the logger is captured (at DEBUG) from the confirmation that answers them
    _, recovery = codes
    step = password_step(call)["json"]["mfa_token"]
    assert call("POST /auth/mfa", body={"mfa_token": step, "recovery_code": "ABCD-EFGH-JKLM-NPQR"})["status"] == 401
    assert call("POST /auth/mfa", body={"mfa_token": step, "recovery_code": recovery[4].lower()})["status"] == 200
    assert json_logs.records, "nothing was logged: the capture is not working"
    text = json_logs.text.upper()
    for code in recovery:
        for form in (code, code.replace("-", ""), code.replace("-", " ")):
            assert form.upper() not in text, "a recovery code was logged"
    assert "ABCDEFGHJKLMNPQR" not in text.replace("-", "") and step.upper() not in text
