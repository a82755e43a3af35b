"""ChatConnect - ``$connect``: records the connection the authorizer let in."""

from typing import Any

from switchboard import ws


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return ws.connect(event)
