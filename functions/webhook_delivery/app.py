"""WebhookDelivery - one signed attempt per message of the webhooks' queue
(switchboard.events.dispatch.deliver_batch); failed ones go back to the queue for the next step
of the backoff (partial batch response)."""

from typing import Any

from switchboard.events import dispatch
from switchboard.observability import logger, published
from switchboard.runtime import services


@published  # WebhookFailures (one EMF line)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    failed = dispatch.deliver_batch(services(), event.get("Records") or [])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
