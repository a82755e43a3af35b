"""The signing keys' rotation: Secrets Manager's four steps, driven as Secrets Manager drives them
(moto's RotateSecret: it labels a new version AWSPENDING, then invokes the rotation function for
createSecret, setSecret, testSecret and finishSecret), and the public-only verification set it
publishes for the functions that never sign."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from switchboard_local.provision import LOCAL_REFS

SIGNING, VERIFY = LOCAL_REFS["SigningKeys"], LOCAL_REFS["VerifyKeys"]


@pytest.fixture
def rotation(aws, monkeypatch):
    """Secrets Manager (moto) invoking the rotation function's handler in-process; returns the steps seen."""
    from moto.awslambda.utils import get_backend
    from switchboard.tokens import key_rotation

    backend = get_backend("123456789012", "us-east-1")
    steps: list[str] = []

    def invoke(self: Any, function_name: str, qualifier: Any, body: str, headers: Any, response_headers: Any) -> bytes:
        event = json.loads(body)
        steps.append(event["Step"])
        key_rotation.rotate_step(step=event["Step"], secret_id=event["SecretId"], token=event["ClientRequestToken"])
        return b""

    monkeypatch.setattr(type(backend), "get_function", lambda self, arn, qualifier=None: object())
    monkeypatch.setattr(type(backend), "invoke", invoke)
    return steps


def _current(name: str) -> dict[str, Any]:
    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])


def test_secrets_managers_rotation_stages_a_new_key_and_publishes_the_public_set(rotation):
    sm = boto3.client("secretsmanager")
    before = _current(SIGNING)
    # When Secrets Manager rotates the key set (as the schedule, or RotateImmediatelyOnUpdate, does)
    sm.rotate_secret(SecretId=SIGNING, RotateImmediately=True,
                     RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:key-rotation")
    # Then our function ran the four steps, and the key set has a new key in front of the old one
    assert rotation == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    after = _current(SIGNING)
    assert [k["kid"] for k in after["keys"]][1:] == [k["kid"] for k in before["keys"]]
    new = after["keys"][0]
    assert new["active_from"] > new["created_at"]  # staged: published before it signs
    # And the verification set holds the same keys with their activation times, and no private part
    public = _current(VERIFY)
    assert [(k["kid"], k["active_from"]) for k in public["keys"]] == [(k["kid"], k["active_from"])
                                                                        for k in after["keys"]]
    assert all(set(k) == {"kid", "alg", "crv", "x", "y", "active_from"} for k in public["keys"])


def test_a_client_caching_the_jwks_as_told_holds_a_new_key_before_it_signs(rotation, call, seeded, svc):
    # Given how long the JWKS answer may be cached, and how stale the JWKS function's own copy may be
    cache_control = call("GET /.well-known/jwks.json")["headers"]["Cache-Control"]
    max_age = int(cache_control.split("max-age=")[1].split(",")[0])
    settings = svc.settings
    # When the key set rotates (as Secrets Manager drives it, under this deployment's settings)
    boto3.client("secretsmanager").rotate_secret(
        SecretId=SIGNING, RotateImmediately=True,
        RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:key-rotation")
    new, previous = _current(SIGNING)["keys"][:2]
    # Then the new key is published longer before it signs than the JWKS function's cache and a
    # client's cache together: whoever caches the JWKS as told has the key before its first token
    lead = new["active_from"] - new["created_at"]
    assert settings.keys_cache_seconds + max_age < lead
    # And a superseded key stays far longer than any cached JWKS lives (its tokens still verify)
    assert max_age < max(settings.access_ttl, settings.chat_ttl) + 60
    assert previous["kid"] in [k["kid"] for k in _current(VERIFY)["keys"]]


def test_a_function_that_only_verifies_reads_only_the_public_keys(call, seeded, svc, monkeypatch):
    from switchboard import runtime
    from switchboard.tokens import keys

    from tests.conftest import OPERATOR, TENANT

    # Given a token minted by a sign-in
    token = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                              "password": OPERATOR["password"]})["json"]["access_token"]
    # And a cold container (its key sets not read yet), recording which secrets it reads
    read: list[str] = []
    fetch = keys._fetch_secret
    monkeypatch.setattr(keys, "_fetch_secret", lambda sid, age, force: read.append(sid) or fetch(sid, age, force))
    runtime.services.cache_clear()
    # When it checks that token (GET /auth/me, the JWKS)
    assert call("GET /auth/me", token=token)["status"] == 200
    jwks = call("GET /.well-known/jwks.json")["json"]
    # Then it read the verification set alone, and the JWKS is the key set's public keys
    assert set(read) == {VERIFY}
    assert [k["kid"] for k in jwks["keys"]] == [k["kid"] for k in _current(SIGNING)["keys"]]
    # And a sign-in (which signs) reads the key set itself
    read.clear()
    assert call("POST /auth/external", body={"tenant": TENANT})["status"] == 200
    assert SIGNING in read


