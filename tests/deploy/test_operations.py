"""Production operations in template.yaml (docs/operations.md): log retention on every log group,
access logs without secrets, an alarm for every function, the alarms the issue lists, and the
dashboard - plus checkov over the whole template (findings fixed, or skipped with a reason)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from switchboard_local.template import Tag
from tests.conftest import ROOT


def ref(value: Any) -> str | None:
    return value.value if isinstance(value, Tag) and value.name == "Ref" else None


def of_type(template, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.resources.items() if v["Type"] == kind}


def test_every_function_logs_to_a_log_group_of_its_own_kept_log_retention_days(template):
    groups = of_type(template, "AWS::Logs::LogGroup")
    used = []
    for fid in template.functions:
        config = template.resources[fid]["Properties"].get("LoggingConfig") or {}
        group = ref(config.get("LogGroup"))
        assert group in groups, (f"{fid} has no log group of its own: add `LoggingConfig: LogGroup: !Ref {fid}Logs` "
                                 f"and a {fid}Logs AWS::Logs::LogGroup (docs/operations.md, Logs)")
        used.append(group)
    assert len(set(used)) == len(used)  # one each: a function's logs are found by its name
    for name, group in groups.items():  # and every log group of the stack, access logs included
        assert ref(group["Properties"].get("RetentionInDays")) == "LogRetentionDays", name
    assert template.parameter_defaults()["LogRetentionDays"] == 30


def test_both_apis_write_access_logs_that_never_hold_a_query_string_header_or_body(template):
    http = template.resources["HttpApi"]["Properties"]["AccessLogSettings"]
    chat = template.resources["ChatStage"]["Properties"]["AccessLogSettings"]
    for settings in (http, chat):
        fmt = settings["Format"]
        fields = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", fmt))  # valid JSON once filled in
        assert "status" in fields and "requestId" in fields
        # the WebSocket handshake carries the chat token in ?token=: nothing that could hold it
        for leak in ("querystring", "path", "header", "authorizer", "requestOverride", "body"):
            assert leak.lower() not in fmt.lower().replace("$context.routekey", ""), leak
        target = settings["DestinationArn"].value
        group = template.resources[target.split(".")[0] if isinstance(target, str) else target[0]]
        assert group["Type"] == "AWS::Logs::LogGroup"


def _alarmed_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, Any]]:
    props = alarm["Properties"]
    if "MetricName" in props:
        return [(props["Namespace"], props["MetricName"], props.get("Dimensions"))]
    return [(m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"],
             m["MetricStat"]["Metric"].get("Dimensions")) for m in props["Metrics"] if "MetricStat" in m]


def test_every_function_has_an_alarm_on_its_errors_and_throttles(template):
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    watched: dict[str, set[str]] = {}
    for alarm in alarms.values():
        for namespace, metric, dims in _alarmed_metrics(alarm):
            if namespace == "AWS/Lambda":
                watched.setdefault(ref(dims[0]["Value"]) or "", set()).add(metric)
    for fid in template.functions:
        assert {"Errors", "Throttles"} <= watched.get(fid, set()), f"{fid}: no alarm on its errors and throttles"


def test_the_alarms_the_issue_lists_exist_and_all_notify_the_alarm_topic(template):
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    metrics = {(ns, m) for a in alarms.values() for ns, m, _ in _alarmed_metrics(a)}
    assert {("AWS/ApiGateway", "5xx"), ("AWS/ApiGateway", "4xx"), ("AWS/ApiGateway", "IntegrationError"),
            ("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents")} <= metrics
    rotation = alarms["KeyRotationFailedAlarm"]["Properties"]
    assert ref(rotation["Dimensions"][0]["Value"]) == "KeyRotationFunction"
    topic = Tag("If", ["CreateAlarmTopic", Tag("Ref", "AlarmTopic"), Tag("Ref", "AlarmTopicArn")])
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [topic], name
    assert template.resources["AlarmTopic"]["Condition"] == "CreateAlarmTopic"
    assert template.parameter_defaults()["AlarmTopicArn"] == ""


def test_the_dashboard_shows_the_metrics_the_layer_writes():
    from typing import get_args

    from switchboard.observability import MetricName

    body = (ROOT / "template.yaml").read_text().split("DashboardBody:", 1)[1].split("\nOutputs:", 1)[0]
    for name in get_args(MetricName):
        assert f'"{name}"' in body, f"{name} is written but not on the dashboard"


def test_the_functions_write_metrics_under_the_namespace_parameter(template):
    env = template.doc["Globals"]["Function"]["Environment"]["Variables"]
    assert ref(env["POWERTOOLS_METRICS_NAMESPACE"]) == "MetricsNamespace"


# -- checkov ---------------------------------------------------------------------------------
def _checkov() -> str:
    for c in (os.environ.get("CHECKOV"), str(ROOT / ".tools/checkov/bin/checkov"), shutil.which("checkov")):
        if c and Path(c).exists():
            return c
    pytest.fail("checkov not found: run the tests with `make test`, which installs it into .tools/checkov")


def test_checkov_finds_nothing_unexplained_in_the_template(template):
    # Given checkov over template.yaml with the repository's settings (.checkov.yaml)
    r = subprocess.run([_checkov(), "-f", "template.yaml", "--config-file", ".checkov.yaml", "--skip-download",
                        "--compact", "-o", "json"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
    report = json.loads(r.stdout)
    report = report[0] if isinstance(report, list) else report
    # Then it read every resource and no check failed
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] >= len(template.resources)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [], failed
    assert r.returncode == 0, r.stderr[-2000:]
    # And every check skipped beside a resource says why
    for skipped in report["results"]["skipped_checks"]:
        comment = (skipped.get("check_result") or {}).get("suppress_comment") or ""
        assert len(comment) > 20, skipped["check_id"]
