"""The local stack's event source mappings: what Lambda does in AWS between the table's stream,
the webhooks' SQS queue and the two functions (issue 19, docs/webhooks.md).

* **The stream** (moto's DynamoDB Streams): each shard is read from where the pump last stopped
  (``TRIM_HORIZON`` at the start, as the template's mapping); the records that pass the
  function's ``FilterCriteria`` (read from template.yaml) are handed to ``EventsDispatchFunction``
  in one batch. A batch whose invocation fails is handed again from the same place, as Lambda
  retries a stream batch.
* **The queue** (moto's SQS): up to 10 messages received at a time (``ApproximateReceiveCount``
  and all), handed to ``WebhookDeliveryFunction`` as an SQS event; the messages not named in its
  ``batchItemFailures`` are deleted, the others stay (the function has set their backoff). SQS's
  own redrive (moto's) moves a message to the dead-letter queue after ``maxReceiveCount``.

Hand-rolled because no library runs Lambda's event source mappings against moto; the filter
matching covers what an EventBridge-style pattern of exact values says (lists of allowed values
in nested objects, or ``prefix``), which is all the template's filters use.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import boto3

from switchboard_local.template import Template

__all__ = ["EventsPump", "matches"]

Invoke = Callable[[str, dict[str, Any]], Any]

STREAM_FUNCTION = "EventsDispatchFunction"
QUEUE_FUNCTION = "WebhookDeliveryFunction"


def matches(pattern: dict[str, Any], value: Any) -> bool:
    """An event filter pattern of exact values and prefixes: every key of the pattern present,
    its value one of the listed ones (a list of values or ``{"prefix": ...}``), or matching the
    nested pattern (an object)."""
    if not isinstance(value, dict):
        return False
    for key, expected in pattern.items():
        if key not in value:
            return False
        if isinstance(expected, dict):
            if not matches(expected, value[key]):
                return False
        elif not any(value[key] == e if not isinstance(e, dict) else
                     isinstance(value[key], str) and value[key].startswith(e["prefix"]) for e in expected):
            return False
    return True


class EventsPump:
    """Moves the stream's event records and the queue's messages into their functions."""

    def __init__(self, template: Template, invoke: Invoke, *, table: str, queue_url: str) -> None:
        self.template, self.invoke, self.queue_url = template, invoke, queue_url
        self._streams = boto3.client("dynamodbstreams")
        self._sqs = boto3.client("sqs")
        self._stream_arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"].get("LatestStreamArn")
        self._positions: dict[str, str | None] = {}  # shard id -> last sequence number handed over
        self._filters = self._stream_filters()
        self._lock = threading.Lock()

    def _stream_filters(self) -> list[dict[str, Any]]:
        events = self.template.resources[STREAM_FUNCTION]["Properties"].get("Events", {})
        found = []
        for definition in events.values():
            if definition.get("Type") == "DynamoDB":
                for f in definition["Properties"].get("FilterCriteria", {}).get("Filters", []):
                    found.append(json.loads(f["Pattern"]))
        return found

    def _stream_once(self) -> int:
        if not self._stream_arn:
            return 0
        handed = 0
        shards = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            last = self._positions.get(shard_id)
            kwargs: dict[str, Any] = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
                                      if last else {"ShardIteratorType": "TRIM_HORIZON"})
            iterator = self._streams.get_shard_iterator(StreamArn=self._stream_arn, ShardId=shard_id,
                                                        **kwargs)["ShardIterator"]
            records = self._streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
            if not records:
                continue
            wanted = [r for r in records if not self._filters or any(matches(f, r) for f in self._filters)]
            if wanted:
                for r in wanted:
                    r.setdefault("eventSourceARN", self._stream_arn)
                self.invoke(STREAM_FUNCTION, {"Records": _jsonable(wanted)})  # raises: handed again next time
                handed += len(wanted)
            self._positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        return handed

    def _queue_once(self) -> int:
        answer = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                           AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = answer.get("Messages") or []
        if not messages:
            return 0
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs", "awsRegion": "us-east-1"} for m in messages]
        try:
            result = self.invoke(QUEUE_FUNCTION, {"Records": records}) or {}
        except Exception:
            return 0
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for m in done:
            self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return len(records)

    def run_once(self) -> int:
        """One pass over the stream and the queue; how many records and messages were handed over."""
        with self._lock:
            return self._stream_once() + self._queue_once()

    def run(self, stop: threading.Event, interval: float = 0.25) -> None:
        """Pass after pass until ``stop`` is set (the local stack's thread)."""
        from switchboard.observability import logger

        from switchboard_local.invoker import InvocationRefused

        while not stop.is_set():
            try:
                busy = self.run_once()
            except InvocationRefused:  # what was not handed over stays in the stream for the next pass
                if stop.is_set():  # the stack is stopping (it sets ``stop`` before it closes the invoker)
                    return
                logger.warning("the local events pump was refused an invocation (reserved concurrency 0?)")
                busy = 0
            except Exception:
                logger.exception("the local events pump failed a pass")
                busy = 0
            if not busy:
                stop.wait(interval)


def _jsonable(value: Any) -> Any:
    """Stream records as Lambda hands them over (JSON: dates as epoch seconds, bytes as base64)."""
    import base64
    import datetime
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return str(value)
    return value
