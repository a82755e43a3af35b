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


class _StoppingInvoker:
    """An invoker that began closing between the schedule's check and its run (a SIGTERM race),
    or (``closing_after=None``) one that refuses a function without closing (concurrency 0)."""

    def __init__(self, closing_after: int | None = 1) -> None:
        self.calls = 0
        self.closing = False
        self.closing_after = closing_after

    async def ainvoke(self, function_id, event):
        from switchboard_local.invoker import InvocationRefused

        self.calls += 1
        if self.closing_after is not None and self.calls >= self.closing_after:
            self.closing = True
        raise InvocationRefused(function_id)


def test_a_schedule_refused_because_the_stack_is_stopping_ends_quietly(capsys):
    import asyncio

    from switchboard_local.scheduler import Schedule, run_schedules

    invoker = _StoppingInvoker()
    schedule = Schedule(function_id="SupportSweepFunction", name="Sweep", expression="rate(1 minute)", seconds=60)

    async def scenario() -> None:
        await asyncio.wait_for(run_schedules(invoker, [schedule], asyncio.Event(), every=0.01), 2)

    asyncio.run(scenario())  # returns: no further runs once refused
    assert invoker.calls == 1
    assert "failed" not in capsys.readouterr().out and "refused" not in capsys.readouterr().out


def test_a_schedule_refused_while_the_stack_runs_is_told_and_tried_again(capsys):
    import asyncio

    from switchboard_local.scheduler import Schedule, run_schedules

    invoker = _StoppingInvoker(closing_after=3)  # refused twice while running, then the stack stops
    schedule = Schedule(function_id="SupportSweepFunction", name="Sweep", expression="rate(1 minute)", seconds=60)
    asyncio.run(asyncio.wait_for(run_schedules(invoker, [schedule], asyncio.Event(), every=0.01), 2))
    assert invoker.calls == 3
    assert capsys.readouterr().out.count("scheduled SupportSweepFunction refused") == 2


def test_the_events_pump_stops_quietly_when_the_stack_refuses_invocations(caplog):
    """SIGTERM closes the invoker while the pump may be mid-pass: the pass's records stay in the
    stream (its position is not moved) and no traceback is logged (tests/e2e/test_lifecycle.py)."""
    import threading

    from switchboard_local.events_pump import EventsPump
    from switchboard_local.invoker import InvocationRefused

    class Pump(EventsPump):
        def __init__(self, stop: threading.Event, stop_at: int) -> None:  # only run()'s loop is under test
            self.passes, self.stop, self.stop_at = 0, stop, stop_at

        def run_once(self) -> int:
            self.passes += 1
            if self.passes >= self.stop_at:
                self.stop.set()  # SIGTERM: the stack sets the pump's stop, then closes the invoker
            raise InvocationRefused("EventsDispatchFunction")

    # stopping: the first refusal ends the pump, quietly
    stop = threading.Event()
    pump = Pump(stop, stop_at=1)
    thread = threading.Thread(target=pump.run, args=(stop,), kwargs={"interval": 0.01}, daemon=True)
    with caplog.at_level("DEBUG"):
        thread.start()
        thread.join(2)
    assert not thread.is_alive()
    assert pump.passes == 1
    assert "failed a pass" not in caplog.text
    # refused while running (a function with no concurrency): the pump goes on with its next pass
    stop = threading.Event()
    pump = Pump(stop, stop_at=3)
    thread = threading.Thread(target=pump.run, args=(stop,), kwargs={"interval": 0.01}, daemon=True)
    thread.start()
    thread.join(2)
    assert not thread.is_alive() and pump.passes == 3
