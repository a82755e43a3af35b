"""Rate limits for sign-in, MFA, refresh and the post-login hook, shared by every container.

Each attempt is counted under a few keys (the client IP, the account) in DynamoDB
(:meth:`switchboard.store.audit.Counters.hit_rate`: one atomic ADD per key, TTL'd), against
two fixed windows: a clock minute and a clock hour. Why fixed windows rather than a sliding log or
a token bucket: one write per key and no read-modify-write race, and a window *always*
ends - refused attempts are counted but cannot push the end further out - so an attacker
can keep an operator out only while attacking, and for at most the rest of the window
after stopping. Bursts up to the minute's quota pass (burst-tolerant); the hour's quota
bounds the total, including the double burst possible across a minute boundary.

A refusal is :class:`RateLimited`: 429 with ``Retry-After`` and the IETF httpapi
ratelimit-headers fields ``RateLimit-Policy`` and ``RateLimit``.

The counters of one attempt are independent writes, so they go out together: :func:`check`
sends two keys' writes at once, and :func:`counting` lets a caller read what it needs (the
operator's credentials) while the counters are written, enforcing the limit before the
work it protects (the password check). One round trip instead of three on operator
sign-in (bench/, "Sign-in").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager

import msgspec

from switchboard import background
from switchboard.errors import RateLimited
from switchboard.settings import Settings
from switchboard.store import Store

__all__ = ["Count", "Quota", "check", "client_bucket", "counting", "quotas"]


class Quota(msgspec.Struct, frozen=True):
    """``per_minute`` and ``per_hour`` attempts for one kind of key."""

    name: str
    per_minute: int
    per_hour: int

    @property
    def policy(self) -> str:
        # draft-ietf-httpapi-ratelimit-headers: a list of named policies, q = quota, w = window
        return f'"{self.name}-minute";q={self.per_minute};w=60, "{self.name}-hour";q={self.per_hour};w=3600'


def quotas(settings: Settings) -> dict[str, Quota]:
    """The quotas in force: ``account`` (an operator's email from one address or one known
    device, a session, an MFA challenge's user, a hook's user), ``ip`` (looser: many people
    can share one address - offices, mobile carriers) and ``untrusted`` (an operator's
    email from every device it has no device token of, all addresses together: the ceiling
    on a distributed guesser, which the owner's known devices do not count against; see
    :mod:`switchboard.auth.logins`). Configured by the template's ``RateLimitAccount`` /
    ``RateLimitIp`` / ``RateLimitUntrusted``."""
    return {
        "account": Quota("account", *settings.rate_limit_account),
        "ip": Quota("ip", *settings.rate_limit_ip),
        "untrusted": Quota("untrusted", *settings.rate_limit_untrusted),
    }


class Count(msgspec.Struct, frozen=True):
    """One attempt being counted under some keys: :meth:`enforce` waits for the counts and
    raises :class:`RateLimited` if any key is over its quota."""

    now: int
    pending: tuple[tuple[Quota, Future[tuple[int, int]]], ...]
    #: the counter name of each pending count, and how to take one back (see :meth:`enforce`)
    counters: tuple[str, ...] = ()
    give_back: Callable[[str], None] | None = None

    def enforce(self) -> None:
        """Raise :class:`RateLimited` if any key is over its quota.

        An attempt refused by a quota of its own source (the account from this address, or the
        address) is taken back from the account's ceiling for unknown devices: that ceiling is
        there for guesses spread over many addresses, and one address that keeps going past its
        own limit must not spend it - else it alone would shut the owner's new devices out."""
        refused: list[tuple[int, Quota, str]] = []
        for quota, future in self.pending:  # every key is counted even when one is already over
            hour_count, minute_count = future.result()
            if hour_count > quota.per_hour:
                refused.append((3600 - self.now % 3600, quota, "hour"))
            elif minute_count > quota.per_minute:
                refused.append((60 - self.now % 60, quota, "minute"))
        if refused:
            if self.give_back is not None and any(q.name != "untrusted" for _, q, _ in refused):
                for (quota, _), counter in zip(self.pending, self.counters, strict=True):
                    if quota.name == "untrusted":
                        self.give_back(counter)
            retry_after, quota, window = max(refused, key=lambda r: r[0])
            raise RateLimited(
                "too many attempts; try again later",
                retry_after=retry_after,
                policy=quota.policy,
                limit=f'"{quota.name}-{window}";r=0;t={retry_after}',
            )


@contextmanager
def counting(store: Store, settings: Settings, keys: list[tuple[str, str]], *,
             now: int | None = None) -> Iterator[Count]:
    """Count one attempt under every ``(kind, key)`` in the background while the block runs.
    The block must call :meth:`Count.enforce` before the work the limit protects; on the way
    out the writes are waited for in any case, so none outlives the invocation."""
    now = int(now if now is not None else time.time())
    table = quotas(settings)
    pending: list[tuple[Quota, Future[tuple[int, int]]]] = []
    counters: list[str] = []
    try:
        for kind, key in keys:
            counted = client_bucket(key) if kind == "ip" else key
            counters.append(f"{kind}#{counted}")
            pending.append((table[kind], background.submit(store.counters.hit_rate, counters[-1], now=now)))
        yield Count(now, tuple(pending), tuple(counters),
                    give_back=lambda counter: store.counters.give_back(counter, now=now))
    finally:
        wait([f for _, f in pending])


def client_bucket(ip: str) -> str:
    """What one client controls: an IPv4 address, or an IPv6 /64 (the network a single host
    or home is given; counting each of its 2^64 addresses apart would make the IP limit moot)."""
    if ":" not in ip:
        return ip
    import ipaddress

    try:
        address = ipaddress.IPv6Address(ip)
    except ValueError:
        return ip
    if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is one IPv4 client
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network(f"{address}/64", strict=False))


def check(store: Store, settings: Settings, keys: list[tuple[str, str]], *, now: int | None = None) -> None:
    """Count one attempt under every ``(kind, key)``, all keys at once; raise
    :class:`RateLimited` if any is over its quota. Every key is counted even when another is
    already over, so each count stays exact."""
    with counting(store, settings, keys, now=now) as count:
        count.enforce()
