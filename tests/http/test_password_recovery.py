"""POST /auth/password/forgot and /auth/password/reset (contract section 7): a single-use,
30-minute link mailed through (moto's) SES, read back from the local outbox as a person would;
no enumeration by status, body or work."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.chat_support import install_wire
from tests.conftest import ADMIN, OPERATOR, ORIGIN, TENANT

NEW_PASSWORD = "a-brand-new-correct-horse"


def _forgot(call: Any, email: str, tenant: str = TENANT, **kw: Any) -> dict[str, Any]:
    return call("POST /auth/password/forgot", body={"tenant": tenant, "email": email}, **kw)


def _outbox() -> list[dict[str, Any]]:
    from switchboard_local.outbox import messages

    return messages()


def _link_token(message: dict[str, Any]) -> str:
    found = re.search(r"(\S+)#reset=(\S+)", message["text"])
    assert found, message["text"]
    return found.group(2)


def _reset(call: Any, token: str, password: str = NEW_PASSWORD) -> dict[str, Any]:
    return call("POST /auth/password/reset", body={"token": token, "password": password})


def _sign_in(call: Any, who: dict[str, str], password: str) -> dict[str, Any]:
    return call("POST /auth/internal", body={"tenant": TENANT, "email": who["email"], "password": password})


def test_a_reset_link_is_mailed_and_sets_a_new_password(call, seeded, svc):
    # When Otto says he forgot his password
    r = _forgot(call, OPERATOR["email"], headers={"origin": ORIGIN})
    # Then the answer is 202, and one mail went to him with a link to the back office
    assert r["status"] == 202 and r["json"] == {"accepted": True}
    (mail,) = _outbox()
    assert mail["to"] == OPERATOR["email"] and "reset" in mail["subject"].lower()
    assert f"{svc.settings.backoffice_url}#reset=sbp1." in mail["text"]
    assert mail["sent_at"]
    # When he follows it with a new password
    r = _reset(call, _link_token(mail))
    # Then the password is the new one
    assert r["status"] == 200 and r["json"] == {"reset": True, "revoked_sessions": 0}
    assert _sign_in(call, OPERATOR, NEW_PASSWORD)["status"] == 200
    assert _sign_in(call, OPERATOR, OPERATOR["password"])["status"] == 401


def test_the_link_works_once(call, seeded):
    _forgot(call, OPERATOR["email"])
    token = _link_token(_outbox()[0])
    assert _reset(call, token)["status"] == 200
    again = _reset(call, token, "yet-another-password-123")
    assert again["status"] == 401 and again["json"]["code"] == "invalid_token"
    assert _sign_in(call, OPERATOR, NEW_PASSWORD)["status"] == 200


def test_the_link_expires_after_30_minutes(call, seeded, svc):
    from switchboard.auth import recovery
    from switchboard.errors import InvalidToken

    _forgot(call, OPERATOR["email"])
    token = _link_token(_outbox()[0])
    with pytest.raises(InvalidToken):
        recovery.reset(svc, token=token, password=NEW_PASSWORD, now=int(time.time()) + 30 * 60 + 1)
    # and a minute before, it still works
    assert recovery.reset(svc, token=token, password=NEW_PASSWORD, now=int(time.time()) + 29 * 60)["reset"]


def test_every_session_of_that_person_ends_live_sockets_too(call, seeded, tokens_for, chat):
    # Given Otto signed in on two devices, one with a live socket
    a, b = tokens_for(OPERATOR), tokens_for(OPERATOR)
    socket = chat.connect(a)
    wire = install_wire()
    # When his password is reset by the mailed link
    _forgot(call, OPERATOR["email"])
    r = _reset(call, _link_token(_outbox()[0]))
    # Then both sessions ended and the socket was told, then closed
    assert r["status"] == 200 and r["json"]["revoked_sessions"] == 2
    for tokens in (a, b):
        me = call("GET /auth/me", token=tokens["access_token"])
        assert me["status"] == 401 and me["json"]["code"] == "session_revoked"
    assert wire.posts_to(socket.id)[0]["event"] == "auth.revoked"
    assert wire.deleted() == [socket.id]
    # And another operator's session is untouched
    ana = tokens_for(ADMIN)
    assert call("GET /auth/me", token=ana["access_token"])["status"] == 200


def test_a_reset_drops_the_other_links_and_pending_mfa_challenges(call, seeded, svc):
    op = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    svc.store.staff.put_mfa_challenge(TENANT, op.id, "c1", "0" * 64, expires_at=int(time.time()) + 300, password="x")
    _forgot(call, OPERATOR["email"])
    _forgot(call, OPERATOR["email"])
    newer, older = _outbox()
    assert _reset(call, _link_token(older))["status"] == 200
    assert _reset(call, _link_token(newer), "another-new-password-1")["status"] == 401
    assert svc.store.staff.get_mfa_challenge(TENANT, op.id, "c1") is None


@pytest.mark.parametrize("spoil", ["secret", "user", "tenant", "prefix"])
def test_an_edited_link_is_refused(call, seeded, spoil):
    import base64

    _forgot(call, OPERATOR["email"])
    token = _link_token(_outbox()[0])
    prefix, locator, secret = token.split(".")
    fields = base64.urlsafe_b64decode(locator + "==").decode().split("\n")
    if spoil == "secret":
        secret = secret[:-2] + ("AA" if secret[-2:] != "AA" else "BB")
    elif spoil in ("user", "tenant"):
        index = 1 if spoil == "user" else 0
        fields[index] = "op-0000000000000000" if spoil == "user" else "globex"
        locator = base64.urlsafe_b64encode("\n".join(fields).encode()).rstrip(b"=").decode()
    else:
        prefix = "sbr1"
    r = _reset(call, f"{prefix}.{locator}.{secret}")
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert _sign_in(call, OPERATOR, OPERATOR["password"])["status"] == 200


def test_the_token_is_stored_only_as_a_hash_and_never_logged(call, seeded, svc, json_logs):
    _forgot(call, OPERATOR["email"])
    token = _link_token(_outbox()[0])
    secret = token.split(".")[2]
    items = svc.store.client.scan(TableName=svc.store.table)["Items"]
    assert secret not in str(items)
    _reset(call, token)
    assert secret not in json_logs.text and token not in json_logs.text


@contextmanager
def _aws_calls() -> Iterator[list[tuple[str, str]]]:
    """Every AWS call made meanwhile, as (service, operation)."""
    from botocore.client import BaseClient

    made: list[tuple[str, str]] = []
    original = BaseClient._make_api_call

    def recording(self: Any, operation: str, params: dict[str, Any]) -> Any:
        made.append((self.meta.service_model.service_name, operation))
        return original(self, operation, params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    try:
        yield made
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def _drop_password(svc: Any, email: str) -> None:
    """The operator signs in only through an identity provider from now on (no password_hash),
    as after SSO's first sign-in on an admitted domain, or DELETE /auth/identities/password."""
    import boto3
    from switchboard.store import keys

    op = svc.store.staff.get_by_email(TENANT, email)
    sso = {"id": {"S": "i-0123456789abcdef"}, "kind": {"S": "oidc"}, "provider": {"S": "corp"},
           "subject": {"S": "corp-subject"}, "email": {"S": email}, "linked_at": {"N": "1"}}
    boto3.client("dynamodb").update_item(
        TableName=svc.settings.table_name, UpdateExpression="REMOVE password_hash SET identities = :m",
        ExpressionAttributeValues={":m": {"M": {"i-0123456789abcdef": {"M": sso}}}},
        Key={keys.PK: {"S": keys.tenant_pk(TENANT)}, keys.SK: {"S": keys.operator_sk(op.id)}})
    after = svc.store.staff.get_by_email(TENANT, email)
    assert after.password_hash is None and after.active  # one way in: the company's provider


