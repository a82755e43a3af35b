"""A generated transcript archive and the reports' figures computed from it in plain Python: the
reference the SQL (DuckDB here, Athena in AWS) must match. Shared by tests/http/test_admin_reports.py
and bench/reports_bench.py."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from typing import Any

from switchboard.chat.transcripts import report, transcript_key
from switchboard.models import Channel, Message

DAY_MS = 86_400_000
#: 2026-03-02 00:00 UTC, a Monday
START_MS = 1_772_409_600_000
OPERATORS = ("op-00000000000000a1", "op-00000000000000b2", "op-00000000000000c3", "op-00000000000000d4")
HOURS = {"time_zone": "Europe/Paris", "weekly": [{"day": d, "from": "09:00", "to": "18:00"}
                                                 for d in ("mon", "tue", "wed", "thu", "fri")], "holidays": []}


def conversation(rng: random.Random, tenant: str, n: int, *, kind: str = "support",
                 words: tuple[str, ...] = ("refund", "invoice", "login", "shipping")) -> tuple[Channel, list[Message]]:
    """One closed conversation: queued or assigned at once, answered or not, with a few messages."""
    created = START_MS + rng.randrange(0, 10 * DAY_MS)
    assignee = rng.choice(OPERATORS) if rng.random() < 0.9 else None
    assigned = None if assignee is None else created + rng.choice([0, 0, rng.randrange(1, 600_000)])
    visitor = f"v-customer-{n}"
    messages, t = [], created
    answered = assignee is not None and rng.random() < 0.95
    for i in range(rng.randrange(1, 6)):
        t += rng.randrange(1_000, 900_000)
        staff = answered and i % 2 == 1
        text = f"{rng.choice(words)} question {n}-{i}" if not staff else f"answer {n}-{i}"
        messages.append(Message(id=f"m-{n:06d}-{i}", channel_id=f"ch-{n:06d}", sender_id=assignee if staff else visitor,
                                sender_role="operator" if staff else "visitor", sender_name="X", text=text,
                                attachments=(), client_id=f"c{i}", created_at=t, deleted=False))
    closed = t + rng.randrange(1_000, 3_600_000)
    ch = Channel(id=f"ch-{n:06d}", tenant=tenant, type=kind, status="closed", subject=None,
                 members=tuple(m for m in (visitor, assignee) if m), assignee=assignee, visitor=visitor,
                 created_at=created, last_message_at=t, closed_at=closed, assigned_at=assigned)
    return ch, messages


def lines_of(ch: Channel, messages: list[Message], hours: dict[str, Any] | None) -> bytes:
    """The transcript as chat/transcripts.write lays it out (its report computed by the same code)."""
    rows = [{"channel": ch.to_json(), "report": report(ch, messages, hours)}]
    rows += [{"message": m.to_json()} for m in messages]
    return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


def generate(s3: Any, bucket: str, tenant: str, count: int, *, seed: int = 7, hours: dict[str, Any] | None = HOURS,
             kind: str = "support", first: int = 0) -> list[dict[str, Any]]:
    """Write ``count`` conversations of ``tenant`` to the archive (ids from ``first`` on); returns
    their report lines."""
    rng, out = random.Random(seed), []
    for n in range(first, first + count):
        ch, messages = conversation(rng, tenant, n, kind=kind)
        s3.put_object(Bucket=bucket, Key=transcript_key(ch), Body=lines_of(ch, messages, hours))
        out.append({"report": report(ch, messages, hours), "messages": [m.to_json() for m in messages],
                    "closed_on": transcript_key(ch).split("closed_on=")[1][:10]})
    return out


def nearest_rank(values: list[int], p: int) -> int | None:
    """The smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered) / 100)) - 1]


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of some conversations, in seconds, as GET /admin/reports answers them."""
    def spans(start: str, end: str) -> list[int]:
        return [r["report"][end] - r["report"][start] for r in rows if r["report"][end] is not None]

    fr, res, qw = spans("created_at", "first_response_at"), spans("created_at", "closed_at"), \
        spans("created_at", "assigned_at")

    def secs(v: int | None) -> float | None:
        return None if v is None else round(v / 1000, 3)

    known = [r["report"]["outside_hours"] for r in rows if r["report"]["outside_hours"] is not None]
    return {"conversations": len(rows),
            "first_response_p50": secs(nearest_rank(fr, 50)), "first_response_p90": secs(nearest_rank(fr, 90)),
            "resolution_p50": secs(nearest_rank(res, 50)), "resolution_p90": secs(nearest_rank(res, 90)),
            "queue_wait_p50": secs(nearest_rank(qw, 50)), "queue_wait_p90": secs(nearest_rank(qw, 90)),
            "csat_avg": None, "csat_count": 0, "outside_hours": sum(known) if known else None}


def reference(rows: list[dict[str, Any]], start: str, end: str, operator: str | None = None) -> dict[str, Any]:
    """GET /admin/reports' days, operators and totals computed in Python."""
    chosen = [r for r in rows if start <= r["closed_on"] <= end and r["report"]["type"] == "support"
              and (operator is None or r["report"]["assignee"] == operator)]
    by_day, by_op = defaultdict(list), defaultdict(list)
    for r in chosen:
        by_day[r["closed_on"]].append(r)
        by_op[r["report"]["assignee"] or ""].append(r)
    return {"days": [{"day": d, **figures(by_day[d])} for d in sorted(by_day)],
            "operators": [{"operator": o or None, **figures(by_op[o])} for o in sorted(by_op)],
            "totals": figures(chosen)}