def _cold_key_caches() -> None:
    """As in a fresh container: no key set read yet (a process running many functions, as the
    tests and `switchboard dev` do, would otherwise serve the next function from the cache)."""
    from aws_lambda_powertools.utilities import parameters
    from switchboard import runtime
    from switchboard.tokens import keys

    runtime.services.cache_clear()
    keys._provider.cache_clear()
    parameters.clear_caches()


def test_every_function_that_signs_may_read_the_private_keys(call, seeded):
    # Each sign-in route, run as its own function from a cold container: its first signature reads
    # SigningKeys under that function's policy (the local IAM check holds the secret it names)
    from switchboard.auth import hooks

    from tests.conftest import HOOK_SECRET, OPERATOR, TENANT

    _cold_key_caches()
    visitor = call("POST /auth/external", body={"tenant": TENANT})
    assert visitor["status"] == 200, visitor
    _cold_key_caches()
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                          "password": OPERATOR["password"]})
    assert r["status"] == 200, r
    _cold_key_caches()
    r = call("POST /auth/refresh", body={"refresh_token": visitor["json"]["refresh_token"]})
    assert r["status"] == 200, r
    _cold_key_caches()
    raw = json.dumps({"tenant": TENANT, "user": {"user_id": "auth0|cold"}}).encode()
    r = call("POST /hooks/post-login", raw_body=raw, headers={"Switchboard-Signature": hooks.sign(HOOK_SECRET, raw)})
    assert r["status"] == 200, r


def test_a_function_that_only_verifies_is_refused_the_private_keys_by_name_or_arn(aws, template):
    from botocore.exceptions import ClientError

    from switchboard_local import iam

    sm = boto3.client("secretsmanager")
    arn = sm.describe_secret(SecretId=SIGNING)["ARN"]
    iam.enforce()
    with iam.running(template, "MeFunction"):
        sm.get_secret_value(SecretId=VERIFY)
        for secret_id in (SIGNING, arn, "some-other-secret"):
            with pytest.raises(ClientError) as denied:
                sm.get_secret_value(SecretId=secret_id)
            assert denied.value.response["Error"]["Code"] == "AccessDeniedException", secret_id


def _versions(name: str) -> dict[str, list[str]]:
    return boto3.client("secretsmanager").describe_secret(SecretId=name)["VersionIdsToStages"]


def _stage_pending(value: dict[str, Any]) -> str:
    """A version labelled AWSPENDING holding ``value`` (as createSecret leaves it)."""
    token = "pending-0123456789abcdef0123456789ab"  # a version id, as Secrets Manager makes them
    boto3.client("secretsmanager").put_secret_value(SecretId=SIGNING, ClientRequestToken=token,
                                                    SecretString=json.dumps(value), VersionStages=["AWSPENDING"])
    return token


