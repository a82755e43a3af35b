"""Business hours (the tenant's ``hours`` setting): whether a moment falls outside them.

Read by the transcript's report line today (``outside_hours``); issue 17's offline behaviour
will read the same function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["outside_hours"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def outside_hours(hours: dict[str, Any] | None, at_ms: int) -> bool | None:
    """``None`` when the tenant has set no hours (nothing is outside them); else whether
    ``at_ms`` (epoch ms) falls on a holiday or outside every ``weekly`` span of its weekday, in
    the tenant's time zone. Spans are ``[from, to)``; ``to`` may be ``24:00``."""
    if not hours:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        local = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(hours["time_zone"]))
    except (ZoneInfoNotFoundError, ValueError, KeyError):
        return None  # settings are checked when written: an unreadable zone counts as no hours
    if local.strftime("%Y-%m-%d") in (hours.get("holidays") or ()):
        return True
    day, clock = _DAYS[local.weekday()], local.strftime("%H:%M")
    return not any(s["day"] == day and s["from"] <= clock < s["to"] for s in hours.get("weekly") or ())
