"""`switchboard dev` stops cleanly and quickly, and starts again at once on the same ports (issue 15).

SIGTERM with a few hundred open sockets and sends in flight: the process exits 0 within 5 s,
every send in flight was either acknowledged or refused (never left without an answer while
the socket stayed open), and nothing crashed on the way down. Then a new stack binds the same
four ports straight away, although the last one's connections are still in TIME_WAIT.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import urllib.request
import uuid
from typing import Any

import websockets

from tests.conftest import ORIGIN, SEED, TENANT, DevStack

VISITORS = 6
TABS = 20  # 6 visitors hold 120 sockets (the per-user cap is 25); bench/ stops one with 500


def _sign_in(stack: DevStack) -> dict[str, Any]:
    req = urllib.request.Request(f"{stack.http}/auth/external", data=json.dumps({"tenant": TENANT}).encode(),
                                 method="POST", headers={"content-type": "application/json", "origin": ORIGIN})
    with urllib.request.urlopen(req, timeout=10) as r:
        return dict(json.loads(r.read()))


async def _load(stack: DevStack) -> tuple[list[Any], list[asyncio.Task[Any]], dict[str, int]]:
    """120 open sockets, each sending without pause (a backlog of invocations at the stop)."""
    sockets: list[Any] = []
    outcomes: dict[str, Any] = {"acked": 0, "refused": 0, "closed": 0, "unanswered": [], "sigterm": None}
    senders: list[asyncio.Task[Any]] = []
    for _ in range(VISITORS):
        token = (await asyncio.to_thread(_sign_in, stack))["chat_token"]
        tabs = [await websockets.connect(f"{stack.ws}/?token={token}", origin=ORIGIN) for _ in range(TABS)]  # type: ignore[arg-type]
        sockets += tabs
        await tabs[0].send(json.dumps({"action": "support.open", "rid": "open"}))
        channel = json.loads(await tabs[0].recv())["data"]["channel"]["id"]

        async def send(ws: Any, channel: str = channel) -> None:
            sent_at = None
            try:
                while True:
                    rid = uuid.uuid4().hex
                    sent_at = time.monotonic()
                    await ws.send(json.dumps({"action": "message.send", "rid": rid, "channel_id": channel,
                                              "text": "still there?", "client_id": rid}))
                    while True:  # its reply, or API Gateway's error frame (no rid) for a refused one
                        frame = json.loads(await ws.recv())
                        if frame.get("rid") == rid or ("message" in frame and frame.get("type") is None):
                            break
                    sent_at = None
                    outcomes["acked" if frame.get("ok") else "refused"] += 1
            except websockets.ConnectionClosed:
                outcomes["closed"] += 1
                stopped = outcomes["sigterm"]
                # a frame the stack had in hand (sent well before the stop began) was answered
                if sent_at is not None and stopped is not None and sent_at < stopped - 0.5:
                    outcomes["unanswered"].append(round(stopped - sent_at, 2))

        senders += [asyncio.create_task(send(tab)) for tab in tabs]  # every socket sends: a backlog
    return sockets, senders, outcomes


def test_sigterm_under_load_stops_within_5_s_and_the_ports_are_free_at_once(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    stack = DevStack(["--seed", str(seed)])
    ports = (stack.http_port, stack.ws_port, stack.web_port, stack.s3_port)

    async def scenario() -> tuple[float, dict[str, int], int]:
        sockets, senders, outcomes = await _load(stack)
        await asyncio.sleep(1.0)  # sends in flight
        assert outcomes["acked"] > 0
        # When the stack gets SIGTERM
        started = outcomes["sigterm"] = time.monotonic()
        stack.proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(stack.proc.wait, 10)
        took = time.monotonic() - started
        await asyncio.wait_for(asyncio.gather(*senders, return_exceptions=True), 10)
        for ws in sockets:
            await ws.close()
        return took, outcomes, code

    took, outcomes, code = asyncio.run(scenario())
    # Then it stopped cleanly, within 5 s, and every sender's last send was answered or its socket closed
    assert code == 0, stack.output[-2000:]
    assert took < 5.0, took
    assert outcomes["closed"] == VISITORS * TABS
    assert outcomes["unanswered"] == []
    assert "Traceback" not in stack.output, stack.output[-3000:]
    assert "switchboard: stopped" in stack.output
    # and the functions reached the sockets in process, not over HTTP
    calls = re.search(r"@connections calls: (\d+) in process, (\d+) over HTTP", stack.output)
    assert calls is not None and int(calls[1]) > 0 and int(calls[2]) == 0, calls
    # and a new stack starts on the same four ports straight away
    again = DevStack(["--seed", str(seed)], ports=ports)
    try:
        assert _sign_in(again)["user"]["id"]
    finally:
        assert again.stop() == 0
