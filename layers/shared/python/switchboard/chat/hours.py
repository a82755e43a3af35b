"""Business hours (the tenant's ``hours`` setting): whether a moment falls outside them.

Read by the transcript's report line (``outside_hours``) and the widget's ``open_now``, so
the two never disagree. Also the one time zone check (:func:`real_zone`) for every zone a
client sends: the tenant's ``hours.time_zone`` (admin/tenant.py) and a visitor's
``context.time_zone`` (edge/frames.py); it lives here, in a domain module, because a domain
module may not import ``switchboard.edge`` (tests/deploy/test_layer_structure.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

__all__ = ["ZONE_PATTERN", "outside_hours", "real_zone"]

#: an IANA time zone's name as browsers give it (``Intl.DateTimeFormat().resolvedOptions().timeZone``:
#: ``Europe/Madrid``, ``America/Argentina/Buenos_Aires``, ``UTC``, ``Etc/GMT+3``); it keeps out
#: paths and the tz directory's files that are no zone (``localtime``, ``posixrules``,
#: ``right/...``, ``posix/...``, ``zone.tab``), all of which zoneinfo would happily open
ZONE_PATTERN = r"^[A-Z][A-Za-z0-9_+-]{0,31}(/[A-Za-z0-9_+-]{1,31}){0,2}\Z"
_ZONE = re.compile(ZONE_PATTERN)
#: names the database has that are no place: ``Factory`` is tzdata's "time zone not yet set"
#: placeholder (its abbreviation is ``-00``), which no browser reports and no business works in
_NOT_A_PLACE = frozenset({"Factory"})


def real_zone(name: str) -> bool:
    """Whether ``name`` is a time zone a person can be in: the name's form (:data:`ZONE_PATTERN`,
    so no path or tz-directory file), not a placeholder (``Factory``), and a zone of the IANA
    database this runtime has. ``UTC``, ``GMT`` and ``Etc/*`` are real (browsers report them).
    One file read: ``zoneinfo.available_timezones()`` would walk the whole database (~0.2 s)
    on a visitor's request."""
    if len(name) > 64 or not _ZONE.match(name) or name in _NOT_A_PLACE:
        return False
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def outside_hours(hours: dict[str, Any] | None, at_ms: int) -> bool | None:
    """``None`` when the tenant has set no hours (nothing is outside them); else whether
    ``at_ms`` (epoch ms) falls on a holiday or outside every ``weekly`` span of its weekday, in
    the tenant's time zone. Spans are ``[from, to)``; ``to`` may be ``24:00``. No ``weekly``
    span means no hours are set (docs/web.md; the widget's own reckoning says the same), so
    holidays alone close nothing: admin/tenant.py refuses holidays without weekly spans."""
    if not hours or not hours.get("weekly"):
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
