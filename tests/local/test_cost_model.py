"""bench/cost.py, the monthly cost model (README "Running it in production"): its arithmetic, and
the command run small on the real handlers (bench/run.py --tiny runs its section too, in
tests/local/test_bench_runs.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cost():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import cost
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return cost


def usage(cost, **figures):
    u = cost.Usage(invocations=Counter({"F": figures.pop("invocations", 1)}))
    for k, v in figures.items():
        setattr(u, k, v)
    return u


def test_every_price_has_a_source_and_the_competitors_say_whether_they_were_verified(cost):
    for name, price in cost.PRICES.items():
        assert price["usd"] > 0 and price["source"].startswith("https://aws.amazon.com/"), name
    assert {c["verified"] for c in cost.COMPETITORS.values()} == {True, False}  # Stream's is marked recalled
    # the prices added without network access say so
    assert {k for k, v in cost.PRICES.items() if v.get("recalled")} == {"eventbridge_event", "sqs_request", "ses_email"}


def test_the_monthly_cost_is_each_operation_times_its_count_at_list_prices(cost):
    # Given one of each operation doing known work
    ops = {"visit": usage(cost, http_requests=1, wru=5, lambda_ms=100),
           "conversation": usage(cost, ws_messages=6, rru=30, wru=50, s3_puts=1, lambda_ms=1000, invocations=10),
           "message": usage(cost, ws_messages=4, rru=3, wru=13, lambda_ms=100)}
    p = {k: v["usd"] for k, v in cost.PRICES.items()}
    # When a month of 1,000 visits, 100 conversations and 2,000 messages is priced
    lines = cost.monthly(ops, visitors=1000, conversations=100, messages=2000, operators=2, reports=0,
                         conversation_minutes=10, operator_hours=100, fixed={"x": 1.0})
    # Then each line is the count times the unit price
    assert lines["HTTP API"] == pytest.approx(1000 * p["http_api_request"])
    assert lines["WebSocket messages"] == pytest.approx((100 * 6 + 2000 * 4) * p["ws_message"])
    assert lines["WebSocket minutes"] == pytest.approx((100 * 10 + 2 * 100 * 60) * p["ws_connection_minute"])
    assert lines["DynamoDB requests"] == pytest.approx((100 * 30 + 2000 * 3) * p["dynamodb_rru"]
                                                       + (1000 * 5 + 100 * 50 + 2000 * 13) * p["dynamodb_wru"])
    invocations = 1000 + 100 * 10 + 2000
    gb_s = (1000 * 100 + 100 * 1000 + 2000 * 100) / 1000 * 0.5
    assert lines["Lambda"] == pytest.approx(gb_s * p["lambda_gb_second"] + invocations * p["lambda_request"])
    assert lines["Athena"] == 0 and lines["fixed: x"] == 1.0
    # And twice the load costs twice as much, but for the fixed costs and connection minutes
    double = cost.monthly(ops, visitors=2000, conversations=200, messages=4000, operators=2, reports=0,
                          conversation_minutes=10, operator_hours=0, fixed={"x": 1.0})
    single = cost.monthly(ops, visitors=1000, conversations=100, messages=2000, operators=2, reports=0,
                          conversation_minutes=10, operator_hours=0, fixed={"x": 1.0})
    for name in single:
        if not name.startswith("fixed"):
            assert double[name] == pytest.approx(2 * single[name]), name


def test_fixed_costs_count_the_templates_alarms_and_the_layers_metrics(cost, template):
    fixed = cost.fixed_monthly(template)
    alarms = [r for r in template.resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert fixed["alarms"] >= len(alarms) * 0.10
    assert fixed["custom metrics"] == pytest.approx(8 * 0.30)


def test_the_cost_command_runs_small_on_the_real_handlers():
    # Given the command at one round
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "cost.py"), "--rounds", "1", "--visitors", "1000",
                           "--conversations", "50", "--messages", "500", "--operators", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"})
    # Then it prints a line per cost and a total, and nothing of the handlers' metrics
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(re.findall(r"^(.+?)\s{2,}([0-9.]+|on quote)", done.stdout, re.M))
    for name in ("Lambda", "DynamoDB requests", "HTTP API", "WebSocket messages", "S3", "total", "Intercom Essential",
                 "Events: EventBridge", "Events: SQS (webhooks)", "Events: Lambda", "Follow-up mail: SES",
                 "fixed: webhook queue polling", "fixed: scheduled runs (sweep, mailer)"):
        assert name in lines, done.stdout
    assert float(lines["DynamoDB requests"]) > 0 and float(lines["total"]) > float(lines["fixed: alarms"])
    assert float(lines["fixed: webhook queue polling"]) > 0
    assert '"_aws"' not in done.stdout
    # And refuses a negative load
    bad = subprocess.run([sys.executable, str(ROOT / "bench" / "cost.py"), "--visitors", "-1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "counts must be" in bad.stderr
    for wrong in (["--webhooks", "-1"], ["--followup-share", "1.5"]):
        bad = subprocess.run([sys.executable, str(ROOT / "bench" / "cost.py"), *wrong], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "counts must be" in bad.stderr, wrong


def events_usage(cost, *, conversation_events=3, message_events=1):
    """The three operations plus the events' parts, each doing known work."""
    ops = {"visit": usage(cost, http_requests=1, wru=5, lambda_ms=100),
           "conversation": usage(cost, wru=50, lambda_ms=1000, invocations=10, events=conversation_events),
           "message": usage(cost, wru=13, lambda_ms=100, events=message_events)}
    ops["event"] = cost.Usage(invocations=Counter({"EventsDispatchFunction": 0.8}), lambda_ms=10, gb_s=0.0025,
                              events=1, eventbridge=1)
    ops["delivery"] = cost.Usage(invocations=Counter({"WebhookDeliveryFunction": 0.8}), lambda_ms=5, gb_s=0.00125,
                                 deliveries=1, sqs_requests=2.6, rru=0.5)
    ops["followup"] = cost.Usage(lambda_ms=30, gb_s=0.015, rru=4, wru=3, mails=1)
    ops["scheduled"] = cost.Usage(invocations=Counter({"SupportSweepFunction": 1, "FollowupMailFunction": 1}),
                                  lambda_ms=6, gb_s=0.003, rru=1)
    return ops


