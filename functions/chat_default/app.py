"""ChatDefault - ``$default``: a clear ``unknown_action`` reply for anything unrouted."""

from typing import Any

from switchboard.edge import ws
from switchboard.observability import logger, published


@logger.inject_lambda_context(clear_state=True)  # no keys left over from another invocation
@published  # what the handler recorded is written out (one EMF line)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return ws.default(event, context)
