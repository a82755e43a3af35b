"""From the table's stream to the bus and the webhooks' queue, and from the queue to each webhook.

Two functions, two steps (template: ``EventsDispatchFunction``, ``WebhookDeliveryFunction``):

1. :func:`dispatch` - a batch of the stream's INSERTs of event items: each event is put on the
   EventBridge bus (``source`` ``switchboard``, ``detail-type`` the event type, ``detail``
   ``{id, tenant, type, timestamp, data}``) and one message per subscribed webhook goes to the
   webhooks' SQS queue. Any failure raises: Lambda retries the stream batch (at least once:
   an event may reach the bus or a queue twice; its id stays the same).
2. :func:`deliver_batch` - messages of that queue: one signed attempt each
   (:func:`switchboard.events.webhooks.deliver`). A failed attempt stays on the queue, hidden for
   the next step of the backoff schedule (``WEBHOOK_RETRY_SECONDS``, by the message's receive
   count); SQS moves a message received ``maxReceiveCount`` times to the dead-letter queue,
   where the DLQ alarm sees it. The webhook is read again at each attempt: one removed (or no
   longer subscribed) since is dropped; a new URL or secret is used at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from switchboard.events import outbound
from switchboard.models import OutboundEvent
from switchboard.observability import count, logger

if TYPE_CHECKING:
    from switchboard.runtime import Services

__all__ = ["deliver_batch", "dispatch", "retry_delay"]

SOURCE = "switchboard"
_PUT_EVENTS_MAX = 10  # EventBridge's entries per PutEvents
_SEND_BATCH_MAX = 10  # SQS's entries per SendMessageBatch


def dispatch(svc: Services, events: Iterable[OutboundEvent]) -> dict[str, int]:
    """Put each event on the bus and queue its webhooks' deliveries; counts of each."""
    from switchboard import aws

    batch = list(events)
    entries = [{"Source": SOURCE, "DetailType": e.type, "EventBusName": svc.settings.event_bus_name,
                "Detail": json.dumps({"id": e.id, "tenant": e.tenant, "type": e.type,
                                      "timestamp": outbound.timestamp(e.at), "data": e.data})} for e in batch]
    if entries and svc.settings.event_bus_name:
        bus = aws.client("events")
        for start in range(0, len(entries), _PUT_EVENTS_MAX):
            answer = bus.put_events(Entries=entries[start:start + _PUT_EVENTS_MAX])
            if answer.get("FailedEntryCount"):
                raise RuntimeError(f"EventBridge refused {answer['FailedEntryCount']} events")  # the stream retries
    messages = []
    for e in batch:
        tenant = svc.tenants.find(e.tenant)
        if tenant is None:
            continue
        body = outbound.body(e)
        messages += [{"tenant": e.tenant, "webhook_id": h["id"], "event_id": e.id, "type": e.type, "body": body}
                     for h in outbound.subscribers(tenant, e)]
    if messages:
        sqs = aws.client("sqs")
        for start in range(0, len(messages), _SEND_BATCH_MAX):
            chunk = messages[start:start + _SEND_BATCH_MAX]
            answer = sqs.send_message_batch(QueueUrl=svc.settings.webhook_queue_url, Entries=[
                {"Id": str(n), "MessageBody": json.dumps(m)} for n, m in enumerate(chunk)])
            if answer.get("Failed"):
                raise RuntimeError(f"SQS refused {len(answer['Failed'])} deliveries")  # the stream retries
    return {"events": len(batch), "deliveries": len(messages)}


def retry_delay(schedule: tuple[int, ...], receive_count: int) -> int:
    """Seconds before the next attempt after attempt number ``receive_count`` failed."""
    return schedule[min(receive_count, len(schedule)) - 1] if schedule else 0


def deliver_batch(svc: Services, records: list[dict[str, Any]]) -> list[str]:
    """One attempt per SQS record; the message ids that failed (SQS's ``batchItemFailures``)."""
    from switchboard import aws
    from switchboard.events.webhooks import DeliveryFailed, deliver

    failed = []
    for record in records:
        job = json.loads(record["body"])
        tenant = svc.tenants.find(job["tenant"])
        hook = next((h for h in (tenant.webhooks if tenant else ()) if h["id"] == job["webhook_id"]), None)
        if tenant is None or hook is None or job["type"] not in (hook.get("events") or ()):
            logger.info("webhook delivery dropped: the webhook is gone or unsubscribed",
                        extra={"tenant": job["tenant"], "webhook_id": job["webhook_id"], "event_id": job["event_id"]})
            continue
        try:
            secret = svc.webhook_secret(tenant, hook)
            deliver(hook["url"], secret=secret, msg_id=job["event_id"], body=job["body"], timestamp=int(time.time()),
                    allow_http=svc.settings.allow_http_urls, allow_loopback=svc.settings.allow_http_urls)
        except DeliveryFailed as exc:
            attempt = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            delay = retry_delay(svc.settings.webhook_retry_seconds, attempt)
            count("WebhookFailures")
            logger.warning("webhook delivery failed", extra={
                "tenant": job["tenant"], "webhook_id": job["webhook_id"], "event_id": job["event_id"],
                "attempt": attempt, "retry_in": delay, "reason": str(exc)})
            aws.client("sqs").change_message_visibility(QueueUrl=svc.settings.webhook_queue_url,
                                                        ReceiptHandle=record["receiptHandle"],
                                                        VisibilityTimeout=delay)
            failed.append(record["messageId"])
    return failed
