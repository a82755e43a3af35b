"""ChatDisconnect - ``$disconnect``: forgets the connection; an operator's last one requeues their channels."""

from typing import Any

from switchboard import ws


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return ws.disconnect(event)