def test_the_events_cost_grows_with_each_webhook_and_the_bus_with_the_events_alone(cost):
    # Given operations that emit 3 events a conversation and 1 a message
    ops, p = events_usage(cost), {k: v["usd"] for k, v in cost.PRICES.items()}
    load = {"visitors": 1000, "conversations": 100, "messages": 2000, "operators": 2, "fixed": {}}
    events = 100 * 3 + 2000 * 1
    # When the month is priced with 0 to 3 webhooks, no retries and an instant receiver
    by = {n: cost.monthly(ops, **load, webhooks=n, webhook_retries=0, webhook_answer_ms=0) for n in range(4)}
    # Then the bus gets every event once, whatever the webhooks
    for n in range(4):
        assert by[n]["Events: EventBridge"] == pytest.approx(events * p["eventbridge_event"])
    # And each webhook adds its SQS requests and its deliveries' Lambda, the same for each
    assert by[0]["Events: SQS (webhooks)"] == 0
    assert by[1]["Events: SQS (webhooks)"] == pytest.approx(events * 2.6 * p["sqs_request"])
    dispatch = events * (0.8 * p["lambda_request"] + 0.0025 * p["lambda_gb_second"])
    assert by[0]["Events: Lambda"] == pytest.approx(dispatch)
    per_hook = events * (0.8 * p["lambda_request"] + 0.00125 * p["lambda_gb_second"])
    for n in range(4):
        assert by[n]["Events: SQS (webhooks)"] == pytest.approx(n * by[1]["Events: SQS (webhooks)"])
        assert by[n]["Events: Lambda"] == pytest.approx(dispatch + n * per_hook)
    # And the deliveries' reads are in the DynamoDB line, their invocations in the logs
    reads = by[2]["DynamoDB requests"] - by[0]["DynamoDB requests"]
    assert reads == pytest.approx(2 * events * 0.5 * p["dynamodb_rru"])
    assert by[1]["CloudWatch Logs"] > by[0]["CloudWatch Logs"]
    # And retries and the receiver's answer time are paid per attempt
    slow = cost.monthly(ops, **load, webhooks=1, webhook_retries=0.5, webhook_answer_ms=200)
    assert slow["Events: SQS (webhooks)"] == pytest.approx(1.5 * by[1]["Events: SQS (webhooks)"])
    assert slow["Events: Lambda"] == pytest.approx(
        dispatch + 1.5 * per_hook + events * 1.5 * 0.2 * cost.EVENTS_MEMORY_GB * p["lambda_gb_second"])
    # And with no bus (EventBusName empty) nothing goes to EventBridge
    assert cost.monthly(ops, **load, webhooks=1, bus=False)["Events: EventBridge"] == 0


