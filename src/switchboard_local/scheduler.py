"""The local stack's scheduler: every function's ``Schedule`` / ``ScheduleV2`` event of
template.yaml runs on its rate, through the same invoker as the HTTP and WebSocket gateways (so
the function's IAM policy is enforced), as EventBridge would send it.

``rate(N minute|minutes|hour|hours|day|days)`` is run every N of those; a ``cron(...)``
expression is not run locally (said once at start: nothing in this template uses one). A run
that raises is logged and the schedule goes on, as EventBridge's next invocation would.

For tests and demos, ``switchboard dev --schedule-every SECONDS`` runs every schedule that often
instead (``SWITCHBOARD_SCHEDULE_SECONDS`` in the environment does the same); the first run comes
one period after the start, as in AWS. On SIGTERM the schedules stop first, then the invoker
closes as for any other invocation (a run in flight finishes or is refused, never cut).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from switchboard_local.invoker import InvocationRefused

__all__ = ["Schedule", "run_schedules", "scheduled_event", "schedules"]

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


@dataclass(frozen=True)
class Schedule:
    function_id: str
    name: str
    expression: str
    seconds: float


def schedules(template: Any) -> tuple[list[Schedule], list[str]]:
    """The template's rate schedules, and the expressions that cannot run locally (cron)."""
    found, skipped = [], []
    for fn in template.functions.values():
        for name, event in fn.events.items():
            if event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            props = event.get("Properties", {})
            expression = str(props.get("Schedule") or props.get("ScheduleExpression") or "")
            if props.get("Enabled") is False or props.get("State") == "DISABLED":
                continue
            m = _RATE.match(expression.strip())
            if m is None:
                skipped.append(f"{fn.logical_id}.{name}: {expression}")
                continue
            found.append(Schedule(fn.logical_id, name, expression, int(m.group(1)) * _UNIT[m.group(2)]))
    return found, skipped


def scheduled_event(schedule: Schedule, *, region: str = "us-east-1", account: str = "123456789012") -> dict[str, Any]:
    """What EventBridge sends a scheduled function (its ``time``: this run's minute)."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": account, "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [f"arn:aws:events:{region}:{account}:rule/{schedule.function_id}-{schedule.name}"],
            "detail": {}}


async def run_schedules(invoker: Any, found: list[Schedule], stop: asyncio.Event, *,
                        every: float | None = None) -> None:
    """Run each schedule on its period (``every``: this period for all) until ``stop`` is set."""
    await asyncio.gather(*(_run_one(invoker, s, stop, every or s.seconds) for s in found))


async def _run_one(invoker: Any, schedule: Schedule, stop: asyncio.Event, period: float) -> None:
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=period)
            return  # stopping: no new run
        except TimeoutError:
            pass
        if invoker.closing:
            return
        try:
            result = await invoker.ainvoke(schedule.function_id, scheduled_event(schedule))
            print(f"switchboard: scheduled {schedule.function_id} ({schedule.expression}): {result}", flush=True)
        except InvocationRefused as exc:
            if invoker.closing:  # the stack began stopping after the check above: no run, no error
                return
            print(f"switchboard: scheduled {schedule.function_id} refused: {exc}", flush=True)  # concurrency 0
        except Exception as exc:  # a failed run is logged; the next one still comes
            print(f"switchboard: scheduled {schedule.function_id} failed: {exc}", flush=True)
