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
    for name in ("Lambda", "DynamoDB requests", "HTTP API", "WebSocket messages", "S3", "total", "Intercom Essential"):
        assert name in lines, done.stdout
    assert float(lines["DynamoDB requests"]) > 0 and float(lines["total"]) > float(lines["fixed: alarms"])
    assert '"_aws"' not in done.stdout
    # And refuses a negative load
    bad = subprocess.run([sys.executable, str(ROOT / "bench" / "cost.py"), "--visitors", "-1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "counts must be" in bad.stderr