@pytest.mark.parametrize("who", ["unknown email", "unknown tenant", "blocked operator", "invited operator",
                                 "operator without a password"])
def test_nothing_tells_an_operator_apart(call, seeded, svc, admin, who):
    # Given the tenant caches warm (as they are after any request)
    tenant = "nobody" if who == "unknown tenant" else TENANT
    _forgot(call, "warm@acme.test", tenant=tenant)
    _forgot(call, "warm@acme.test")
    email = {"unknown email": "nobody@acme.test", "unknown tenant": OPERATOR["email"],
             "blocked operator": OPERATOR["email"], "invited operator": "new@acme.test",
             "operator without a password": OPERATOR["email"]}[who]
    if who == "operator without a password":  # SSO only: a reset link would add a way in around it
        _drop_password(svc, OPERATOR["email"])
    if who == "blocked operator":
        op = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
        assert call("PATCH /admin/operators/{id}", path_params={"id": op.id}, body={"blocked": True},
                    token=admin)["status"] == 200
    if who == "invited operator":
        assert call("POST /admin/operators", body={"email": email, "name": "New"}, token=admin)["status"] == 201
    # When a reset is asked for an operator, and for the address that is no (active) operator's
    with _aws_calls() as known_calls:
        known = _forgot(call, ADMIN["email"])
    before = len(_outbox())
    with _aws_calls() as other_calls:
        other = _forgot(call, email, tenant=tenant)
    # Then the status and body are the same
    assert (known["status"], known["json"]) == (other["status"], other["json"]) == (202, {"accepted": True})
    # And so is the work: the same AWS calls (the counters go out on a pool: compared as a multiset)
    assert Counter(known_calls) == Counter(other_calls), (known_calls, other_calls)
    assert ("sesv2", "SendEmail") in other_calls
    # And the mail reached nobody: SES's mailbox simulator took it
    assert len(_outbox()) == before + 1 and _outbox()[0]["to"] == "success@simulator.amazonses.com"


