"""What Switchboard costs to run a month, at AWS list prices: `python bench/cost.py [--visitors V] ...`.

``--visitors V --conversations C --messages M --operators O`` (a month's load); ``--rounds``.

The cost comes from what each operation measurably does, not from guesses: the real handlers
run in-process on moto (as the other sections and the tests run them), and every AWS call they
make is recorded (botocore's ``_make_api_call``), every Lambda invocation timed. Three
operations are measured:

- *visit*: a website visitor's widget loads its settings and signs the visitor in
  (``GET /tenants/{tenant}/widget``, ``POST /auth/external``);
- *conversation*: everything of one support conversation but its messages - the visitor's
  WebSocket handshake (authorizer, ``$connect``), ``support.open`` and ``channel.watch``, an
  online operator's ``channel.watch``, the operator's ``channel.close`` (the transcript written
  to S3), both ``$disconnect``s;
- *message*: one ``message.send`` (visitor's and operator's alternately), watched by both.

Then ``V x visit + C x conversation + M x message`` plus what a deployed stack pays whatever the
load (alarms, custom metrics, the dashboard, secrets, the KMS key), priced with :data:`PRICES`.
Read ``bench/README.md`` ("cost") for what is assumed and what is left out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: AWS list prices, us-east-1, USD, as published on 2026-12-07 (the pages below; no free tier
#: counted: a company's account spends it elsewhere). Lambda arm64, DynamoDB on-demand
#: (the November 2024 prices), HTTP API and WebSocket API first tiers, S3 Standard.
PRICES: dict[str, dict[str, Any]] = {
    "lambda_gb_second": {"usd": 0.0000133334, "source": "https://aws.amazon.com/lambda/pricing/ (Arm)"},
    "lambda_request": {"usd": 0.20 / 1e6, "source": "https://aws.amazon.com/lambda/pricing/"},
    "dynamodb_wru": {"usd": 0.625 / 1e6, "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/"},
    "dynamodb_rru": {"usd": 0.125 / 1e6, "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/"},
    "dynamodb_gb_month": {"usd": 0.25, "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/"},
    "http_api_request": {"usd": 1.00 / 1e6, "source": "https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs)"},
    "ws_message": {"usd": 1.00 / 1e6,
                   "source": "https://aws.amazon.com/api-gateway/pricing/ (WebSocket APIs, 32 KB units)"},
    "ws_connection_minute": {"usd": 0.25 / 1e6, "source": "https://aws.amazon.com/api-gateway/pricing/"},
    "s3_put": {"usd": 0.005 / 1000, "source": "https://aws.amazon.com/s3/pricing/"},
    "s3_get": {"usd": 0.0004 / 1000, "source": "https://aws.amazon.com/s3/pricing/"},
    "s3_gb_month": {"usd": 0.023, "source": "https://aws.amazon.com/s3/pricing/"},
    "athena_tb_scanned": {"usd": 5.00, "source": "https://aws.amazon.com/athena/pricing/ (10 MB minimum per query)"},
    "logs_gb_ingested": {"usd": 0.50, "source": "https://aws.amazon.com/cloudwatch/pricing/"},
    "custom_metric_month": {"usd": 0.30, "source": "https://aws.amazon.com/cloudwatch/pricing/"},
    "alarm_month": {"usd": 0.10, "source": "https://aws.amazon.com/cloudwatch/pricing/ (standard resolution)"},
    "alarm_metric_month": {"usd": 0.10,
                           "source": "https://aws.amazon.com/cloudwatch/pricing/ (per metric in a math alarm)"},
    "dashboard_month": {"usd": 3.00, "source": "https://aws.amazon.com/cloudwatch/pricing/"},
    "secret_month": {"usd": 0.40, "source": "https://aws.amazon.com/secrets-manager/pricing/"},
    "kms_key_month": {"usd": 1.00, "source": "https://aws.amazon.com/kms/pricing/"},
}

#: The products compared, as their public price pages state them. Intercom's seat prices are in
#: the stored copy of its help page (https://www.intercom.com/help/en/articles/8205716-intercom-seats,
#: "new pricing plans" of 2023-11-15: Essential 39, Advanced 99, Expert 139 USD a full seat a month,
#: billed monthly). Stream's page (https://getstream.io/chat/pricing/) was stored without its
#: figures: the Start plan price below is the public list price as recalled (2024: 499 USD a month
#: billed monthly for 10,000 MAU, 25,000 and more MAU on quote) and is marked as such.
COMPETITORS: dict[str, dict[str, Any]] = {
    "intercom_essential_seat": {"usd": 39.0, "verified": True},
    "intercom_advanced_seat": {"usd": 99.0, "verified": True},
    "stream_start_10k_mau": {"usd": 499.0, "verified": False},
}

# Lambda's START/END/REPORT lines (~350 B) + an EMF line (~400 B) + an access-log line (~150 B)
LOG_BYTES_PER_INVOCATION = 900
MEMORY_GB = 0.5  # template.yaml Globals MemorySize 512 (read and checked in measure())


@dataclass
class Usage:
    """What one operation made AWS do."""

    invocations: Counter[str] = field(default_factory=Counter)  # function id -> count
    lambda_ms: float = 0.0  # billed milliseconds, each invocation rounded up to 1 ms
    http_requests: int = 0
    ws_messages: int = 0  # frames in + PostToConnection out
    rru: float = 0.0
    wru: float = 0.0
    s3_puts: int = 0
    s3_gets: int = 0
    calls: Counter[str] = field(default_factory=Counter)  # service.operation -> count

    def scaled(self, k: float) -> dict[str, float]:
        return {"invocations": sum(self.invocations.values()) * k, "lambda_ms": self.lambda_ms * k,
                "http_requests": self.http_requests * k, "ws_messages": self.ws_messages * k,
                "rru": self.rru * k, "wru": self.wru * k, "s3_puts": self.s3_puts * k, "s3_gets": self.s3_gets * k}


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str))


def _units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> tuple[float, float]:
    """DynamoDB on-demand request units of one call (read, write), from its request and answer:
    a strongly consistent read is 1 RRU per 4 KB (eventually consistent: half), a write 1 WRU per
    KB, a transaction twice that per item. Sizes are the wire JSON's (a slight overestimate)."""
    read = 1.0 if params.get("ConsistentRead") else 0.5
    if operation == "GetItem":
        return read * max(1, math.ceil(_size(response.get("Item", {})) / 4096)), 0.0
    if operation in ("Query", "Scan"):
        return read * max(1, math.ceil(_size(response.get("Items", [])) / 4096)), 0.0
    if operation == "BatchGetItem":
        items = [i for v in response.get("Responses", {}).values() for i in v]
        return sum(read * max(1, math.ceil(_size(i) / 4096)) for i in items), 0.0
    if operation == "TransactGetItems":
        return sum(2 * max(1, math.ceil(_size(r.get("Item", {})) / 4096)) for r in response.get("Responses", [])), 0.0
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 0.0, float(max(1, math.ceil(_size(params.get("Item", {})) / 1024)))
    if operation == "TransactWriteItems":
        total = 0.0
        for item in params.get("TransactItems", []):
            (_, body), = item.items()
            total += 2 * max(1, math.ceil(_size(body.get("Item", {})) / 1024))
        return 0.0, total
    if operation == "BatchWriteItem":
        return 0.0, float(sum(len(v) for v in params.get("RequestItems", {}).values()))
    return 0.0, 0.0


