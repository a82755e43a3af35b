"""ChatDefault - ``$default``: a clear ``unknown_action`` reply for anything unrouted."""

from typing import Any

from switchboard import ws


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return ws.default(event, context)