def test_a_load_that_emits_no_events_pays_no_events(cost):
    # Given operations that emit no event
    ops = events_usage(cost, conversation_events=0, message_events=0)
    # When priced with webhooks subscribed and the bus on
    lines = cost.monthly(ops, visitors=1000, conversations=100, messages=2000, operators=2, webhooks=5,
                         fixed={})
    # Then every events line is zero
    assert [lines[k] for k in cost.EVENT_LINES] == [0, 0, 0]
    # And a month without conversations (hence without events) too, whatever the webhooks
    quiet = cost.monthly(events_usage(cost), visitors=1000, conversations=0, messages=0, operators=2, webhooks=5,
                         fixed={})
    assert [quiet[k] for k in cost.EVENT_LINES] == [0, 0, 0] and quiet["Follow-up mail: SES"] == 0


def test_follow_up_mails_are_priced_per_mail_and_the_scheduled_runs_per_minute(cost, template):
    ops, p = events_usage(cost), {k: v["usd"] for k, v in cost.PRICES.items()}
    # Given a fifth of 1,000 conversations ending in a follow-up mail
    lines = cost.monthly(ops, visitors=0, conversations=1000, messages=0, operators=0, followup_share=0.2,
                         reports=0, fixed={})
    none = cost.monthly(ops, visitors=0, conversations=1000, messages=0, operators=0, followup_share=0,
                        reports=0, fixed={})
    # Then SES is paid per mail, and the mailer's work per mail lands in Lambda and DynamoDB
    assert lines["Follow-up mail: SES"] == pytest.approx(200 * p["ses_email"]) and none["Follow-up mail: SES"] == 0
    assert lines["DynamoDB requests"] - none["DynamoDB requests"] == pytest.approx(
        200 * (4 * p["dynamodb_rru"] + 3 * p["dynamodb_wru"]))
    assert lines["Lambda"] - none["Lambda"] == pytest.approx(200 * 0.015 * p["lambda_gb_second"])
    # And the two every-minute functions cost 43,200 runs each a month, whatever the load
    assert cost.SCHEDULED_RUNS_MONTH == 43_200
    run = cost.scheduled_monthly(ops)["scheduled runs (sweep, mailer)"]
    assert run == pytest.approx(43_200 * (2 * p["lambda_request"] + 0.003 * p["lambda_gb_second"]
                                          + 1 * p["dynamodb_rru"] + 2 * cost.LOG_BYTES_PER_INVOCATION / 1e9
                                          * p["logs_gb_ingested"]))
    # And the webhook queue's event source mapping polls it whether or not anything is sent
    assert cost.fixed_monthly(template)["webhook queue polling"] == pytest.approx(
        cost.SQS_IDLE_POLLS_MONTH * p["sqs_request"])


def test_the_measured_events_ride_the_chat_transactions_and_reach_the_bus_and_the_webhook(cost):
    # Given the real handlers, the events pump and a loopback receiver subscribed to every public type
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    try:
        measured = cost.measure(1)
    finally:
        del sys.path[:2]
    # Then a visit emits nothing, a conversation its created, assigned and closed, a message one event
    assert [measured[k].events for k in ("visit", "conversation", "message")] == [0, 3, 1]
    # And each event item was written in the operation's own transaction (its write units in its WRU)
    assert [measured[k].event_items for k in ("visit", "conversation", "message")] == [0, 3, 1]
    # And each event is one EventBridge event; a dispatcher invocation carries one or more
    event = measured["event"]
    assert event.eventbridge == 1 and 0 < event.invocations["EventsDispatchFunction"] <= 1
    # And each delivery is one message sent, received and deleted (sends and receives may be shared)
    delivery = measured["delivery"]
    assert delivery.deliveries == 1 and delivery.calls["sqs.DeleteMessage"] == 1
    assert 1 < delivery.sqs_requests <= 3 and 0 < delivery.invocations["WebhookDeliveryFunction"] <= 1
    # And the follow-up mail is one SES mail on a run already counted among the scheduled ones
    assert measured["followup"].mails == 1 and not measured["followup"].invocations
    assert dict(measured["scheduled"].invocations) == {"SupportSweepFunction": 1, "FollowupMailFunction": 1}
