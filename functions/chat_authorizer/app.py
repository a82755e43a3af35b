"""ChatAuthorizer - the WebSocket ``$connect`` REQUEST authorizer (chat token, live session, Origin)."""

from typing import Any

from switchboard import ws


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return ws.authorizer(event)
