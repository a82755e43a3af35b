"""POST /auth/refresh - rotation on every use, reuse treated as theft, session limits."""

from __future__ import annotations

import threading
import time

import pytest
from switchboard.auth import sessions

from tests.conftest import TENANT, dynamodb_serialises_writes


def visitor(call):
    r = call("POST /auth/external", body={"tenant": TENANT})
    assert r["status"] == 200
    return r["json"]


def refresh(call, token):
    return call("POST /auth/refresh", body={"refresh_token": token})


def test_refresh_rotates_the_token_and_keeps_the_session(call, seeded, svc):
    first = visitor(call)
    r = refresh(call, first["refresh_token"])
    assert r["status"] == 200, r
    second = r["json"]
    assert second["refresh_token"] != first["refresh_token"]
    a, b = svc.tokens.verify_access(first["access_token"]), svc.tokens.verify_access(second["access_token"])
    assert a.sid == b.sid and a.sub == b.sub and a.jti != b.jti
    # and the new refresh token works once more
    assert refresh(call, second["refresh_token"])["status"] == 200


def test_refresh_token_is_stored_only_as_a_hash(call, seeded, svc):
    tokens = visitor(call)
    secret = tokens["refresh_token"].rsplit(".", 1)[1]
    raw = svc.store.client.scan(TableName=svc.store.table)["Items"]  # test-only look at every stored byte
    assert secret not in repr(raw)
    assert len(secret) >= 43  # 256 random bits, base64url


def test_reusing_a_rotated_token_revokes_the_whole_session(call, seeded):
    # Given a session whose refresh token was rotated (by its rightful owner, say)
    stolen = visitor(call)
    fresh = refresh(call, stolen["refresh_token"])["json"]
    # When the old token is presented again (by a thief)
    r = refresh(call, stolen["refresh_token"])
    # Then it is refused as reuse
    assert r["status"] == 401 and r["json"]["code"] == "token_reused"
    # And the whole session is dead: the newest refresh token and the access token too
    assert refresh(call, fresh["refresh_token"])["json"]["code"] == "session_revoked"
    me = call("GET /auth/me", token=fresh["access_token"])
    assert me["status"] == 401 and me["json"]["code"] == "session_revoked"


def test_reuse_is_audited(call, seeded, svc):
    t = visitor(call)
    refresh(call, t["refresh_token"])
    refresh(call, t["refresh_token"])
    kinds = [e.kind for e in svc.store.events.page(TENANT, limit=10)[0]]
    assert "token_reused" in kinds and "refresh" in kinds


def _locator(*parts: str) -> str:
    import base64

    return base64.urlsafe_b64encode("\n".join(parts).encode()).decode().rstrip("=")


@pytest.mark.parametrize("token", ["", "garbage", "sbr1.x.y", "sbr1." + "A" * 20 + "." + "B" * 43,
                                   "sbr1.YWNtZQp1Cm5vCjA." + "C" * 43,
                                   # generations no DynamoDB number holds, or int() alone would take
                                   f"sbr1.{_locator('acme', 'u', 's', '9' * 40)}." + "C" * 43,
                                   f"sbr1.{_locator('acme', 'u', 's', ' 1')}." + "C" * 43,
                                   f"sbr1.{_locator('acme', 'u', 's', '1_0')}." + "C" * 43,
                                   "sbr1." + _locator("acme", "u", "s", "\u0661") + "." + "C" * 43,  # an Arabic-Indic 1
                                   # ids of forms Switchboard never issues
                                   f"sbr1.{_locator('acme', 'u#S', 's', '1')}." + "C" * 43,
                                   f"sbr1.{_locator('', 'u', 's', '1')}." + "C" * 43])
def test_malformed_or_unknown_tokens_are_invalid(call, seeded, token):
    r = refresh(call, token)
    assert r["status"] in (400, 401)
    assert r["json"]["code"] in ("invalid_token", "validation_error")


