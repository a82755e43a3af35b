"""Rate limits for sign-in, MFA, refresh and the post-login hook, shared by every container.

Each attempt is counted under a few keys (the client IP, the account) in DynamoDB
(:meth:`Store.hit_rate_counter`: one atomic ADD per key, TTL'd), against two fixed
windows: a clock minute and a clock hour. Why fixed windows rather than a sliding log or
a token bucket: one write per key and no read-modify-write race, and a window *always*
ends - refused attempts are counted but cannot push the end further out - so an attacker
can keep an operator out only while attacking, and for at most the rest of the window
after stopping. Bursts up to the minute's quota pass (burst-tolerant); the hour's quota
bounds the total, including the double burst possible across a minute boundary.

A refusal is :class:`RateLimited`: 429 with ``Retry-After`` and the IETF httpapi
ratelimit-headers fields ``RateLimit-Policy`` and ``RateLimit``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from switchboard.errors import RateLimited
from switchboard.settings import Settings
from switchboard.storage import Store

__all__ = ["Quota", "check", "quotas"]


@dataclass(frozen=True, slots=True)
class Quota:
    """``per_minute`` and ``per_hour`` attempts for one kind of key."""

    name: str
    per_minute: int
    per_hour: int

    @property
    def policy(self) -> str:
        # draft-ietf-httpapi-ratelimit-headers: a list of named policies, q = quota, w = window
        return f'"{self.name}-minute";q={self.per_minute};w=60, "{self.name}-hour";q={self.per_hour};w=3600'


def quotas(settings: Settings) -> dict[str, Quota]:
    """The quotas in force: ``account`` (an operator's email, a session, an MFA challenge's
    user, a hook's user) and ``ip`` (looser: many people can share one address - offices,
    mobile carriers). Configured by the template's ``RateLimitAccount`` / ``RateLimitIp``."""
    return {
        "account": Quota("account", *settings.rate_limit_account),
        "ip": Quota("ip", *settings.rate_limit_ip),
    }


def check(store: Store, settings: Settings, keys: list[tuple[str, str]], *, now: int | None = None) -> None:
    """Count one attempt under every ``(kind, key)``; raise :class:`RateLimited` if any is
    over its quota. Every key is counted even when an earlier one is already over, so each
    count stays exact.
    """
    now = int(now if now is not None else time.time())
    table = quotas(settings)
    refused: list[tuple[int, Quota, str]] = []
    for kind, key in keys:
        quota = table[kind]
        hour_count, minute_count = store.hit_rate_counter(f"{kind}#{key}", now=now)
        if hour_count > quota.per_hour:
            refused.append((3600 - now % 3600, quota, "hour"))
        elif minute_count > quota.per_minute:
            refused.append((60 - now % 60, quota, "minute"))
    if refused:
        retry_after, quota, window = max(refused, key=lambda r: r[0])
        raise RateLimited(
            "too many attempts; try again later",
            retry_after=retry_after,
            policy=quota.policy,
            limit=f'"{quota.name}-{window}";r=0;t={retry_after}',
        )