def test_a_link_mailed_before_the_password_was_unlinked_adds_no_password_back(call, seeded, svc):
    # Given a reset link mailed to Otto, who then goes SSO only (his password unlinked)
    _forgot(call, OPERATOR["email"])
    token = _link_token(_outbox()[0])
    _drop_password(svc, OPERATOR["email"])
    # When the link is followed
    r = _reset(call, token)
    # Then it sets nothing: he still has no password, and none signs him in
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert svc.store.staff.get_by_email(TENANT, OPERATOR["email"]).password_hash is None
    assert _sign_in(call, OPERATOR, NEW_PASSWORD)["status"] == 401


def test_the_simulators_link_resets_nothing(call, seeded):
    _forgot(call, "nobody@acme.test")
    r = _reset(call, _link_token(_outbox()[0]))
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"


def test_forgot_is_rate_limited_per_email_alike_for_operators_and_strangers(call, seeded):
    for email in (OPERATOR["email"], "nobody@acme.test"):
        answers = [_forgot(call, email, source_ip=f"10.0.0.{n}")["status"] for n in range(11)]
        assert answers == [202] * 10 + [429], email


def test_forgot_is_rate_limited_per_address(call, seeded, monkeypatch):
    from types import SimpleNamespace

    from switchboard.auth import recovery

    # one clock minute for all 61 (the windows are clock minutes: a run across a minute's end
    # would start a new window half-way)
    frozen = (int(time.time()) // 60) * 60 + 5
    monkeypatch.setattr(recovery, "time", SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic,
                                                          sleep=time.sleep))
    answers = [_forgot(call, f"person{n}@acme.test", source_ip="10.9.9.9")["status"] for n in range(61)]
    assert answers[:60] == [202] * 60 and answers[60] == 429


def test_a_reset_is_audited(call, seeded, admin, svc):
    _forgot(call, OPERATOR["email"])
    _reset(call, _link_token(_outbox()[0]))
    events, _ = svc.store.events.page(TENANT, limit=10)
    assert "password_reset" in [e.kind for e in events]


def test_a_failing_mail_service_still_answers_202(call, seeded, svc, monkeypatch):
    from switchboard.errors import Unavailable

    def broken(**_: Any) -> str:
        raise Unavailable("mail could not be sent")

    monkeypatch.setattr(svc.mailer, "send", broken)
    assert _forgot(call, OPERATOR["email"])["status"] == 202


@pytest.mark.parametrize("body", [{"token": "x", "password": "short"}, {"token": "", "password": NEW_PASSWORD},
                                  {"password": NEW_PASSWORD}, {"token": "x", "password": NEW_PASSWORD, "more": 1}])
def test_a_malformed_reset_is_a_validation_error(call, seeded, body):
    r = call("POST /auth/password/reset", body=body)
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"


def test_two_resets_racing_with_one_link_cannot_both_win(call, seeded, monkeypatch):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from switchboard.auth import passwords

    from tests.conftest import dynamodb_serialises_writes

    _forgot(call, OPERATOR["email"])
    token = _link_token(_outbox()[0])
    # Given two requests with the same link that both got past its first check (held at the hash)
    both_checked = threading.Barrier(2, timeout=10)
    real_hash = passwords.hash_password

    def hash_when_both_are_here(password: str) -> str:
        both_checked.wait()
        return real_hash(password)

    monkeypatch.setattr(passwords, "hash_password", hash_when_both_are_here)
    # When both set a password
    with dynamodb_serialises_writes(), ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda p: _reset(call, token, p)["status"],
                                ["first-new-password-1", "second-new-password-2"]))
    # Then exactly one did: the link is spent by the same write that sets the password
    assert sorted(answers) == [200, 401]


def test_changing_the_password_cancels_reset_links_mailed_before(call, seeded, tokens_for):
    _forgot(call, OPERATOR["email"])
    token = _link_token(_outbox()[0])
    signed_in = tokens_for(OPERATOR)
    changed = call("POST /auth/password", token=signed_in["access_token"],
                   body={"current_password": OPERATOR["password"], "new_password": NEW_PASSWORD})
    assert changed["status"] == 200, changed
    # the link mailed before the change resets nothing
    r = _reset(call, token, password="someone-elses-new-password")
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert _sign_in(call, OPERATOR, NEW_PASSWORD)["status"] == 200
    assert _sign_in(call, OPERATOR, "someone-elses-new-password")["status"] == 401