def test_a_guessed_secret_for_a_real_session_does_not_revoke_it(call, seeded):
    # A wrong secret is not proof of theft (only a genuinely rotated token is), so
    # someone who learns a session id cannot log its owner out.
    t = visitor(call)
    prefix = t["refresh_token"].rsplit(".", 1)[0]
    r = refresh(call, prefix + "." + "x" * 43)
    assert r["json"]["code"] == "invalid_token"
    assert refresh(call, t["refresh_token"])["status"] == 200


def test_idle_limit_ends_the_session(call, seeded, svc):
    t = visitor(call)
    later = svc.tokens.verify_access(t["access_token"]).exp + svc.settings.session_idle_seconds + 1
    with pytest.raises(Exception) as err:
        sessions.refresh(svc, t["refresh_token"], now=later)
    assert getattr(err.value, "code", None) == "session_revoked"


def test_the_idle_limit_counts_from_the_last_refresh(call, seeded, svc):
    # Given a session refreshed once, a minute after it began
    t = visitor(call)
    created = svc.tokens.verify_access(t["access_token"]).exp - svc.settings.access_ttl
    rotated = sessions.refresh(svc, t["refresh_token"], now=created + 60).refresh_token
    # When nothing happens for longer than the idle limit after that refresh
    later = created + 60 + svc.settings.session_idle_seconds + 1
    # Then the session has ended: a refresh does not keep it alive for longer than one idle period
    with pytest.raises(Exception) as err:
        sessions.refresh(svc, rotated, now=later)
    assert getattr(err.value, "code", None) == "session_revoked"


def test_absolute_limit_ends_the_session_even_when_active(call, seeded, svc):
    t = visitor(call)
    created = svc.tokens.verify_access(t["access_token"]).exp - svc.settings.access_ttl
    token, now = t["refresh_token"], created
    step = svc.settings.session_idle_seconds - 60
    while now + step < created + svc.settings.session_absolute_seconds:
        now += step
        token = sessions.refresh(svc, token, now=now).refresh_token  # active all along
    with pytest.raises(Exception) as err:
        sessions.refresh(svc, token, now=created + svc.settings.session_absolute_seconds + 1)
    assert getattr(err.value, "code", None) == "session_revoked"


