"""EventsDispatch - the table's stream (event items only: the template's filter) to the
EventBridge bus and the webhooks' queue (switchboard.events.dispatch). An error fails the batch:
Lambda retries it, and the events keep their ids."""

from typing import Any

from switchboard.events import dispatch
from switchboard.observability import logger
from switchboard.runtime import services
from switchboard.store.events import events_of_stream


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return dispatch.dispatch(services(), events_of_stream(event.get("Records") or []))