@contextlib.contextmanager
def metering(usage: Usage) -> Iterator[None]:
    """Record every AWS call and every handler invocation into ``usage`` while inside."""
    import botocore.client

    import tests.chat_support as chat_support
    from switchboard_local import lambda_runtime

    original_call = botocore.client.BaseClient._make_api_call
    original_load = lambda_runtime.load_handler

    def call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        response = original_call(self, operation, params)
        service = self.meta.service_model.service_name
        usage.calls[f"{service}.{operation}"] += 1
        if service == "dynamodb":
            r, w = _units(operation, params, response)
            usage.rru += r
            usage.wru += w
        elif service == "s3":
            usage.s3_puts += operation in ("PutObject", "CopyObject", "CompleteMultipartUpload")
            usage.s3_gets += operation in ("GetObject", "HeadObject")
        elif service == "apigatewaymanagementapi" and operation == "PostToConnection":
            usage.ws_messages += 1
        return response

    def load(template: Any, function_id: str) -> Any:
        handler = original_load(template, function_id)

        def timed(event: Any, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                usage.lambda_ms += math.ceil((time.perf_counter() - started) * 1000)
                usage.invocations[function_id] += 1
                ctx = event.get("requestContext", {}) if isinstance(event, dict) else {}
                if "http" in ctx:
                    usage.http_requests += 1
                elif ctx.get("eventType") == "MESSAGE":
                    usage.ws_messages += 1
        return timed

    botocore.client.BaseClient._make_api_call = call  # type: ignore[method-assign]
    lambda_runtime.load_handler = load  # type: ignore[assignment]
    chat_support.load_handler = load  # type: ignore[attr-defined]
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original_call  # type: ignore[method-assign]
        lambda_runtime.load_handler = original_load
        chat_support.load_handler = original_load  # type: ignore[attr-defined]


def measure(rounds: int) -> dict[str, Usage]:
    """Each operation ``rounds`` times after a warm-up (containers made, tenant cached): the
    calls and units of one (they agree between rounds), and its Lambda time as the least of the
    rounds (the least disturbed by whatever else the CPUs were doing)."""
    import io
    import secrets

    from chat_bench import world

    from tests.chat_support import Chat, visitor_tokens
    from tests.conftest import OPERATOR, TENANT

    runs: dict[str, list[Usage]] = {"visit": [], "conversation": [], "message": []}
    with world() as w, contextlib.redirect_stdout(io.StringIO()):  # the handlers' EMF lines
        template = w["template"]
        memory = template.doc["Globals"]["Function"]["MemorySize"]
        assert memory / 1024 == MEMORY_GB, f"MemorySize is {memory}: update MEMORY_GB"
        from switchboard_local import lambda_runtime

        routes = {r.route_key: r.function_id for r in template.http_routes()}

        def http(route_key: str, *, body: Any = None, headers: dict[str, str] | None = None,
                 path: str | None = None, path_params: dict[str, str] | None = None) -> dict[str, Any]:
            method, route_path = route_key.split(" ", 1)
            event = lambda_runtime.http_event(method, path or route_path, route_path=route_path, body=body,
                                              headers=headers or {}, path_params=path_params)
            fn = routes[route_key]
            result = lambda_runtime.load_handler(template, fn)(event, lambda_runtime.LambdaContext(function_name=fn))
            return {"status": result["statusCode"], "json": json.loads(result["body"])}

        chat = Chat(template)
        staff = http("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                                 "password": OPERATOR["password"]})["json"]

        def one(record: bool) -> None:
            sink = {k: Usage() for k in runs}
            with metering(sink["visit"]):
                widget = http("GET /tenants/{tenant}/widget", path=f"/tenants/{TENANT}/widget",
                              path_params={"tenant": TENANT})
                assert widget["status"] == 200, widget
                tokens = visitor_tokens(http)
            with metering(sink["conversation"]):
                otto = chat.connect(staff)
                guest = chat.connect(tokens)
                channel = guest.ok("support.open")["channel"]
                guest.ok("channel.watch", channel_id=channel["id"])
                otto.ok("channel.watch", channel_id=channel["id"])
            sends = []
            for sender in (guest, otto):
                sends.append(Usage())
                with metering(sends[-1]):
                    sender.ok("message.send", channel_id=channel["id"], text="Hello, where is my order #1234?",
                              client_id=secrets.token_hex(8))
            with metering(sink["conversation"]):
                otto.ok("channel.close", channel_id=channel["id"])
                guest.disconnect()
                otto.disconnect()
            if record:
                runs["visit"].append(sink["visit"])
                runs["conversation"].append(sink["conversation"])
                runs["message"] += sends

        one(record=False)
        for _ in range(rounds):
            one(record=True)
    return {name: _mean(usages) for name, usages in runs.items()}


def _mean(usages: list[Usage]) -> Usage:
    """The counts and units averaged over runs (a visitor's send and an operator's differ by the
    watchers they reach), the Lambda time the least of them."""
    n = len(usages)
    out = Usage(lambda_ms=min(u.lambda_ms for u in usages))
    for u in usages:
        out.invocations.update(u.invocations)
        out.calls.update(u.calls)
    for counter in (out.invocations, out.calls):
        for key in counter:
            counter[key] = counter[key] / n  # type: ignore[assignment]
    out.rru, out.wru = sum(u.rru for u in usages) / n, sum(u.wru for u in usages) / n
    out.http_requests = sum(u.http_requests for u in usages) / n  # type: ignore[assignment]
    out.ws_messages = sum(u.ws_messages for u in usages) / n  # type: ignore[assignment]
    out.s3_puts = sum(u.s3_puts for u in usages) / n  # type: ignore[assignment]
    out.s3_gets = sum(u.s3_gets for u in usages) / n  # type: ignore[assignment]
    return out


def fixed_monthly(template: Any) -> dict[str, float]:
    """What the stack pays a month whatever its load, read from template.yaml."""
    from typing import get_args

    from switchboard.observability import MetricName

    alarms = [r for r in template.resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    metrics_in_alarms = sum(len([m for m in a["Properties"].get("Metrics", []) if "MetricStat" in m]) or 1
                            for a in alarms)
    secrets = sum(r["Type"] == "AWS::SecretsManager::Secret" for r in template.resources.values())
    keys = sum(r["Type"] == "AWS::KMS::Key" for r in template.resources.values())
    p = {k: v["usd"] for k, v in PRICES.items()}
    return {"alarms": metrics_in_alarms * p["alarm_metric_month"],
            "custom metrics": len(get_args(MetricName)) * p["custom_metric_month"],
            "dashboard": p["dashboard_month"], "secrets": secrets * p["secret_month"],
            "KMS key": keys * p["kms_key_month"]}


def monthly(usage: dict[str, Usage], *, visitors: int, conversations: int, messages: int, operators: int,
            conversation_minutes: float = 15, operator_hours: float = 8 * 22, reports: int = 100,
            fixed: dict[str, float]) -> dict[str, float]:
    """USD a month for the load, by line. Assumed (bench/README.md): a visitor's WebSocket is open only
    while they chat (``conversation_minutes``), each operator's ``operator_hours`` a month; a
    transcript and its messages are ~1 KB a message in DynamoDB and S3; ``reports`` report or search
    queries a month, each billed Athena's 10 MB minimum."""
    p = {k: v["usd"] for k, v in PRICES.items()}
    total: dict[str, float] = Counter()
    for name, count in (("visit", visitors), ("conversation", conversations), ("message", messages)):
        for key, value in usage[name].scaled(count).items():
            total[key] += value
    gb_s = total["lambda_ms"] / 1000 * MEMORY_GB
    stored_gb = messages * 1024 / 1e9
    lines = {
        "Lambda": gb_s * p["lambda_gb_second"] + total["invocations"] * p["lambda_request"],
        "DynamoDB requests": total["rru"] * p["dynamodb_rru"] + total["wru"] * p["dynamodb_wru"],
        "DynamoDB storage": stored_gb * p["dynamodb_gb_month"],
        "HTTP API": total["http_requests"] * p["http_api_request"],
        "WebSocket messages": total["ws_messages"] * p["ws_message"],
        "WebSocket minutes": (conversations * conversation_minutes + operators * operator_hours * 60)
        * p["ws_connection_minute"],
        "S3": total["s3_puts"] * p["s3_put"] + total["s3_gets"] * p["s3_get"] + stored_gb * p["s3_gb_month"],
        "Athena": reports * 10 / 1e6 * p["athena_tb_scanned"],
        "CloudWatch Logs": total["invocations"] * LOG_BYTES_PER_INVOCATION / 1e9 * p["logs_gb_ingested"],
        **{f"fixed: {k}": v for k, v in fixed.items()},
    }
    return lines


def compare(*, conversations: int, operators: int) -> dict[str, float | None]:
    """The same load at Intercom (per seat) and Stream (per monthly active chat user: visitors who
    chatted, plus the operators; up to 10,000 on the Start plan, above that on quote)."""
    c = {k: v["usd"] for k, v in COMPETITORS.items()}
    mau = conversations + operators
    return {"Intercom Essential": operators * c["intercom_essential_seat"],
            "Intercom Advanced": operators * c["intercom_advanced_seat"],
            "Stream Start": c["stream_start_10k_mau"] if mau <= 10_000 else None}


LOADS = [  # (visitors, conversations, messages, operators) a month
    (10_000, 500, 7_500, 2),
    (100_000, 5_000, 75_000, 10),
    (1_000_000, 50_000, 750_000, 60),
]


def run(quick: bool) -> list[dict[str, Any]]:
    """The bench section: measured usage per operation, then the monthly cost of three loads."""
    from switchboard_local.template import Template

    tiny = os.environ.get("BENCH_TINY") == "1"
    rounds = 1 if tiny else (3 if quick else 10)
    usage = measure(rounds)
    fixed = fixed_monthly(Template(ROOT / "template.yaml"))
    load = os.getloadavg()[0]
    per_op = {"title": "Cost model: what one operation makes AWS do (measured)",
              "columns": ["operation", "Lambda invocations", "Lambda ms (billed)", "DynamoDB RRU", "DynamoDB WRU",
                          "HTTP requests", "WebSocket messages", "S3 PUT / GET", "AWS calls"],
              "rows": [[name, f"{sum(u.invocations.values()):.0f}", f"{u.lambda_ms:.0f}", f"{u.rru:.1f}",
                        f"{u.wru:.1f}", f"{u.http_requests:.0f}", f"{u.ws_messages:.0f}",
                        f"{u.s3_puts:.0f} / {u.s3_gets:.0f}",
                        ", ".join(f"{k} {v:.0f}" for k, v in sorted(u.calls.items()))]
                       for name, u in usage.items()],
              "notes": f"{rounds} round(s) after a warm-up, in-process on moto: counts averaged, Lambda time the "
                       f"least of the rounds (it includes moto's own CPU and excludes network waits); "
                       f"load average {load:.2f}."}
    rows = []
    for visitors, conversations, messages, operators in LOADS:
        lines = monthly(usage, visitors=visitors, conversations=conversations, messages=messages,
                        operators=operators, fixed=fixed)
        variable = sum(v for k, v in lines.items() if not k.startswith("fixed"))
        other = compare(conversations=conversations, operators=operators)
        stream = other["Stream Start"]
        rows.append([f"{visitors:,} / {conversations:,} / {messages:,} / {operators}",
                     f"{variable:,.2f}", f"{variable + sum(fixed.values()):,.2f}",
                     f"{other['Intercom Essential']:,.0f} - {other['Intercom Advanced']:,.0f}",
                     f"{stream:,.0f} (recalled)" if stream is not None else "on quote (over 10,000 MAU)"])
    costs = {"title": "Cost model: USD a month at AWS list prices (us-east-1) beside Intercom and Stream",
             "columns": ["visitors / conversations / messages / operators", "Switchboard, usage",
                         "Switchboard, with fixed costs", "Intercom (Essential - Advanced seats)",
                         "Stream Chat (Start)"],
             "rows": rows,
             "notes": "Fixed costs a month (alarms, custom metrics, dashboard, secrets, KMS key): "
                      + ", ".join(f"{k} {v:.2f}" for k, v in fixed.items())
                      + f". Prices of {PRICES['lambda_gb_second']['source'].split(' ')[0]} and the other "
                        "pages in bench/cost.py, as of 2026-12-07. Intercom: seats only (no Fin AI resolutions); "
                        "Stream: its Start plan price as recalled, not verified here."}
    return [per_op, costs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=5_000)
    parser.add_argument("--messages", type=int, default=75_000)
    parser.add_argument("--operators", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if min(args.visitors, args.conversations, args.messages, args.operators, args.rounds) < 0 or args.rounds < 1:
        parser.error("counts must be >= 0 and --rounds >= 1")
    sys.path[:0] = [str(ROOT), str(HERE)]
    from switchboard_local.template import Template

    usage = measure(args.rounds)
    fixed = fixed_monthly(Template(ROOT / "template.yaml"))
    lines = monthly(usage, visitors=args.visitors, conversations=args.conversations, messages=args.messages,
                    operators=args.operators, fixed=fixed)
    width = max(map(len, lines))
    for name, usd in lines.items():
        print(f"{name:<{width}}  {usd:10.2f}")
    print(f"{'total':<{width}}  {sum(lines.values()):10.2f}  USD a month")
    for name, usd in compare(conversations=args.conversations, operators=args.operators).items():
        print(f"{name:<{width}}  {'on quote' if usd is None else f'{usd:10.2f}'}")
    print(f"(counts averaged over {args.rounds} rounds, Lambda time the least of them; "
          f"load average {statistics.mean(os.getloadavg()):.2f})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