def test_two_racing_refreshes_of_one_token_exactly_one_wins(call, seeded):
    with dynamodb_serialises_writes():
        for _ in range(5):
            token = visitor(call)["refresh_token"]
            barrier = threading.Barrier(2)
            results: list[dict] = []

            def go(token=token, barrier=barrier, results=results):
                barrier.wait()
                results.append(refresh(call, token))

            threads = [threading.Thread(target=go) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            statuses = sorted(r["status"] for r in results)
            # exactly one rotation succeeds; the other is the reuse of a rotated token
            assert statuses == [200, 401], results
            assert [r["json"]["code"] for r in results if r["status"] == 401] == ["token_reused"]


def test_a_refresh_that_fails_midway_spends_nothing_and_the_retry_works(call, seeded, svc, monkeypatch):
    # Given a visitor, and the signing keys unavailable for a moment (Secrets Manager throttled)
    t = visitor(call)
    from switchboard.errors import Unavailable

    def no_keys():
        raise Unavailable("signing keys are not available")

    monkeypatch.setattr(svc.signing_keys, "ring", no_keys)
    # When they refresh
    r = refresh(call, t["refresh_token"])
    # Then they are told to come back later, and nothing was spent or recorded
    assert r["status"] == 503 and r["json"]["code"] == "unavailable"
    assert "refresh" not in [e.kind for e in svc.store.events.page(TENANT, limit=20)[0]]
    # And once the keys are back, the same token refreshes (no "reuse", the session lives on)
    monkeypatch.undo()
    r = refresh(call, t["refresh_token"])
    assert r["status"] == 200, r
    assert call("GET /auth/me", token=r["json"]["access_token"])["status"] == 200


def test_a_refresh_and_its_event_are_one_write(call, seeded, svc, monkeypatch):
    # Given a refresh whose audit event DynamoDB refuses (here: an event item with an empty key)
    from switchboard.store import codecs

    t = visitor(call)
    sid = svc.tokens.verify_access(t["access_token"]).sid
    event_item = codecs.event_item
    monkeypatch.setattr(codecs, "event_item", lambda e, ttl: {**event_item(e, ttl), "sk": ""})
    # When it is tried
    r = refresh(call, t["refresh_token"])
    # Then nothing was written: not the event, and not the rotation either (the token still works)
    assert r["status"] == 503
    monkeypatch.undo()
    assert "refresh" not in [e.kind for e in svc.store.events.page(TENANT, limit=20)[0]]
    assert refresh(call, t["refresh_token"])["status"] == 200
    # And with both written, the event names the session
    events = [e for e in svc.store.events.page(TENANT, limit=20)[0] if e.kind == "refresh"]
    assert [e.session_id for e in events] == [sid]


def test_each_rotation_is_sent_with_its_own_idempotency_token(call, seeded, svc):
    # DynamoDB answers a transaction sent again with the same ClientRequestToken (the SDK's retry
    # after a lost answer) as the one it already did, instead of failing its condition - which here
    # would look like reuse and end the session. moto ignores the token, so this checks what is
    # sent: every rotation carries one, and two refreshes (racing ones too) never share it, or the
    # loser would get IdempotentParameterMismatch instead of being recognised.
    client = svc.store.client
    sent: list[dict] = []

    def remember(params, **_):
        sent.append(params)

    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", remember)
    try:
        first = refresh(call, visitor(call)["refresh_token"])["json"]
        refresh(call, first["refresh_token"])
        refresh(call, visitor(call)["refresh_token"])
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", remember)
    rotations = [p for p in sent if any("Update" in item for item in p["TransactItems"])]
    tokens = [p.get("ClientRequestToken") for p in rotations]
    assert len(rotations) == 3 and all(tokens) and len(set(tokens)) == 3


def test_reuse_is_caught_however_many_rotations_ago_the_token_was_rotated(call, seeded, svc):
    # Given a session whose refresh token has been rotated 40 times
    t = visitor(call)
    first = token = t["refresh_token"]
    start = int(time.time())
    for i in range(1, 41):  # one a minute, within the rate limit
        token = sessions.refresh(svc, token, now=start + 61 * i).refresh_token
    # When the very first token comes back (stolen long ago)
    r = refresh(call, first)
    # Then that is theft: the whole session is revoked
    assert r["status"] == 401 and r["json"]["code"] == "token_reused"
    assert refresh(call, token)["json"]["code"] in ("session_revoked", "invalid_token")
    # And the remembered hashes are items of their own, not sessions
    sid = svc.tokens.verify_access(t["access_token"]).sid
    listed = svc.store.sessions.of_user(TENANT, svc.tokens.verify_access(t["access_token"]).sub)
    assert [s.id for s in listed] == [sid]


def test_a_session_and_its_rotated_hashes_expire_a_day_after_the_session(call, seeded, svc):
    # Given a visitor's session, refreshed once
    t = visitor(call)
    assert refresh(call, t["refresh_token"])["status"] == 200
    # When we look at what was stored for it
    claims = svc.tokens.verify_access(t["access_token"])
    rows = svc.store.client.query(
        TableName=svc.store.table, KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"U#{TENANT}#{claims.sub}"}}, ConsistentRead=True)["Items"]
    by_kind = {r["sk"]["S"].split("#", 1)[0]: r for r in rows}
    # Then the session and the rotated hash both carry a TTL: DynamoDB deletes them a day after the session ends
    expires = int(by_kind["S"]["expires_at"]["N"])
    assert int(by_kind["S"]["ttl"]["N"]) == expires + 86400
    assert int(by_kind["RT"]["ttl"]["N"]) == expires + 86400
