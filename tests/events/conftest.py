"""Outbound events: the local stack's pump over moto's stream and queue, and a real HTTP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from switchboard_local.lambda_runtime import LambdaContext, load_handler

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """A webhook receiver on loopback. ``status``: what it answers; ``stop()`` / ``start()``
    take it off the port and back (connection refused meanwhile), on the same port."""

    def __init__(self) -> None:
        self.status = 200
        self.location: str | None = None
        self.requests: list[dict[str, Any]] = []  # every request that reached it, answered or not
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/in"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                status = receiver.status
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body, "status": status, "path": self.path})
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if 200 <= r["status"] < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def local_events(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the local stack gives the events functions: the queue, the default bus,
    plain http and loopback receivers (ALLOW_HTTP_URLS=1), retries after 1 s."""
    from switchboard.runtime import reset_caches

    from switchboard_local.provision import LOCAL_REFS

    monkeypatch.setenv("ALLOW_HTTP_URLS", "1")
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", LOCAL_REFS["WebhookQueue"])
    monkeypatch.setenv("EVENT_BUS_NAME", "default")
    monkeypatch.setenv("WEBHOOK_RETRY_SECONDS", "1")
    reset_caches()


@pytest.fixture
def pump(template: Any, local_events: None) -> Any:
    """The local stack's event source mappings, invoking the real handlers (their IAM held)."""
    from switchboard_local.events_pump import EventsPump
    from switchboard_local.provision import LOCAL_REFS

    def invoke(function_id: str, event: dict[str, Any]) -> Any:
        return load_handler(template, function_id)(event, LambdaContext(function_name=function_id))

    return EventsPump(template, invoke, table=LOCAL_REFS["Table"], queue_url=LOCAL_REFS["WebhookQueue"])


def subscribe(call: Any, admin: str, url: str, events: list[str]) -> str:
    r = call("PATCH /admin/tenant", token=admin,
             body={"webhooks": [{"url": url, "events": events, "secret": WEBHOOK_SECRET}]})
    assert r["status"] == 200, r
    return str(r["json"]["webhooks"][0]["id"])


def stored_events(svc: Any) -> list[dict[str, Any]]:
    """Every event item in the table (a Scan: tests only)."""
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    items = boto3.client("dynamodb").scan(TableName=svc.settings.table_name)["Items"]
    out = [{k: de.deserialize(v) for k, v in i.items()} for i in items]
    return [i for i in out if i["sk"].startswith("EVT#")]


def bus_listener() -> str:
    """An SQS queue behind a rule on the default bus matching source ``switchboard``: what a
    company's own rule would receive."""
    import boto3

    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="company-listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="switchboard-events", EventPattern=json.dumps({"source": ["switchboard"]}))
    events.put_targets(Rule="switchboard-events", Targets=[{"Id": "q", "Arn": arn}])
    return url
