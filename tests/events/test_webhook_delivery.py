"""Outbound events reach a real HTTP receiver on loopback through the local stack's pump (moto's
stream and SQS, the real handlers): across an outage nothing is lost, nothing is accepted twice,
and every request carries a valid Standard Webhooks signature (contract section 9, issue 19)."""

from __future__ import annotations

import json
import time
from collections import Counter

import boto3
from standardwebhooks import Webhook

from tests.chat_support import visitor_tokens
from tests.conftest import OPERATOR
from tests.events.conftest import WEBHOOK_SECRET, bus_listener, stored_events, subscribe

ALL = ["conversation.created", "conversation.assigned", "conversation.closed", "message.created"]


def _traffic(chat, call, tokens_for, *, messages: int = 4) -> dict:
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    for n in range(messages):
        who = guest if n % 2 == 0 else otto
        who.ok("message.send", channel_id=channel["id"], text=f"message {n}", client_id=f"c{n}")
    otto.ok("channel.close", channel_id=channel["id"])
    return channel


def _pump_until(pump, done, *, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the pump did not get there in time"
        if not pump.run_once():
            time.sleep(0.1)


def test_every_event_arrives_once_signed_across_a_receiver_outage(chat, call, tokens_for, admin, svc, pump,
                                                                    receiver):
    # Given a webhook subscribed to every conversation and message event, and a company rule on the bus
    subscribe(call, admin, receiver.url, ALL)
    listener = bus_listener()
    # And a receiver that fails with 500s
    receiver.status = 500
    # When a conversation happens: created and assigned, four messages, closed
    channel = _traffic(chat, call, tokens_for)
    expected = {e["event_id"]: e["type"] for e in stored_events(svc)}
    assert Counter(expected.values()) == {"conversation.created": 1, "conversation.assigned": 1,
                                          "message.created": 4, "conversation.closed": 1}
    # And every first attempt is answered 500
    _pump_until(pump, lambda: {r["headers"]["webhook-id"] for r in receiver.requests} == set(expected))
    assert receiver.accepted() == []
    # And then the receiver is down altogether (connection refused) for the next attempts
    receiver.stop()
    time.sleep(1.1)
    for _ in range(3):
        pump.run_once()
    # When it comes back and answers 200
    receiver.status = 200
    receiver.start()
    time.sleep(1.1)
    _pump_until(pump, lambda: len(receiver.accepted()) >= len(expected))
    for _ in range(5):  # and nothing more comes
        pump.run_once()
        time.sleep(0.2)
    # Then every event arrived, none accepted twice
    accepted = [r["headers"]["webhook-id"] for r in receiver.accepted()]
    assert sorted(accepted) == sorted(expected), "lost or duplicated event ids"
    # And every request - failed attempts too - is signed validly, per the Standard Webhooks library
    verifier = Webhook(WEBHOOK_SECRET)
    bodies: dict[str, str] = {}
    for r in receiver.requests:
        payload = verifier.verify(r["body"], r["headers"])
        assert payload["type"] == expected[r["headers"]["webhook-id"]]
        assert set(payload) == {"type", "timestamp", "data"}
        # the same event is the same bytes on every attempt (its id too: receivers dedupe by it)
        assert bodies.setdefault(r["headers"]["webhook-id"], r["body"]) == r["body"]
    # And the bodies say what happened
    closed = next(json.loads(b) for i, b in bodies.items() if expected[i] == "conversation.closed")
    assert closed["data"]["conversation"]["id"] == channel["id"]
    assert closed["data"]["conversation"]["status"] == "closed"
    texts = sorted(json.loads(b)["data"]["message"]["text"] for i, b in bodies.items()
                   if expected[i] == "message.created")
    assert texts == [f"message {n}" for n in range(4)]
    # And the bus got each event once, with source switchboard and the type as detail-type
    on_bus = []
    sqs = boto3.client("sqs")
    while batch := sqs.receive_message(QueueUrl=listener, MaxNumberOfMessages=10).get("Messages"):
        for m in batch:
            on_bus.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=listener, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(e["detail"]["id"] for e in on_bus) == sorted(expected)
    assert {e["source"] for e in on_bus} == {"switchboard"}
    assert all(e["detail-type"] == expected[e["detail"]["id"]] for e in on_bus)


def test_a_forged_or_altered_delivery_does_not_verify(chat, call, tokens_for, admin, svc, pump, receiver):
    # Given one delivered event
    subscribe(call, admin, receiver.url, ["conversation.created"])
    chat.connect(visitor_tokens(call)).ok("support.open")
    _pump_until(pump, lambda: len(receiver.accepted()) == 1)
    (got,) = receiver.accepted()
    verifier = Webhook(WEBHOOK_SECRET)
    verifier.verify(got["body"], got["headers"])
    # Then another secret, another body or another id does not verify it (the signature covers all three)
    import pytest
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=").verify(got["body"], got["headers"])
    with pytest.raises(WebhookVerificationError):
        verifier.verify(got["body"].replace("conversation.created", "conversation.closed"), got["headers"])
    with pytest.raises(WebhookVerificationError):
        verifier.verify(got["body"], {**got["headers"], "webhook-id": "evt_other"})


def test_a_webhook_hears_only_the_types_it_subscribes_to(chat, call, tokens_for, admin, svc, pump, receiver):
    # Given a webhook for closed conversations only
    subscribe(call, admin, receiver.url, ["conversation.closed"])
    # When a whole conversation happens
    _traffic(chat, call, tokens_for, messages=2)
    _pump_until(pump, lambda: len(receiver.accepted()) == 1)
    for _ in range(3):
        pump.run_once()
    # Then it heard of the closing alone
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == ["conversation.closed"]


def test_a_delivery_that_fails_every_attempt_ends_in_the_dead_letter_queue(chat, call, tokens_for, admin, svc,
                                                                           pump, receiver, monkeypatch):
    from switchboard.runtime import reset_caches

    from switchboard_local.provision import LOCAL_REFS

    # Given a receiver that always fails, and no wait between attempts
    monkeypatch.setenv("WEBHOOK_RETRY_SECONDS", "0")
    reset_caches()
    subscribe(call, admin, receiver.url, ["conversation.created"])
    receiver.status = 503
    # When one event is delivered until SQS gives up on it
    chat.connect(visitor_tokens(call)).ok("support.open")
    sqs = boto3.client("sqs")

    def dead() -> list:
        return sqs.receive_message(QueueUrl=LOCAL_REFS["WebhookDeadLetterQueue"], VisibilityTimeout=0,
                                   AttributeNames=["All"]).get("Messages") or []

    _pump_until(pump, lambda: bool(dead()), seconds=30)
    # Then it was attempted maxReceiveCount times (template: 11), always with the same id, and is in the DLQ
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1 and len(receiver.requests) == 11
    (message,) = dead()
    assert json.loads(message["Body"])["event_id"] in ids


def test_the_retry_schedule_backs_off_for_more_than_a_day(template):
    # Given the template's queue and the default schedule
    from switchboard.settings import Settings

    schedule = Settings.from_env({}).webhook_retry_seconds
    queue = template.resources["WebhookQueue"]["Properties"]
    max_receives = int(queue["RedrivePolicy"]["maxReceiveCount"])
    # Then the waits between the attempts SQS allows add up to at least 24 h, each growing or equal
    waits = [schedule[min(n, len(schedule)) - 1] for n in range(1, max_receives)]
    assert sum(waits) >= 24 * 3600
    assert waits == sorted(waits) and max(waits) <= 12 * 3600  # SQS's longest visibility timeout
    # And the queue keeps a message longer than its retries last
    assert int(queue["MessageRetentionPeriod"]) > sum(waits)
