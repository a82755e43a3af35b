"""Rate limits on sign-in, MFA, refresh and hooks: shared counters in DynamoDB, fixed clock
windows, 429 with Retry-After and the IETF ratelimit headers, and no lock-out past the window."""

from __future__ import annotations

import threading
import types

import pytest
from switchboard.auth import ratelimit
from switchboard.errors import RateLimited

from tests.conftest import ADMIN, OPERATOR, TENANT, dynamodb_serialises_writes


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock, set to the first second of a fresh hour."""
    c = Clock(1_800_000_000 - 1_800_000_000 % 3600)
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=c.time))
    return c


def sign_in(call, password, ip="203.0.113.9", who=OPERATOR):
    return call("POST /auth/internal", body={"tenant": TENANT, "email": who["email"], "password": password},
                source_ip=ip)


def test_the_eleventh_attempt_in_a_minute_is_429_with_the_headers(call, seeded, clock, monkeypatch):
    # Given ten wrong passwords for Otto within one minute
    for _ in range(10):
        assert sign_in(call, "wrong")["json"]["code"] == "invalid_credentials"
    from switchboard.auth import passwords

    checked: list[str] = []
    verify = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda h, pw: checked.append(pw) or verify(h, pw))
    # When an eleventh comes, even with the right password
    r = sign_in(call, OPERATOR["password"])
    # Then it is refused before any password check, saying when to come back and under which policy
    assert checked == []
    assert r["status"] == 429 and r["json"]["code"] == "rate_limited"
    assert r["headers"]["Content-Type"] == "application/problem+json"
    assert r["headers"]["Retry-After"] == "60"
    assert r["headers"]["RateLimit-Policy"] == '"account-minute";q=10;w=60, "account-hour";q=100;w=3600'
    assert r["headers"]["RateLimit"] == '"account-minute";r=0;t=60'


def test_the_window_edge_the_last_second_still_counts_and_the_next_minute_is_free(call, seeded, clock):
    # Given ten attempts at second 0 of a minute
    for _ in range(10):
        sign_in(call, "wrong")
    # When the eleventh comes at second 59 - the same window - it is refused, Retry-After 1
    clock.now += 59
    r = sign_in(call, OPERATOR["password"])
    assert r["status"] == 429 and r["headers"]["Retry-After"] == "1"
    # And at second 60 the window has turned: the right password works
    clock.now += 1
    assert sign_in(call, OPERATOR["password"])["status"] == 200


def test_an_attacker_cannot_lock_an_operator_out_beyond_the_window(call, seeded, clock):
    # Given an attacker hammering Otto's account through the whole minute (every refused try counted)
    for second in range(0, 60, 2):
        clock.now = clock.now - clock.now % 60 + second
        sign_in(call, "guess", ip=f"198.51.100.{second}")
    assert sign_in(call, OPERATOR["password"])["status"] == 429
    # When the attacker stops, Otto is back as soon as the minute turns
    clock.now = clock.now - clock.now % 60 + 60
    assert sign_in(call, OPERATOR["password"])["status"] == 200


def test_the_hourly_quota_bounds_bursts_across_minutes(call, seeded, clock):
    # Given ten attempts in each of ten minutes (each minute within its own quota)
    for minute in range(10):
        clock.now = clock.now - clock.now % 3600 + minute * 60
        for _ in range(10):
            assert sign_in(call, "wrong")["status"] == 401
    # Then the hundred-and-first in the hour is refused until the hour turns
    clock.now += 60
    r = sign_in(call, OPERATOR["password"])
    assert r["status"] == 429
    assert r["headers"]["RateLimit"].startswith('"account-hour";r=0;')
    assert int(r["headers"]["Retry-After"]) == 3600 - int(clock.now) % 3600
    clock.now = clock.now - clock.now % 3600 + 3600
    assert sign_in(call, OPERATOR["password"])["status"] == 200


def test_one_account_limited_leaves_the_others_alone(call, seeded, clock):
    for _ in range(11):
        sign_in(call, "wrong")
    assert sign_in(call, ADMIN["password"], who=ADMIN)["status"] == 200


def test_refresh_is_limited_per_session(call, tokens_for, clock):
    refresh = tokens_for(ADMIN)["refresh_token"]
    for _ in range(10):
        r = call("POST /auth/refresh", body={"refresh_token": refresh})
        assert r["status"] == 200, r
        refresh = r["json"]["refresh_token"]
    r = call("POST /auth/refresh", body={"refresh_token": refresh})
    assert r["status"] == 429 and "Retry-After" in r["headers"]


def test_the_account_is_one_whatever_the_case_of_its_email(call, seeded, clock):
    # Given ten wrong passwords for Otto from one address, each with his email written differently
    # (from many addresses: test_the_ceiling_counts_the_account_whatever_the_case_of_its_email)
    email = OPERATOR["email"]
    spellings = [email.upper(), email.title(), email.capitalize(), email.swapcase(), email]
    for i in range(10):
        r = call("POST /auth/internal", body={"tenant": TENANT, "email": spellings[i % 5], "password": "wrong"},
                 source_ip="198.51.100.7")
        assert r["json"]["code"] == "invalid_credentials"
    # When an eleventh comes, in yet another spelling
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": email.upper(), "password": OPERATOR["password"]},
             source_ip="198.51.100.7")
    # Then it is the same account's eleventh attempt: refused
    assert r["status"] == 429 and r["headers"]["RateLimit-Policy"].startswith('"account-minute"')


def test_guesses_at_the_current_password_are_limited_per_account(call, tokens_for, clock):
    # Given someone holding Otto's access token (not his password) guessing it, from ten addresses
    otto = tokens_for(OPERATOR)["access_token"]
    for i in range(10):
        r = call("POST /auth/password", token=otto, source_ip=f"198.51.100.{i}",
                 body={"current_password": f"guess-{i}", "new_password": "mallory-new-password"})
        assert r["json"]["code"] == "invalid_credentials", r
    # When an eleventh comes within the minute, even the right one, from yet another address
    r = call("POST /auth/password", token=otto, source_ip="198.51.100.99",
             body={"current_password": OPERATOR["password"], "new_password": "mallory-new-password"})
    # Then it is refused unchecked, and the password is unchanged
    assert r["status"] == 429 and r["headers"]["RateLimit-Policy"].startswith('"account-minute"'), r
    assert sign_in(call, OPERATOR["password"], ip="198.51.100.100")["status"] == 200


def test_attempts_at_an_invitation_are_limited_per_invitee(call, tokens_for, clock):
    # Given an invited operator, and ten wrong tokens naming them, from ten addresses
    admin = tokens_for(ADMIN)["access_token"]
    r = call("POST /admin/operators", token=admin, body={"email": "ivy@acme.test", "name": "Ivy"})
    invite = r["json"]["invite_token"]
    prefix, locator, secret = invite.split(".")
    for i in range(10):
        r = call("POST /auth/invite", source_ip=f"198.51.100.{i}",
                 body={"invite_token": f"{prefix}.{locator}.{str(i) * len(secret)}", "password": "guess-password"})
        assert r["json"]["code"] == "invalid_token", r
    # When an eleventh comes within the minute, from yet another address
    r = call("POST /auth/invite", source_ip="198.51.100.99", body={"invite_token": invite, "password": "ivy-password"})
    # Then it is refused unchecked; once the minute turns the invitation works
    assert r["status"] == 429 and r["headers"]["RateLimit-Policy"].startswith('"account-minute"'), r
    clock.now += 60
    r = call("POST /auth/invite", source_ip="198.51.100.99", body={"invite_token": invite, "password": "ivy-password"})
    assert r["status"] == 200, r


def spend_the_ip_quota(call, route: str, body, ip: str = "192.0.2.77") -> dict:
    """Send ``body(i)`` to ``route`` from one IP until one past the per-IP minute quota (60)."""
    for i in range(60):
        r = call(route, body=body(i), source_ip=ip)
        assert r["status"] != 429, (i, r)
    return call(route, body=body(60), source_ip=ip)


def test_sign_ins_from_one_ip_are_limited_across_accounts(call, seeded, clock):
    # Given 60 operator sign-ins from one address, each for another (unknown) account
    r = spend_the_ip_quota(call, "POST /auth/internal",
                           lambda i: {"tenant": TENANT, "email": f"nobody-{i}@acme.test", "password": "guess"})
    # Then the 61st is refused under the IP's policy, and another address is fine
    assert r["status"] == 429 and r["headers"]["RateLimit-Policy"].startswith('"ip-minute";q=60')
    other = call("POST /auth/internal", body={"tenant": TENANT, "email": "nobody@acme.test", "password": "guess"},
                 source_ip="192.0.2.78")
    assert other["json"]["code"] == "invalid_credentials"


def test_visitor_sign_ins_from_one_ip_are_limited(call, seeded, clock):
    r = spend_the_ip_quota(call, "POST /auth/external", lambda i: {"tenant": TENANT})
    assert r["status"] == 429 and r["headers"]["RateLimit-Policy"].startswith('"ip-minute";q=60')
    assert call("POST /auth/external", body={"tenant": TENANT}, source_ip="192.0.2.78")["status"] == 200


def test_refreshes_from_one_ip_are_limited_across_sessions(call, seeded, clock, monkeypatch):
    # refresh tokens of sessions that do not exist still count: guessing them is what the limit stops
    import base64

    from switchboard.auth import sessions

    # refresh reads its own clock and hands it to the limiter: the test's clock, so the 61
    # attempts never straddle a real minute's end (a flake on a loaded machine)
    monkeypatch.setattr(sessions, "time", types.SimpleNamespace(time=clock.time))

    def guessed(i: int) -> dict:
        locator = base64.urlsafe_b64encode(f"{TENANT}\nv-guess\ns-guess-{i}\n1".encode()).decode().rstrip("=")
        return {"refresh_token": f"sbr1.{locator}.{'x' * 43}"}

    assert call("POST /auth/refresh", body=guessed(0), source_ip="192.0.2.78")["json"]["code"] == "invalid_token"
    r = spend_the_ip_quota(call, "POST /auth/refresh", guessed)
    assert r["status"] == 429 and r["headers"]["RateLimit-Policy"].startswith('"ip-minute";q=60')


def test_retry_after_is_the_longest_wait_of_the_keys_refused(svc, clock):
    # Given an account that spent its hourly quota (10 a minute for ten minutes) ...
    hour = clock.now
    for i in range(100):
        ratelimit.check(svc.store, svc.settings, [("account", "hour-spent")], now=hour + (i // 10) * 60 + i % 10)
    # ... and, half a minute into the eleventh minute, an IP that spent its minute quota
    clock.now = hour + 10 * 60 + 30
    for i in range(60):
        ratelimit.check(svc.store, svc.settings, [("ip", "192.0.2.9"), ("account", f"other-{i}")])
    # When an attempt counts against both
    with pytest.raises(RateLimited) as refused:
        ratelimit.check(svc.store, svc.settings, [("ip", "192.0.2.9"), ("account", "hour-spent")])
    # Then the client is told to wait until both have passed: the rest of the hour, not of the minute
    assert refused.value.retry_after == 3600 - 630
    assert refused.value.limit == f'"account-hour";r=0;t={3600 - 630}'


def test_per_ip_quota(svc, clock):
    # Given a client IP over its quota (60 a minute) across many accounts
    for i in range(60):
        ratelimit.check(svc.store, svc.settings, [("account", f"user-{i}"), ("ip", "192.0.2.1")])
    # Then the next attempt from that IP is refused, for any account, and another IP is fine
    with pytest.raises(RateLimited) as refused:
        ratelimit.check(svc.store, svc.settings, [("account", "fresh"), ("ip", "192.0.2.1")])
    assert refused.value.policy.startswith('"ip-minute";q=60;w=60')
    ratelimit.check(svc.store, svc.settings, [("account", "fresh-2"), ("ip", "192.0.2.2")])


def test_an_ipv6_client_is_counted_by_its_64_network_not_each_address(svc, clock):
    # Given 60 attempts from 60 addresses of one IPv6 /64 (one host can use them all)
    for i in range(60):
        ratelimit.check(svc.store, svc.settings, [("account", f"user-{i}"), ("ip", f"2001:db8:1:2::{i + 1:x}")])
    # Then the next address of that /64 is refused, and a neighbouring /64 is not
    with pytest.raises(RateLimited):
        ratelimit.check(svc.store, svc.settings, [("account", "fresh"), ("ip", "2001:db8:1:2:ffff::9")])
    ratelimit.check(svc.store, svc.settings, [("account", "fresh-2"), ("ip", "2001:db8:1:3::1")])


@pytest.mark.parametrize(("ip", "bucket"), [
    ("192.0.2.7", "192.0.2.7"),
    ("::ffff:192.0.2.7", "192.0.2.7"),                 # an IPv4 client seen through an IPv6 socket
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("not an address", "not an address"),
])
def test_what_one_client_controls(ip, bucket):
    assert ratelimit.client_bucket(ip) == bucket


def test_the_counter_is_shared_and_exact_under_concurrent_attempts(svc, clock):
    # Given 25 attempts on one account at the same moment, from many containers at once
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(25)

    def attempt() -> None:
        barrier.wait()
        try:
            ratelimit.check(svc.store, svc.settings, [("account", "busy")])
            result = "ok"
        except RateLimited:
            result = "limited"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(25)]
    with dynamodb_serialises_writes():  # DynamoDB's per-item atomicity, which moto lacks
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # Then exactly the quota got through: no lost update, no double count
    assert outcomes.count("ok") == 10 and outcomes.count("limited") == 15
    hour_count, minute_count = svc.store.counters.hit_rate("account#busy", now=int(clock.now))
    assert (hour_count, minute_count) == (26, 26)


def test_counters_expire(svc, clock):
    svc.store.counters.hit_rate("account#someone", now=int(clock.now))
    item = svc.store.client.get_item(TableName=svc.store.table,
                                     Key={"pk": {"S": "RL#account#someone"}, "sk": {"S": f"H#{int(clock.now)}"}})
    assert int(item["Item"]["ttl"]["N"]) == int(clock.now) + 7200


def test_quotas_come_from_the_settings(monkeypatch, aws):
    from switchboard.settings import Settings

    s = Settings.from_env({"RATE_LIMIT_ACCOUNT": "3/30", "RATE_LIMIT_IP": "7/70"})
    q = ratelimit.quotas(s)
    assert (q["account"].per_minute, q["account"].per_hour, q["ip"].per_minute, q["ip"].per_hour) == (3, 30, 7, 70)


def test_the_ceiling_for_unknown_devices_comes_from_the_settings(template):
    from switchboard.settings import Settings

    from switchboard_local.provision import shared_environment

    # the template's parameter reaches every function, and its value sets the quota
    assert shared_environment(template)["RATE_LIMIT_UNTRUSTED"] == "30/300"
    q = ratelimit.quotas(Settings.from_env({"RATE_LIMIT_UNTRUSTED": "5/50"}))["untrusted"]
    assert (q.per_minute, q.per_hour) == (5, 50)


def test_a_cold_container_makes_one_client_however_many_counters_start_at_once(aws, monkeypatch):
    # Given a cold container: no DynamoDB client yet, and making one takes a while
    import time as real_time

    from switchboard.settings import get_settings
    from switchboard.store import Store, dynamo

    made: list[object] = []
    make = dynamo.dynamodb_client.__wrapped__

    def slow_client():
        real_time.sleep(0.05)
        made.append(object())
        return make()

    slow_client.cache_clear = lambda: None  # type: ignore[attr-defined]  # the fixtures' teardown clears caches
    monkeypatch.setattr(dynamo, "dynamodb_client", slow_client)
    settings = get_settings()
    store = Store(settings.table_name)
    # When the first attempt counts under two keys at once (two pool threads) while the
    # caller reads too
    with ratelimit.counting(store, settings, [("ip", "192.0.2.7"), ("account", "cold")]) as attempt:
        store.tenants.get("acme")
        attempt.enforce()
    # Then one client was made for all three
    assert len(made) == 1


# -- who may lock whom out (issue 21): per account and source, known devices, the ceiling --------
def sign_in_from(call, password, ip, device_token=None, who=OPERATOR):
    body = {"tenant": TENANT, "email": who["email"], "password": password}
    if device_token is not None:
        body["device_token"] = device_token
    return call("POST /auth/internal", body=body, source_ip=ip)


def test_a_stranger_s_failures_from_one_address_do_not_refuse_the_owner_from_another(call, seeded, clock):
    # Given a stranger spending Otto's quota from one address (ten wrong passwords, then refused)
    for _ in range(10):
        assert sign_in_from(call, "guess", "198.51.100.7")["json"]["code"] == "invalid_credentials"
    assert sign_in_from(call, "guess", "198.51.100.7")["status"] == 429
    # When Otto signs in from his own address, on a device he never used, within the same minute
    r = sign_in_from(call, OPERATOR["password"], "203.0.113.50")
    # Then he is in, and the stranger's address is still refused
    assert r["status"] == 200, r
    refused = sign_in_from(call, "guess", "198.51.100.7")
    assert refused["status"] == 429 and refused["headers"]["RateLimit-Policy"].startswith('"account-minute"')


def test_a_known_device_passes_the_ceiling_a_distributed_stranger_reached(call, seeded, clock):
    # Given Otto signed in once on his laptop (the answer gives the laptop its device token)
    laptop = sign_in_from(call, OPERATOR["password"], "203.0.113.50")["json"]["device_token"]
    # And a stranger with many addresses spends the ceiling for unknown devices (30 a minute)
    clock.now += 60
    for i in range(30):
        assert sign_in_from(call, "guess", f"198.51.100.{i}")["json"]["code"] == "invalid_credentials"
    # When the stranger, and Otto on a new phone, try from fresh addresses
    stranger = sign_in_from(call, "guess", "198.51.100.200")
    phone = sign_in_from(call, OPERATOR["password"], "192.0.2.60")
    # Then both are refused under the ceiling's policy, with the contract's headers
    for r in (stranger, phone):
        assert r["status"] == 429 and r["json"]["code"] == "rate_limited", r
        assert r["headers"]["RateLimit-Policy"] == '"untrusted-minute";q=30;w=60, "untrusted-hour";q=300;w=3600'
        assert r["headers"]["RateLimit"].startswith('"untrusted-minute";r=0;') and "Retry-After" in r["headers"]
    # But Otto's laptop, which signed in before, gets in, and its answer renews its device token
    r = sign_in_from(call, OPERATOR["password"], "203.0.113.51", device_token=laptop)
    assert r["status"] == 200, r["headers"]
    assert r["json"]["device_token"] and r["json"]["device_token"] != laptop


def test_one_address_past_its_own_limit_does_not_spend_the_ceiling_for_the_owners_new_devices(call, seeded, clock):
    # Given a stranger at one address who keeps guessing Otto's password past that address's
    # limit (10 a minute), 40 times in one minute - more than the account's ceiling of 30
    clock.now += 60
    answers = [sign_in_from(call, "guess", "198.51.100.7")["status"] for _ in range(40)]
    assert answers.count(401) == 10 and answers.count(429) == 30
    # When Otto, on a new phone, signs in from another address in that same minute
    phone = sign_in_from(call, OPERATOR["password"], "192.0.2.60")
    # Then he gets in: only the 10 guesses his address allowed counted against the ceiling
    assert phone["status"] == 200, phone["headers"]


@pytest.mark.parametrize("whose", ["another account's", "another tenant's", "edited", "expired"])
def test_only_this_account_s_own_valid_device_token_passes_the_ceiling(call, seeded, svc, clock, whose):
    # Given a device token that is not a valid one of Otto's
    import time

    if whose == "another account's":
        token = sign_in_from(call, ADMIN["password"], "203.0.113.50", who=ADMIN)["json"]["device_token"]
    elif whose == "another tenant's":
        token = svc.tokens.mint_device(tid="globex", sub="someone", email=OPERATOR["email"])
    elif whose == "edited":
        own = sign_in_from(call, OPERATOR["password"], "203.0.113.50")["json"]["device_token"]
        token = own[:-4] + ("AAAA" if not own.endswith("AAAA") else "BBBB")
    else:
        token = svc.tokens.mint_device(tid=TENANT, sub="x", email=OPERATOR["email"],
                                       now=int(time.time()) - 91 * 24 * 3600)
    # And a stranger who spent the ceiling for unknown devices
    clock.now += 60
    for i in range(30):
        sign_in_from(call, "guess", f"198.51.100.{i}")
    # When the right password comes with that token
    r = sign_in_from(call, OPERATOR["password"], "203.0.113.52", device_token=token)
    # Then it is an unknown device like any other: refused under the ceiling
    assert r["status"] == 429 and r["headers"]["RateLimit"].startswith('"untrusted-minute"'), r


def test_a_known_device_has_its_own_quota(call, seeded, clock):
    # Given Otto's laptop's device token, in the hands of someone guessing from many addresses
    laptop = sign_in_from(call, OPERATOR["password"], "203.0.113.50")["json"]["device_token"]
    clock.now += 60
    for i in range(10):
        assert sign_in_from(call, "guess", f"198.51.100.{i}", device_token=laptop)["status"] == 401
    # Then the device's eleventh attempt in the minute is refused under the account quota
    r = sign_in_from(call, OPERATOR["password"], "198.51.100.99", device_token=laptop)
    assert r["status"] == 429 and r["headers"]["RateLimit-Policy"].startswith('"account-minute"'), r
    # And Otto from an unknown device is not: the device's attempts are not the account's
    assert sign_in_from(call, OPERATOR["password"], "203.0.113.53")["status"] == 200


def test_the_ceiling_counts_the_account_whatever_the_case_of_its_email(call, seeded, clock):
    # Given 30 attempts from 30 addresses, the email spelt five ways
    email = OPERATOR["email"]
    spellings = [email.upper(), email.title(), email.capitalize(), email.swapcase(), email]
    for i in range(30):
        r = call("POST /auth/internal", body={"tenant": TENANT, "email": spellings[i % 5], "password": "wrong"},
                 source_ip=f"198.51.100.{i}")
        assert r["json"]["code"] == "invalid_credentials"
    # Then the 31st, in yet another spelling from yet another address, is over the one ceiling
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": email.upper(), "password": OPERATOR["password"]},
             source_ip="198.51.100.99")
    assert r["status"] == 429 and r["headers"]["RateLimit-Policy"].startswith('"untrusted-minute"'), r


def test_a_device_token_never_reaches_the_logs(call, seeded, json_logs, clock):
    r = sign_in_from(call, OPERATOR["password"], "203.0.113.50")
    token = r["json"]["device_token"]
    sign_in_from(call, "wrong", "203.0.113.50", device_token=token)
    assert token.split(".")[2] not in json_logs.text
