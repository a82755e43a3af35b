"""Lockout section: what a stranger guessing an operator's password from many addresses gets,
and what the operator sees meanwhile (issue 21; the model is in switchboard/logins.py).

Not a timing benchmark: it counts. The real limiter (``logins._attempt_keys`` and
``ratelimit.check``, the keys and quotas a sign-in uses) runs on moto with the template's table,
over one simulated hour (the limiter is given each attempt's second, so the hour takes as long
as its DynamoDB writes):

* the stranger has 1,000 addresses and sends ``rate`` password attempts a minute, spread
  evenly over the minute, each from the next address in turn;
* the owner tries once a minute (at second 30) from the laptop they signed in from before
  (its device token), and once from a new phone (no token) on another address.

An attempt the limiter lets through is a guess that reaches the password check.
``python bench/run.py --only lockout``.
"""

from __future__ import annotations

import os
from typing import Any

from auth_bench import _moto_stack

Table = dict[str, Any]

ADDRESSES = 1000
TENANT, EMAIL = "acme", "otto@acme.test"


def run(quick: bool) -> list[Table]:
    rates = [10] if os.environ.get("BENCH_TINY") == "1" else [100] if quick else [30, 100]
    rows = []
    with _moto_stack():
        for rate in rates:
            rows.append(_hour(rate))
    return [{
        "title": "Lockout: one hour of a stranger with 1,000 addresses against one operator",
        "columns": ["stranger's attempts/min", "attempts sent", "guesses checked (1st hour)",
                    "owner, known device: admitted", "owner, new device: admitted", "longest Retry-After (new device)"],
        "rows": rows,
        "notes": "Quotas as deployed by default: per account and address (or known device) 10/min 100/h, per "
                 "address 60/min 1000/h, per account from unknown devices 30/min 300/h. Every minute the owner "
                 "tries once from a known device and once from a new one; the new device's tries count toward "
                 "the ceiling too, as any unknown device's do.",
    }]


def _hour(rate: int) -> list[str]:
    from switchboard.auth import logins, ratelimit
    from switchboard.errors import RateLimited
    from switchboard.runtime import services

    svc = services()
    start = 1_800_000_000 - 1_800_000_000 % 3600 + 3600 * rate  # a fresh hour per run: no counter shared
    laptop = svc.tokens.mint_device(tid=TENANT, sub="op-otto", email=EMAIL)

    def attempt(ip: str, at: int, device_token: str | None = None) -> int | None:
        """None if the limiter lets the attempt reach the password check, else its Retry-After."""
        keys = logins._attempt_keys(svc, TENANT, EMAIL, device_token, ip)
        try:
            ratelimit.check(svc.store, svc.settings, keys, now=at)
        except RateLimited as refused:
            return refused.retry_after
        return None

    sent = checked = known_in = new_in = 0
    longest = 0
    address = 0
    for minute in range(3 if os.environ.get("BENCH_TINY") == "1" else 60):  # tiny: the suite's run check
        base = start + minute * 60
        owner_done = False
        for j in range(rate):
            second = j * 60 // rate
            if not owner_done and second >= 30:
                owner_done = True
                known_in += attempt("203.0.113.50", base + 30, laptop) is None
                wait = attempt(f"192.0.2.{minute % 250 + 1}", base + 30)
                new_in += wait is None
                longest = max(longest, wait or 0)
            ip = f"10.{address // 65536}.{address // 256 % 256}.{address % 256}"
            address = (address + 1) % ADDRESSES
            sent += 1
            checked += attempt(ip, base + second) is None
    return [str(rate), str(sent), str(checked), f"{known_in}/60", f"{new_in}/60", f"{longest} s"]