def test_every_step_run_again_changes_nothing(rotation):
    from switchboard.tokens import key_rotation

    # Given a rotation that has finished
    sm = boto3.client("secretsmanager")
    sm.rotate_secret(SecretId=SIGNING, RotateImmediately=True,
                     RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:key-rotation")
    token = next(v for v, stages in _versions(SIGNING).items() if "AWSCURRENT" in stages)
    signing, public = _current(SIGNING), _current(VERIFY)
    # (and its version no longer labelled AWSPENDING, as Secrets Manager leaves it; moto keeps the label)
    sm.update_secret_version_stage(SecretId=SIGNING, VersionStage="AWSPENDING", RemoveFromVersionId=token)
    # When Secrets Manager runs each step again with that version (a retried invocation)
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        key_rotation.rotate_step(step=step, secret_id=SIGNING, token=token)
    # Then nothing changed: the same key set is current, and the same public set published
    assert _current(SIGNING) == signing and _current(VERIFY) == public
    assert "AWSCURRENT" in _versions(SIGNING)[token]


def test_a_retried_create_step_keeps_the_pending_set_it_wrote(aws):
    from switchboard.tokens import key_rotation
    from switchboard.tokens.keys import rotate_keyset

    # Given a pending version whose value the first createSecret wrote
    staged = rotate_keyset(_current(SIGNING))
    token = _stage_pending(staged)
    # When createSecret runs again for it
    key_rotation.rotate_step(step="createSecret", secret_id=SIGNING, token=token)
    # Then the pending value is the one written first (not a second new key)
    pending = boto3.client("secretsmanager").get_secret_value(SecretId=SIGNING, VersionId=token)
    assert json.loads(pending["SecretString"]) == staged


def test_a_token_that_is_not_the_pending_version_is_refused(aws):
    from switchboard.tokens import key_rotation

    # Given a key set rotated once outside the schedule: its former version is AWSPREVIOUS
    key_rotation.rotate_now(SIGNING)
    previous = next(v for v, stages in _versions(SIGNING).items() if "AWSPREVIOUS" in stages)
    before = _current(SIGNING)
    # When a rotation step names that version, or one the secret does not have
    for token in (previous, "no-such-version-0123456789abcdef0123"):
        for step in ("createSecret", "testSecret", "finishSecret"):
            with pytest.raises(ValueError, match="rotation token"):
                key_rotation.rotate_step(step=step, secret_id=SIGNING, token=token)
    # Then it is refused and the current set is unchanged
    assert _current(SIGNING) == before


@pytest.mark.parametrize("broken", ["empty", "public_only", "duplicate_kid"])
def test_the_test_step_refuses_a_pending_set_that_cannot_sign_and_verify(aws, broken):
    from switchboard.errors import InvalidToken
    from switchboard.tokens import key_rotation
    from switchboard.tokens.keys import generate_key_entry, public_keyset

    # Given a pending key set that parses but cannot do its job: no key, public keys only, or two
    # keys under one kid (behind a good one: every key is probed, not just the newest)
    good, first, second = generate_key_entry(), generate_key_entry(), generate_key_entry()
    value = {"empty": {"keys": []},
             "public_only": public_keyset({"keys": [good]}),
             "duplicate_kid": {"keys": [good, first, {**second, "kid": first["kid"]}]}}[broken]
    token = _stage_pending(value)
    # When Secrets Manager runs testSecret
    # Then the step fails (and so the rotation stops before finishSecret makes it current)
    with pytest.raises((ValueError, InvalidToken)):
        key_rotation.rotate_step(step="testSecret", secret_id=SIGNING, token=token)


def test_an_old_key_stays_while_the_longest_lived_token_it_signed_can(aws):
    import time

    from switchboard.settings import get_settings
    from switchboard.tokens import key_rotation
    from switchboard.tokens.keys import generate_key_entry

    # Given a key set whose newest key took over a while ago, behind the key it replaced, and
    # chat tokens that live longer than access tokens
    s = get_settings()
    longest = max(s.access_ttl, s.chat_ttl)
    assert s.chat_ttl != s.access_ttl
    now = int(time.time())
    oldest, older = generate_key_entry(now - 3 * longest), generate_key_entry(now - 2 * longest)
    took_over_within = generate_key_entry(now - longest, active_from=now - longest)
    boto3.client("secretsmanager").put_secret_value(SecretId=SIGNING,
                                                    SecretString=json.dumps({"keys": [took_over_within, older]}))
    # When the set rotates
    key_rotation.rotate_now(SIGNING)
    # Then the key it replaced stays: tokens it signed just before the takeover may still be alive
    assert [k["kid"] for k in _current(SIGNING)["keys"]][1:] == [took_over_within["kid"], older["kid"]]
    # But a key replaced longer ago than any token lives is dropped
    long_ago = generate_key_entry(now - 2 * longest, active_from=now - longest - 120)
    boto3.client("secretsmanager").put_secret_value(SecretId=SIGNING,
                                                    SecretString=json.dumps({"keys": [long_ago, oldest]}))
    key_rotation.rotate_now(SIGNING)
    assert [k["kid"] for k in _current(SIGNING)["keys"]][1:] == [long_ago["kid"]]
