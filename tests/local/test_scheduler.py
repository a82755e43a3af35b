"""The local scheduler (issue 17): `switchboard dev` runs every Schedule event of template.yaml on
its rate through the invoker (IAM enforced), `--schedule-every` makes it run sooner for tests, and
SIGTERM still stops the stack cleanly."""

from __future__ import annotations

import time

from tests.conftest import DevStack


def test_the_templates_schedules_are_read_with_their_rates(template):
    from switchboard_local.scheduler import schedules

    found, skipped = schedules(template)
    assert ("SupportSweepFunction", 60) in {(s.function_id, s.seconds) for s in found}
    assert skipped == []


def test_rate_expressions_and_cron_left_out():
    from types import SimpleNamespace

    from switchboard_local.scheduler import schedules

    fn = SimpleNamespace(logical_id="F", events={
        "a": {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}},
        "b": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 hour)"}},
        "c": {"Type": "Schedule", "Properties": {"Schedule": "cron(0 12 * * ? *)"}},
        "d": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)", "Enabled": False}},
        "e": {"Type": "HttpApi", "Properties": {}}})
    found, skipped = schedules(SimpleNamespace(functions={"F": fn}))
    assert sorted((s.name, s.seconds) for s in found) == [("a", 300), ("b", 3600)]
    assert skipped == ["F.c: cron(0 12 * * ? *)"]


def test_switchboard_dev_runs_the_sweep_on_its_schedule_and_stops_cleanly():
    stack = DevStack(["--schedule-every", "1"])
    try:
        deadline = time.monotonic() + 30
        while "scheduled SupportSweepFunction" not in stack.output and time.monotonic() < deadline:
            time.sleep(0.2)
        # the run went through the invoker with the function's own IAM policy: it answered, not failed
        assert "scheduled SupportSweepFunction (rate(1 minute)): {" in stack.output, stack.output[-3000:]
        assert "scheduled SupportSweepFunction failed" not in stack.output
    finally:
        started = time.monotonic()
        code = stack.stop()
    assert code == 0, stack.output[-3000:]
    assert time.monotonic() - started < 5
