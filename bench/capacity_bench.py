"""Capacity of the local stack: N visitors and 2 operators, messages at a paced rate (issue 15).

For each size N (100, 250 and 500 visitors; ``--quick`` 100 and 500):

1. A fresh ``switchboard dev`` (a subprocess: tests/conftest.py's DevStack), one tenant, 2 operators.
2. The operators sign in and connect. Then every visitor signs in (``POST /auth/external``, from
   distinct loopback addresses, 25 visitors each, as a site's visitors come from many),
   connects, ``support.open`` (assigned to the least-loaded operator) and ``channel.watch``;
   then each operator lists its channels (``channel.query {"member": "me"}``, every page) and
   watches each one. The time from the first sign-in to the last watch is "open + watch".
3. A ladder of paced rates (5, 10, 15, 20, 25, 30, 40 sends/s; each for 10 s): sends start on an
   open-loop schedule, round-robin over the visitors (each visitor's previous send is long
   acknowledged by its next turn). Every acknowledged ``message.send`` must reach the assigned
   operator exactly once as ``message.new`` (matched by ``client_id``) - lost and duplicated
   are counted. Ack latency: send to reply; delivery latency: send to the operator's receipt
   (one monotonic clock, one process). The ladder stops one rate past the knee: the first
   rate whose ack p99 passes 250 ms.
4. Stack CPU per acknowledged send: the stack process's user + system CPU (``/proc/<pid>/stat``)
   over the rate's window and its drain, divided by its acknowledged sends.
5. The stack gets SIGTERM with every socket still open: its exit code and how long it took.

Targets (issue 15): at 500 visitors and 20 sends/s, 0 lost / duplicated / errors, ack p99 <=
250 ms, delivery p99 <= 500 ms; open + watch of 500 channels <= 60 s; CPU per send at 500 <=
1.3 x at 100 (same run, same rate).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TENANT = "capco"
ORIGIN = "https://shop.capco.test"
OPERATORS = 2
VISITORS_PER_IP = 25
ACK_KNEE_MS = 250.0
#: client_id -> [(receiving connection's key, time, message id)]: every message.new any client got
SINK: dict[str, list[tuple[str, float, str]]] = defaultdict(list)

FULL = {"sizes": [100, 250, 500], "rates": [5, 10, 15, 20, 25, 30, 40], "seconds": 10.0}
QUICK = {"sizes": [100, 500], "rates": [10, 20, 30], "seconds": 6.0}
TINY = {"sizes": [6], "rates": [4], "seconds": 1.0}  # the suite's check that the section runs
TARGET_RATE = 20


#: the load section's client (replies by rid, message.new receipts into a shared sink) and percentile
from load_bench import Client, pct  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (``/proc/<pid>/stat``, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _seed() -> dict[str, Any]:
    return {"tenants": [{"id": TENANT, "name": "Capacity Co", "identity_secret": "capco-identity-secret-0123456789",
                         "hook_secret": "capco-hook-secret-0123456789abcd", "allowed_origins": [ORIGIN],
                         "operators": [{"email": f"op{j}@capco.test", "password": f"op{j}-capacity-password",
                                        "role": "operator", "name": f"Op {j}"} for j in range(OPERATORS)]}]}


async def _connect(stack: Any, token: str, key: str) -> Client:
    import websockets

    ws = await websockets.connect(f"{stack.ws}/?token={token}", origin=ORIGIN,  # type: ignore[arg-type]
                                  open_timeout=60, close_timeout=2, ping_interval=None, max_size=None)
    client = Client(key, "", "", ws, SINK)
    client.start()
    return client


async def _bounded(limit: int, coros: list[Any]) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def _setup(stack: Any, n: int) -> tuple[list[tuple[Client, str, Client]], list[Client], dict[str, float]]:
    """(visitor, channel id, its operator) for each visitor; the operators; phase times."""
    import aiohttp

    times: dict[str, float] = {}
    sessions: dict[str, aiohttp.ClientSession] = {}

    def http_from(source: str) -> aiohttp.ClientSession:
        if source not in sessions:
            sessions[source] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0), limit=8),
                                                     timeout=aiohttp.ClientTimeout(total=60))
        return sessions[source]

    async def post(source: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with http_from(source).post(stack.http + path, json=body, headers={"origin": ORIGIN}) as r:
            data = await r.json(content_type=None)
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status} {str(data)[:160]}")
            return dict(data)

    try:
        operators: list[Client] = []
        for j in range(OPERATORS):
            tokens = await post(f"127.0.2.{1 + j}", "/auth/internal", {"tenant": TENANT, "email": f"op{j}@capco.test",
                                                                        "password": f"op{j}-capacity-password"})
            op = await _connect(stack, tokens["chat_token"], f"op{j}")
            op.user_id = tokens["user"]["id"]
            operators.append(op)
        started = time.monotonic()

        async def visitor(i: int) -> tuple[Client, str, str]:
            tokens = await post(f"127.0.1.{1 + i // VISITORS_PER_IP}", "/auth/external", {"tenant": TENANT})
            c = await _connect(stack, tokens["chat_token"], f"v{i}")
            channel = (await c.ok("support.open", subject=f"capacity {i}"))["channel"]
            await c.ok("channel.watch", channel_id=channel["id"])
            return c, channel["id"], channel.get("assignee") or ""

        opened = await _bounded(32, [visitor(i) for i in range(n)])
        times["visitors open + watch"] = time.monotonic() - started
        t = time.monotonic()
        by_user = {op.user_id: op for op in operators}

        async def watch_all(op: Client) -> None:
            cursor = None
            while True:
                page = await op.ok("channel.query", filter={"member": "me"}, limit=100,
                                   **({"cursor": cursor} if cursor else {}))
                await _bounded(8, [op.ok("channel.watch", channel_id=ch["id"]) for ch in page["channels"]])
                cursor = page["cursor"]
                if not cursor:
                    break

        await asyncio.gather(*(watch_all(op) for op in operators))
        times["operators watch"] = time.monotonic() - t
        times["open + watch"] = time.monotonic() - started
        pairs = [(c, ch, by_user[assignee]) for c, ch, assignee in opened if assignee in by_user]
        if len(pairs) != n:
            raise RuntimeError(f"{n - len(pairs)} channels without an online assignee")
        return pairs, operators, times
    finally:
        for s in sessions.values():
            await s.close()


async def _rate(stack: Any, pairs: list[tuple[Client, str, Client]], rate: float, seconds: float,
                turn: itertools.cycle[int]) -> dict[str, Any]:
    """Sends at ``rate`` per second for ``seconds``; latencies, losses, CPU per acked send."""
    sends: list[dict[str, Any]] = []

    async def send(i: int) -> None:
        visitor, channel, operator = pairs[i]
        client_id = uuid.uuid4().hex
        rec: dict[str, Any] = {"client_id": client_id, "op": operator, "sent": time.monotonic(), "ok": False,
                               "error": None, "ack": None}
        sends.append(rec)
        try:
            reply = await visitor.request("message.send", channel_id=channel, text="how is my order?",
                                          client_id=client_id)
            rec["ack"] = time.monotonic()
            rec["ok"] = bool(reply.get("ok"))
            if not rec["ok"]:
                rec["error"] = reply["error"]["code"]
        except Exception as exc:
            rec["error"] = type(exc).__name__

    cpu_before = cpu_seconds(stack.proc.pid)
    started = time.monotonic()
    tasks = []
    for k in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + k / rate - time.monotonic()))
        tasks.append(asyncio.create_task(send(next(turn))))
    await asyncio.gather(*tasks)
    def receipts(s: dict[str, Any]) -> list[float]:
        return [t for key, t, _ in SINK.get(s["client_id"], ()) if key == s["op"].key]

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(s["ok"] and not receipts(s) for s in sends):
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # late duplicates
    cpu = cpu_seconds(stack.proc.pid) - cpu_before
    acked = [s for s in sends if s["ok"]]
    got = [receipts(s) for s in acked]
    return {
        "rate": rate, "sent": len(sends), "acked": len(acked),
        "errors": Counter(s["error"] for s in sends if not s["ok"]),
        "lost": sum(1 for g in got if not g), "duplicated": sum(max(0, len(g) - 1) for g in got),
        "ack": [(s["ack"] - s["sent"]) * 1000 for s in acked],
        "delivery": [(g[0] - s["sent"]) * 1000 for s, g in zip(acked, got, strict=True) if g],
        "cpu_ms_per_send": cpu * 1000 / len(acked) if acked else float("nan"),
    }


async def _size(stack: Any, n: int, cfg: dict[str, Any]) -> dict[str, Any]:
    pairs, operators, times = await _setup(stack, n)
    turn = itertools.cycle(range(len(pairs)))
    ladder = []
    for rate in cfg["rates"]:
        row = await _rate(stack, pairs, rate, cfg["seconds"], turn)
        ladder.append(row)
        if pct(row["ack"], 99) > ACK_KNEE_MS and rate >= TARGET_RATE and len(ladder) > 1 \
                and pct(ladder[-2]["ack"], 99) > ACK_KNEE_MS:
            break  # two rates past the knee: the rest would only be slower
    # SIGTERM with every socket still open
    t = time.monotonic()
    code = await asyncio.to_thread(stack.stop, 30)
    return {"n": n, "times": times, "ladder": ladder, "exit": code, "stop_s": time.monotonic() - t,
            "sockets": len(pairs) + len(operators)}


def _knee(ladder: list[dict[str, Any]]) -> str:
    below = [r["rate"] for r in ladder if pct(r["ack"], 99) <= ACK_KNEE_MS]
    above = [r["rate"] for r in ladder if pct(r["ack"], 99) > ACK_KNEE_MS]
    if not above:
        return f"> {max(below):g}/s (not reached)" if below else "-"
    first_above = min(above)
    last_below = max((r for r in below if r < first_above), default=None)
    return f"{last_below:g}-{first_above:g}/s" if last_below is not None else f"< {first_above:g}/s"


def run(quick: bool) -> list[dict[str, Any]]:
    for p in (str(ROOT), str(ROOT / "src")):
        if p not in sys.path:
            sys.path.insert(0, p)
    from tests.conftest import DevStack

    tiny = os.environ.get("BENCH_TINY") == "1"
    cfg = TINY if tiny else QUICK if quick else FULL
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        seed_file = Path(tmp) / "seed.json"
        seed_file.write_text(json.dumps(_seed()))
        for n in cfg["sizes"]:
            load_start = os.getloadavg()[0]
            # 2 operators stand for a team here: each watches up to 250 conversations, past the
            # "query" action limit a person meets (150 a minute per connection), so it is lifted
            stack = DevStack(["--seed", str(seed_file), "--env", "WS_RATE_LIMITS=query=2000/4000"], ready_timeout=120)
            try:
                result = asyncio.run(asyncio.wait_for(_size(stack, n, cfg), 1800))
            except BaseException:
                if stack.proc.poll() is None:
                    stack.proc.kill()
                raise
            result["log_errors"] = sum(1 for ln in stack.lines if '"level":"ERROR"' in ln or "Traceback" in ln)
            result["load"] = (load_start, os.getloadavg()[0])
            results.append(result)
    return _tables(results, cfg, tiny)


def _at(result: dict[str, Any], rate: float) -> dict[str, Any] | None:
    return next((r for r in result["ladder"] if r["rate"] == rate), None)


def _tables(results: list[dict[str, Any]], cfg: dict[str, Any], tiny: bool) -> list[dict[str, Any]]:
    rows = []
    for res in results:
        for r in res["ladder"]:
            clean = not r["errors"] and not r["lost"] and not r["duplicated"]
            rows.append([res["n"], f"{r['rate']:g}", r["sent"], r["acked"],
                         ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or 0, r["lost"], r["duplicated"],
                         f"{pct(r['ack'], 50):.0f}", f"{pct(r['ack'], 99):.0f}", f"{pct(r['delivery'], 50):.0f}",
                         f"{pct(r['delivery'], 99):.0f}", f"{r['cpu_ms_per_send']:.1f}",
                         "ok" if clean else "FAIL"])
    ladder = {
        "title": "Capacity: N visitors, 2 operators, paced message.send (the rate ladder)",
        "columns": ["visitors", "sends/s", "sent", "acked", "errors", "lost", "duplicated", "ack p50 ms",
                    "ack p99 ms", "delivery p50 ms", "delivery p99 ms", "stack CPU ms per acked send", "check"],
        "rows": rows,
        "notes": (f"Each rate for {cfg['seconds']:g} s on an open-loop schedule, round-robin over the visitors; "
                  "delivery is to the channel's operator. Check: no error, nothing lost or duplicated. "
                  f"Machine: {os.cpu_count()} CPUs; load average (1 min) at each size's start / end: "
                  + ", ".join(f"{r['n']}: {r['load'][0]:.1f} / {r['load'][1]:.1f}" for r in results) + "."),
    }
    base = next((r for r in results if r["n"] == min(x["n"] for x in results)), None)
    rate = TARGET_RATE if not tiny else cfg["rates"][0]
    summary_rows = []
    for res in results:
        at = _at(res, rate)
        base_at = _at(base, rate) if base else None
        ratio = at["cpu_ms_per_send"] / base_at["cpu_ms_per_send"] if at and base_at else float("nan")
        meets = bool(at and not at["errors"] and not at["lost"] and not at["duplicated"]
                     and pct(at["ack"], 99) <= 250 and pct(at["delivery"], 99) <= 500)
        target_row = res["n"] >= 500 and not tiny
        summary_rows.append([
            res["n"], f"{res['times']['open + watch']:.1f}",
            f"{pct(at['ack'], 99):.0f} / {pct(at['delivery'], 99):.0f}" if at else "-",
            f"{at['cpu_ms_per_send']:.1f}" if at else "-", f"{ratio:.2f}", _knee(res["ladder"]),
            f"{res['stop_s']:.1f} (exit {res['exit']})", res["log_errors"],
            ("ok" if meets and res["times"]["open + watch"] <= 60 and ratio <= 1.3 and res["stop_s"] <= 5
             and res["exit"] == 0 else "FAIL") if target_row else
            ("ok" if res["exit"] == 0 and res["stop_s"] <= 5 else "FAIL")])
    summary = {
        "title": f"Capacity: the targets at {rate:g} sends/s, the knee, and the stop",
        "columns": ["visitors", "open + watch s", f"ack / delivery p99 ms at {rate:g}/s",
                    "CPU ms per send", "CPU ratio to the smallest size", "knee (ack p99 > 250 ms)",
                    "SIGTERM to exit s (sockets open)", "stack log errors", "check"],
        "rows": summary_rows,
        "notes": ("Targets (issue 15) at 500 visitors: 0 lost / duplicated / errors at 20 sends/s, ack p99 <= 250 ms, "
                  "delivery p99 <= 500 ms, open + watch <= 60 s, CPU per send <= 1.3 x the 100-visitor figure at the "
                  "same rate, stop within 5 s of SIGTERM. Before this wave (issue 15's own table: one handler "
                  "at a time, moto's whole-table Query): knee 15-17.5/s at 100 visitors, 10-12.5/s at 250,"
                  " 5-7.5/s at 500; "
                  "CPU per send 52 / 83 / 143 ms; open + watch 12 / 63 / 272 s. Phase times (s): "
                  + "; ".join(f"{r['n']}: " + ", ".join(f"{k} {v:.1f}" for k, v in r["times"].items())
                              for r in results) + "."),
    }
    return [summary, ladder]


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
    for t in run("--quick" in sys.argv):
        print(json.dumps(t, indent=1, default=str))
