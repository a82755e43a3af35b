"""Bad input gets a clear 4xx problem+json and changes nothing; secrets never leak."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from tests.conftest import ADMIN, HOOK_SECRET, IDENTITY_SECRET, OPERATOR, ORIGIN, TENANT

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def events_count(svc):
    return len(svc.store.events.page(TENANT, limit=100)[0])


@pytest.mark.parametrize("route,raw", [
    ("POST /auth/external", b"{not json"),
    ("POST /auth/external", b""),
    ("POST /auth/external", b"[]"),
    ("POST /auth/external", b'{"tenant": 42}'),
    ("POST /auth/external", b'{"tenant": "acme", "surprise": true}'),
    ("POST /auth/external", b'{"tenant": "ACME!"}'),
    ("POST /auth/external", b'{"tenant": "acme", "user": {"id": ""}}'),
    ("POST /auth/external", b'{"tenant": "acme", "user": "bob"}'),
    ("POST /auth/internal", b'{"tenant": "acme", "email": "ana@acme.test"}'),
    ("POST /auth/internal", b'{"tenant": "acme", "email": "not-an-email", "password": "x"}'),
    ("POST /auth/internal", b'{"tenant": "acme", "email": "ana@acme.test", "password": ""}'),
    ("POST /auth/refresh", b'{"refresh_token": null}'),
    ("POST /auth/refresh", b'{"refresh_token": ["a"]}'),
    ("POST /auth/external", b"\xff\xfe\x00garbage"),
])
def test_malformed_bodies_are_400_validation_error(call, seeded, svc, route, raw):
    before = events_count(svc)
    r = call(route, raw_body=raw)
    assert r["status"] == 400, r
    assert r["json"]["code"] == "validation_error" and set(r["json"]) >= PROBLEM_KEYS
    assert r["headers"]["Content-Type"] == "application/problem+json"
    assert events_count(svc) == before  # nothing changed


@pytest.mark.parametrize("route", ["POST /auth/external", "POST /auth/refresh", "POST /hooks/post-login"])
@pytest.mark.parametrize("raw", [b"[" * 5000, b'{"tenant": ' + b"[" * 5000 + b"}", b'{"tenant": "\\ud800"}'])
def test_bodies_no_parser_could_take_are_400_with_an_origin_too(call, seeded, svc, route, raw):
    # Given JSON nested deeper than a parser goes, or holding a lone UTF-16 surrogate, from a browser
    before = events_count(svc)
    r = call(route, raw_body=raw, headers={"origin": ORIGIN})
    # Then it is a problem+json 400 (the CORS answer looked at the body too and did not crash)
    assert r["status"] == 400, r
    assert r["json"]["code"] == "validation_error" and r["headers"]["Content-Type"] == "application/problem+json"
    assert events_count(svc) == before


def test_oversized_body_is_400(call, seeded):
    big = json.dumps({"tenant": TENANT, "user": {"id": "x" * 20000}}).encode()
    r = call("POST /auth/external", raw_body=big)
    assert r["status"] == 400 and "larger" in r["json"]["detail"]


def test_base64_bodies_are_decoded(call, seeded, template):
    from switchboard_local.lambda_runtime import LambdaContext, http_event, load_handler

    event = http_event("POST", "/auth/external", body={"tenant": TENANT})
    event["body"], event["isBase64Encoded"] = base64.b64encode(event["body"].encode()).decode(), True
    result = load_handler(template, "LoginExternalFunction")(event, LambdaContext("LoginExternalFunction"))
    assert result["statusCode"] == 200


@pytest.mark.parametrize("body", [
    "abc",  # not a whole number of base64 quanta
    base64.b64encode(json.dumps({"tenant": TENANT}).encode()).decode() + "*",  # a character outside the alphabet
], ids=["truncated", "outside-the-alphabet"])
def test_a_body_flagged_base64_that_is_not_base64_is_400(seeded, template, svc, body):
    from switchboard_local.lambda_runtime import LambdaContext, http_event, load_handler

    # Given a request API Gateway marks as base64-encoded, whose body is not strict base64
    event = http_event("POST", "/auth/external", body={"tenant": TENANT})
    event["body"], event["isBase64Encoded"] = body, True
    before = events_count(svc)
    # When it reaches the function
    result = load_handler(template, "LoginExternalFunction")(event, LambdaContext("LoginExternalFunction"))
    # Then it is a 400 validation_error (not a 500, and not whatever lenient decoding makes of it)
    assert result["statusCode"] == 400 and json.loads(result["body"])["code"] == "validation_error", result
    assert events_count(svc) == before


def test_validation_errors_never_echo_the_input(call, seeded):
    secret_password = "hunter2-super-secret-password"
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": "x", "password": secret_password})
    assert r["status"] == 400
    assert secret_password not in json.dumps(r["json"])
    assert r["json"]["errors"] and all(set(e) == {"loc", "msg"} for e in r["json"]["errors"])


@pytest.mark.parametrize("body", [
    {"tenant": TENANT + "\n"},  # a pattern's "$" would let the newline through; "\Z" does not
    {"tenant": "\n" + TENANT},
    {"tenant": TENANT, "user": {"id": "1", "email": "ana@acme.test\n"}},
])
def test_a_trailing_or_leading_newline_does_not_pass_a_pattern(call, seeded, svc, body):
    # Given an id that would match its pattern but for a newline
    before = events_count(svc)
    # When it is sent
    r = call("POST /auth/external", body=body)
    # Then it is refused as invalid, and nothing happens
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    assert events_count(svc) == before


@pytest.mark.parametrize("body,loc", [
    ({"tenant": True}, "tenant"),  # no bool for a string
    ({"tenant": 1}, "tenant"),  # no number for a string
    ({"tenant": None}, "tenant"),  # no null for a required field
    ({"tenant": TENANT, "user": {"id": 1}}, "user.id"),
    ({"tenant": TENANT, "user": {"id": ""}}, "user.id"),
    ({"tenant": TENANT, "surprise": True}, "surprise"),  # an unknown field is named, not ignored
    ({"tenant": TENANT, "user": {"id": "1", "surprise": True}}, "user.surprise"),
    ({"user": {"id": "1"}}, "tenant"),  # a missing field is named
])
def test_a_validation_error_names_the_field_in_loc(call, seeded, body, loc):
    # When a body breaks one rule
    r = call("POST /auth/external", body=body)
    # Then the problem lists where, in dotted form, and what, and nothing else
    assert r["status"] == 400 and r["json"]["detail"] == "the request body is not valid"
    (error,) = r["json"]["errors"]
    assert error["loc"] == loc and error["msg"] and set(error) == {"loc", "msg"}


SECRET = "hunter2-super-secret-password"


@pytest.mark.parametrize("route,body", [
    ("POST /auth/internal", {"tenant": TENANT, "email": "x", "password": SECRET}),
    ("POST /auth/internal", {"tenant": "ACME!", "email": "ana@acme.test", "password": SECRET}),
    ("POST /auth/internal", {"tenant": TENANT, "email": "ana@acme.test", "password": SECRET, "extra": SECRET}),
    ("POST /auth/internal", {"tenant": TENANT, "email": "ana@acme.test", "password": [SECRET]}),
    ("POST /auth/internal", {"tenant": TENANT, "email": SECRET, "password": SECRET}),
    ("POST /auth/refresh", {"refresh_token": SECRET, "kind": SECRET}),
    ("POST /auth/external", {"tenant": TENANT, "user": {"id": "1", "hash": SECRET * 10}}),
])
def test_no_validation_error_repeats_a_submitted_value(call, seeded, route, body):
    # When a body carrying a secret is refused
    r = call(route, body=body)
    # Then the answer does not contain the secret, anywhere
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    assert SECRET not in json.dumps(r["json"])


def test_a_value_outside_a_fixed_set_is_not_repeated_either(call, seeded, tokens_for):
    # Given an operator (the revoke body's "kind" is one of a fixed set)
    token = tokens_for(OPERATOR)["access_token"]
    # When the kind is a secret pasted in the wrong place
    r = call("POST /auth/revoke", token=token, body={"kind": SECRET})
    # Then it is a validation error that does not repeat it
    assert r["status"] == 400 and r["json"]["errors"] == [{"loc": "kind", "msg": "Invalid value"}]
    assert SECRET not in json.dumps(r["json"])


def test_malformed_json_with_a_secret_in_it_is_not_repeated(call, seeded):
    r = call("POST /auth/internal", raw_body=b'{"tenant": "acme", "password": "' + SECRET.encode() + b'", }')
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"
    assert SECRET not in json.dumps(r["json"])


def test_an_error_entry_stays_small_whatever_the_body_names(call, seeded):
    # Given a body whose unknown field has a very long name
    r = call("POST /auth/external", body={"tenant": TENANT, "x" * 10_000: 1})
    # Then its error entry is bounded
    (error,) = r["json"]["errors"]
    assert r["status"] == 400 and len(error["loc"]) <= 64 and len(error["msg"]) <= 160


def test_unexpected_errors_are_a_generic_500(call, seeded, monkeypatch):
    from switchboard.auth import visitors

    def boom(*a, **k):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(visitors, "external", boom)
    r = call("POST /auth/external", body={"tenant": TENANT})
    assert r["status"] == 500 and r["json"]["code"] == "internal"
    assert "hunter2" not in json.dumps(r["json"])


def test_secrets_never_appear_in_logs_or_error_bodies(call, seeded, monkeypatch, json_logs, capsys, caplog):
    # Given the logger at DEBUG, every rendered line captured (extra= fields included)
    caplog.set_level(logging.DEBUG)
    # When there is a sign-in, a failed sign-in, a wrong identity hash, a refresh, reuse, a bad token
    ok = call("POST /auth/internal", body={"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
    bad = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"], "password": "wrong-pw-xyz"})
    ident = call("POST /auth/external", body={"tenant": TENANT, "user": {"id": "1", "hash": "ff" * 32}})
    t = ok["json"]
    r1 = call("POST /auth/refresh", body={"refresh_token": t["refresh_token"]})
    r2 = call("POST /auth/refresh", body={"refresh_token": t["refresh_token"]})
    me = call("GET /auth/me", token=t["chat_token"])
    # And a signed post-login hook call, and one signed with the wrong secret
    from switchboard.auth import hooks

    raw = json.dumps({"tenant": TENANT, "user": {"user_id": "auth0|jo"}}).encode()
    hook = call("POST /hooks/post-login", raw_body=raw, headers={"Switchboard-Signature": hooks.sign(HOOK_SECRET, raw)})
    assert hook["status"] == 200, hook
    forged = call("POST /hooks/post-login", raw_body=raw,
                  headers={"Switchboard-Signature": hooks.sign("not-the-hook-secret-0123456", raw)})
    # And a sign-in that meets a bug (a 500), its password in the body
    from switchboard.auth import logins

    def boom(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(logins, "internal", boom)
    crash = call("POST /auth/internal", body={"tenant": TENANT, "email": ADMIN["email"], "password": "crash-pw-xyz"})
    assert crash["status"] == 500
    # Then no secret is in any log line, field or error body
    out = capsys.readouterr()
    logged = json_logs.text + out.out + out.err + caplog.text
    bodies = json.dumps([bad, ident, r2, me, forged, crash])
    secrets = [ADMIN["password"], "wrong-pw-xyz", "crash-pw-xyz", IDENTITY_SECRET, HOOK_SECRET, "ff" * 32,
               t["refresh_token"], t["refresh_token"].rsplit(".", 1)[1], t["access_token"], t["chat_token"],
               r1["json"]["refresh_token"], hook["json"]["chat_token"]]
    for secret in secrets:
        assert secret not in logged, "secret leaked into logs"
        assert secret not in bodies, "secret leaked into an error body"
    # And the refusals and the bug were logged - without their secrets
    messages = [record["message"] for record in json_logs.records]
    assert "request refused" in messages and "unhandled error" in messages


@pytest.mark.parametrize("code", ["1234567", "x123456", "123456x", "123456\n", "12345"])
def test_a_totp_code_is_exactly_six_digits(call, seeded, tokens_for, code):
    # Given Otto, enrolling an authenticator
    access = tokens_for(OPERATOR)["access_token"]
    assert call("POST /auth/totp/enroll", token=access)["status"] == 200
    # When a code that is not exactly six digits is sent to confirm it, or to answer a challenge
    confirm = call("POST /auth/totp/confirm", token=access, body={"code": code})
    mfa = call("POST /auth/mfa", body={"mfa_token": "sbm1.x.y", "code": code})
    # Then both are refused as invalid input, naming the field
    for r in (confirm, mfa):
        assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
        assert [e["loc"] for e in r["json"]["errors"]] == ["code"]


@pytest.mark.parametrize(("route", "body", "query"), [
    ("POST /auth/totp/enroll", {"nope": 1}, None),
    ("POST /auth/totp/enroll", None, {"x": "1"}),
    ("GET /auth/me", None, {"x": "1"}),
    ("GET /admin/operators", None, {"x": "1"}),
    ("DELETE /admin/operators/{id}", {"junk": 1}, None),
])
def test_a_route_that_takes_nothing_refuses_what_it_is_sent_and_changes_nothing(call, seeded, svc, tokens_for,
                                                                                   route, body, query):
    # Given an admin, and Otto
    admin = tokens_for(ADMIN)["access_token"]
    otto = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    # When a bodiless, query-less route is sent a body or a query
    r = call(route, token=admin, body=body, query=query, path_params={"id": otto.id})
    # Then it is a 400, and nothing happened: Otto is still there, and nobody enrolled a secret
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    after = svc.store.staff.get(TENANT, otto.id)
    assert after is not None and after.totp_pending is None
    admin_id = svc.store.staff.get_by_email(TENANT, ADMIN["email"]).id
    assert svc.store.staff.get(TENANT, admin_id).totp_pending is None


def test_an_empty_object_is_taken_as_no_body(call, seeded, tokens_for):
    r = call("POST /auth/totp/enroll", token=tokens_for(OPERATOR)["access_token"], raw_body=b"{}")
    assert r["status"] == 200 and r["json"]["secret"]


@pytest.mark.parametrize("route", ["POST /auth/refresh", "POST /auth/revoke", "PATCH /admin/operators/{id}"])
def test_a_route_with_a_body_refuses_query_parameters_and_changes_nothing(call, seeded, svc, tokens_for, route):
    # Given an admin signed in, and Otto
    tokens = tokens_for(ADMIN)
    otto = svc.store.staff.get_by_email(TENANT, OPERATOR["email"])
    bodies = {"POST /auth/refresh": {"refresh_token": tokens["refresh_token"]}, "POST /auth/revoke": {},
              "PATCH /admin/operators/{id}": {"blocked": True}}
    # When a request that is right in its body also carries a query parameter (a typo, a stray option)
    r = call(route, token=tokens["access_token"], body=bodies[route], query={"kind": "user"},
             path_params={"id": otto.id})
    # Then it is a 400 naming the query, and nothing happened
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    assert "query" in r["json"]["detail"]
    assert call("GET /auth/me", token=tokens["access_token"])["status"] == 200  # not revoked
    assert not svc.store.staff.get(TENANT, otto.id).blocked
    refreshed = call("POST /auth/refresh", body={"refresh_token": tokens["refresh_token"]})
    assert refreshed["status"] == 200, refreshed  # the refresh token was not spent


@pytest.mark.parametrize(("route", "path_params", "body"), [
    ("GET /tenants/{tenant}/widget", {"tenant": "a" * 3000}, None),
    ("GET /tenants/{tenant}/widget", {"tenant": "ACME"}, None),
    ("PATCH /admin/operators/{id}", {"id": "op-" + "0" * 3000}, {"name": "Otto"}),
    ("DELETE /admin/operators/{id}", {"id": "x" * 1500}, None),
])
def test_a_path_value_no_record_can_have_is_not_found_without_asking_dynamodb(call, seeded, svc, tokens_for, route,
                                                                               path_params, body):
    # Given DynamoDB's own limits on key sizes (which it answers with an error, not "no item")
    from tests.conftest import dynamodb_key_limits

    admin = tokens_for(ADMIN)["access_token"]
    dynamodb_key_limits(svc.store.client)
    # When a path names a tenant or an operator no record can have (any length: it is a URL)
    r = call(route, token=admin, body=body, path_params=path_params)
    # Then it is the answer for any unknown one - 404, not 503 "retry"
    assert r["status"] == 404 and r["json"]["code"] == "not_found", r
