"""SupportSweep - every minute (a Schedule event): moves on support chats that waited too long."""

from datetime import datetime
from typing import Any

from switchboard.chat import sweep
from switchboard.edge import ws
from switchboard.ids import now_ms
from switchboard.observability import published
from switchboard.runtime import services


def _event_time_ms(event: dict[str, Any]) -> int:
    """The scheduled run's time (EventBridge's ``time``), else now: a run late in its minute
    decides as of the minute it was for."""
    try:
        return int(datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).timestamp() * 1000)
    except (KeyError, ValueError):
        return now_ms()


@published  # a chat it assigns records its queue wait (one EMF line)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    svc = services()
    return sweep.run(ws.chat_context(svc), now_ms=_event_time_ms(event),
                     after_ms=svc.settings.reassign_after_seconds * 1000)
