"""A load run against the local stack: ``switchboard dev`` as a subprocess, real WebSockets.

Scenario (all traffic goes to 127.0.0.1; every wait is bounded by a timeout):

1. ``switchboard dev --seed`` starts on free ports (tests/conftest.py's DevStack) with one tenant
   and O operators.
2. A fifth of the visitors sign in (``POST /auth/external``), connect and ``support.open`` before
   any operator is online, so their channels are queued. Every visitor watches its channel.
3. The operators sign in (``POST /auth/internal``), connect and claim the queued channels. Each
   queued channel is claimed by two operators at once, and exactly one of them must win.
4. The other visitors arrive, and ``support.open`` assigns each one to the least-loaded online
   operator. Every fifth visitor opens a second tab (a second connection watching the channel).
5. Operators list their channels (``channel.query {"member": "me"}``, every page) and watch each.
6. Messages, in three phases. In each one a channel's messages alternate visitor / operator, and
   each ``message.send`` waits for its ack before that channel sends again:
   * *unloaded*: a few channels, one send in flight in the whole stack. This phase measures the
     service time S (send to the last delivery).
   * *paced*: channels send at a total rate of 30 % of 1/S (queueing stays small).
   * *burst*: every channel sends with no think time (the stack saturates, which gives its capacity).
7. Every acknowledged message must reach every *other* connection watching its channel exactly
   once as ``message.new`` (matched by ``client_id``). The counts are delivered / lost /
   duplicated. Latency is the client's send time to the receive time (same process, monotonic
   clock). The sender's own connection watches too, and the copy it gets is counted apart as "echo".
8. Each channel's history is read back: every acked ``client_id`` must be stored exactly once.
9. The clients close, then the stack gets SIGTERM. Its exit code and log errors are reported.

Sign-ins are rate limited per client IP (the template's ``RateLimitIp``, 60 a minute). A real
site's visitors come from many addresses, so the bench's HTTP clients bind distinct loopback
source addresses (127.0.1.x for visitors, at most 25 each, and 127.0.2.x for operators). They
still connect to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TENANT = "loadco"
ORIGIN = "https://shop.loadco.test"
VISITORS_PER_IP = 25

#: visitors, operators, every n-th visitor with a second tab; channels in the unloaded phase, the paced
#: phase's length (its channels follow from its rate), channels in the burst phase
QUICK = {"visitors": 40, "operators": 5, "tabs_every": 5, "unloaded_channels": 6, "paced_seconds": 20,
         "burst_channels": 20}
FULL = {"visitors": 100, "operators": 10, "tabs_every": 5, "unloaded_channels": 8, "paced_seconds": 40,
        "burst_channels": 30}
TINY = {"visitors": 10, "operators": 2, "tabs_every": 5, "unloaded_channels": 2, "paced_seconds": 2,
        "burst_channels": 4}  # bench/run.py --tiny: the suite's check that this section runs
MESSAGES_PER_PHASE = 2  # per channel: one from the visitor, one from the operator
UTILISATION = 0.3  # the paced phase's offered load, as a fraction of 1 / service time

REQUEST_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
_rids = itertools.count(1)


@dataclass
class Client:
    """One WebSocket connection. Replies are matched by rid; message.new events are recorded with their receipt time."""

    key: str
    role: str
    user_id: str
    ws: Any
    sink: dict[str, list[tuple[str, float, str]]]  # client_id -> [(receiving connection, time, message id)]
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    other_events: Counter[str] = field(default_factory=Counter)
    reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        import websockets

        try:
            async for raw in self.ws:
                now = time.monotonic()
                frame = json.loads(raw)
                if frame.get("type") == "reply":
                    fut = self.pending.pop(str(frame.get("rid")), None)
                    if fut is not None and not fut.done():
                        fut.set_result(frame)
                elif frame.get("type") == "event" and frame.get("event") == "message.new":
                    m = frame["data"]["message"]
                    self.sink[m["client_id"]].append((self.key, now, m["id"]))
                else:
                    self.other_events[str(frame.get("event") or frame.get("message") or "?")] += 1
        except websockets.ConnectionClosed:
            pass
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("connection closed"))

    async def request(self, action: str, timeout: float = REQUEST_TIMEOUT, **params: Any) -> dict[str, Any]:
        rid = f"r{next(_rids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        await self.ws.send(json.dumps({"action": action, "rid": rid, **params}))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.pending.pop(rid, None)

    async def ok(self, action: str, **params: Any) -> dict[str, Any]:
        reply = await self.request(action, **params)
        if not reply.get("ok"):
            raise RuntimeError(f"{action}: {reply.get('error')}")
        return dict(reply["data"])


@dataclass
class Stats:
    errors: Counter[str] = field(default_factory=Counter)
    claims: Counter[str] = field(default_factory=Counter)
    sends: list[dict[str, Any]] = field(default_factory=list)
    phase_s: dict[str, float] = field(default_factory=dict)
    pace: dict[str, float] = field(default_factory=dict)


class Pacer:
    """Start slots at a fixed total rate (an open-loop schedule shared by every channel)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next: float | None = None

    async def slot(self) -> None:
        now = time.monotonic()
        if self.next is None or self.next < now:
            self.next = now
        wait, self.next = self.next - now, self.next + self.interval
        await asyncio.sleep(wait)


def pct(values: list[float], q: float) -> float:
    """The nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s) / 100) - 1))]


async def _http(session: Any, base: str, path: str, body: dict[str, Any], origin: str | None = None) -> Any:
    headers = {"origin": origin} if origin else {}
    async with session.post(base + path, json=body, headers=headers) as r:
        data = await r.json(content_type=None)
        if r.status != 200:
            raise RuntimeError(f"{path}: {r.status} {str(data)[:120]}")
        return data


async def _connect(stack: Any, token: str, key: str, role: str, user_id: str,
                   sink: dict[str, list[tuple[str, float, str]]]) -> Client:
    import websockets

    ws = await websockets.connect(f"{stack.ws}/?token={token}", origin=ORIGIN,  # type: ignore[arg-type]
                                  open_timeout=REQUEST_TIMEOUT, close_timeout=2, ping_interval=None, max_size=None)
    client = Client(key, role, user_id, ws, sink)
    client.start()
    return client


async def _bounded(limit: int, coros: list[Any], stats: Stats, what: str) -> list[Any]:
    """Run the coroutines with at most ``limit`` at once. Failures are counted, not raised."""
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            try:
                return await asyncio.wait_for(c, REQUEST_TIMEOUT * 2)
            except Exception as exc:
                stats.errors[f"{what}: {type(exc).__name__}: {str(exc)[:100]}"] += 1
                return None

    return await asyncio.gather(*(one(c) for c in coros))


def _outstanding(stats: Stats, sink: dict[str, list[tuple[str, float, str]]]) -> int:
    return sum(1 for s in stats.sends if s["ok"]
               for w in s["expect"] if w not in {r[0] for r in sink.get(s["client_id"], ())})


async def _drain(stats: Stats, sink: dict[str, list[tuple[str, float, str]]], timeout: float = 20.0,
                 settle: float = 0.5) -> None:
    """Wait, bounded by ``timeout``, for the deliveries still on their way; then ``settle`` longer (late duplicates)."""
    deadline = time.monotonic() + timeout
    while _outstanding(stats, sink) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(settle)


async def scenario(stack: Any, cfg: dict[str, Any], stats: Stats, rng: random.Random) -> dict[str, Any]:
    import aiohttp

    sink: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    clients: list[Client] = []
    n_vis, n_ops = cfg["visitors"], cfg["operators"]
    queued_first = max(1, n_vis // 5)
    channels: dict[str, dict[str, Any]] = {}  # channel id -> {"visitor", "tabs", "operator", "status"}
    sessions: dict[str, aiohttp.ClientSession] = {}

    def http_from(source: str) -> aiohttp.ClientSession:
        if source not in sessions:
            sessions[source] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=(source, 0), limit=8),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))
        return sessions[source]

    async def visitor(i: int) -> None:
        source = f"127.0.1.{1 + i // VISITORS_PER_IP}"
        tokens = await _http(http_from(source), stack.http, "/auth/external", {"tenant": TENANT}, ORIGIN)
        uid = tokens["user"]["id"]
        c = await _connect(stack, tokens["chat_token"], f"v{i}", "visitor", uid, sink)
        clients.append(c)
        ch = (await c.ok("support.open", subject=f"load {i}"))["channel"]
        await c.ok("channel.watch", channel_id=ch["id"])
        entry = channels.setdefault(ch["id"], {"visitor": c, "tabs": [], "operator": None, "status": ch["status"]})
        if cfg["tabs_every"] and i % cfg["tabs_every"] == cfg["tabs_every"] - 1:
            tab = await _connect(stack, tokens["chat_token"], f"v{i}t", "visitor", uid, sink)
            clients.append(tab)
            await tab.ok("channel.watch", channel_id=ch["id"])
            entry["tabs"].append(tab)

    operators: list[Client] = []

    async def operator(j: int) -> None:
        tokens = await _http(http_from(f"127.0.2.{1 + j}"), stack.http, "/auth/internal",
                             {"tenant": TENANT, "email": f"op{j}@loadco.test", "password": f"op{j}-load-password"})
        c = await _connect(stack, tokens["chat_token"], f"o{j}", "operator", tokens["user"]["id"], sink)
        clients.append(c)
        operators.append(c)

    async def pages(c: Client, flt: dict[str, str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        for _ in range(100):
            page = await c.ok("channel.query", filter=flt, limit=100, **({"cursor": cursor} if cursor else {}))
            out += page["channels"]
            cursor = page["cursor"]
            if not cursor:
                break
        return out

    async def claim(op: Client, channel_id: str) -> None:
        reply = await op.request("channel.assign", channel_id=channel_id)
        stats.claims["won" if reply.get("ok") else reply["error"]["code"]] += 1

    async def watch_all(op: Client) -> None:
        for ch in await pages(op, {"member": "me"}):
            if ch["id"] in channels and ch.get("assignee") == op.user_id and ch["status"] == "open":
                await op.ok("channel.watch", channel_id=ch["id"])
                channels[ch["id"]]["operator"] = op

    try:
        t = time.monotonic()
        await _bounded(16, [visitor(i) for i in range(queued_first)], stats, "visitor (before operators)")
        stats.phase_s["visitors before operators"] = time.monotonic() - t
        queued_status = Counter(c["status"] for c in channels.values())

        t = time.monotonic()
        await _bounded(8, [operator(j) for j in range(n_ops)], stats, "operator")
        stats.phase_s["operators sign in"] = time.monotonic() - t
        if not operators:
            raise RuntimeError(f"no operator could sign in: {dict(stats.errors)}")

        t = time.monotonic()
        queue = [c["id"] for c in await pages(operators[0], {"status": "queued"})]
        races = []
        for k, cid in enumerate(queue):  # two operators race for each queued channel
            a, b = operators[k % len(operators)], operators[(k + 1) % len(operators)]
            races += [claim(a, cid), claim(b, cid)]
        await _bounded(16, races, stats, "claim")
        stats.phase_s["claims"] = time.monotonic() - t

        t = time.monotonic()
        await _bounded(16, [visitor(i) for i in range(queued_first, n_vis)], stats, "visitor")
        stats.phase_s["visitors with operators online"] = time.monotonic() - t

        t = time.monotonic()
        await _bounded(len(operators), [watch_all(op) for op in operators], stats, "operator watch")
        stats.phase_s["operators watch"] = time.monotonic() - t
    finally:
        for s in sessions.values():
            await s.close()

    # -- messages --------------------------------------------------------------------------------
    ready = {cid: ch for cid, ch in channels.items() if ch["operator"] is not None}
    if len(channels) > len(ready):
        stats.errors["channel without a watching assignee"] = len(channels) - len(ready)

    async def send(phase: str, cid: str, ch: dict[str, Any], k: int) -> dict[str, Any]:
        watchers = [ch["visitor"], *ch["tabs"], ch["operator"]]
        sender = ch["visitor"] if k % 2 == 0 else ch["operator"]
        client_id = f"{uuid.uuid4().hex[:16]}-{k}"
        rec: dict[str, Any] = {"phase": phase, "client_id": client_id, "channel": cid, "sender": sender.key,
                               "expect": [w.key for w in watchers if w is not sender], "ack": None, "ok": False,
                               "error": None, "sent": time.monotonic()}
        stats.sends.append(rec)
        try:
            reply = await sender.request("message.send", channel_id=cid, text=f"{phase} {k} in {cid}",
                                         client_id=client_id)
            rec["ack"] = time.monotonic()
            rec["ok"] = bool(reply.get("ok"))
            if rec["ok"]:
                rec["id"] = reply["data"]["message"]["id"]
            else:
                rec["error"] = reply["error"]["code"]
        except Exception as exc:
            rec["error"] = type(exc).__name__
        return rec

    chosen = list(ready.items())
    rng.shuffle(chosen)

    # unloaded: one send in flight in the whole stack, each waiting for its deliveries
    t = time.monotonic()
    service: list[float] = []
    for cid, ch in chosen[:cfg["unloaded_channels"]]:
        for k in range(MESSAGES_PER_PHASE):
            rec = await send("unloaded", cid, ch, k)
            await _drain(stats, sink, timeout=10, settle=0.05)
            got = [r[1] for r in sink.get(rec["client_id"], ()) if r[0] in rec["expect"]]
            if rec["ok"] and got:
                service.append(max(got) - rec["sent"])
    stats.phase_s["unloaded"] = time.monotonic() - t
    s_median = sorted(service)[len(service) // 2] if service else 0.5
    rate = min(20.0, max(0.2, UTILISATION / s_median))
    stats.pace.update(service_ms=s_median * 1000, rate=rate)

    # paced: a fixed total rate across channels
    pacer = Pacer(rate)

    async def paced(cid: str, ch: dict[str, Any]) -> None:
        for k in range(MESSAGES_PER_PHASE, 2 * MESSAGES_PER_PHASE):
            await pacer.slot()
            await send("paced", cid, ch, k)

    t = time.monotonic()
    stats.pace["channels"] = n_paced = max(3, min(len(chosen), round(rate * cfg["paced_seconds"] / MESSAGES_PER_PHASE)))
    await asyncio.gather(*(paced(cid, ch) for cid, ch in chosen[:n_paced]))
    await _drain(stats, sink)
    stats.phase_s["paced"] = time.monotonic() - t

    # burst: every channel at once, no think time
    async def burst(cid: str, ch: dict[str, Any]) -> None:
        for k in range(2 * MESSAGES_PER_PHASE, 3 * MESSAGES_PER_PHASE):
            await send("burst", cid, ch, k)

    t = time.monotonic()
    await asyncio.gather(*(burst(cid, ch) for cid, ch in chosen[:cfg["burst_channels"]]))
    stats.phase_s["burst (to the last ack)"] = time.monotonic() - t
    t = time.monotonic()
    await _drain(stats, sink, timeout=30)
    stats.phase_s["drain"] = time.monotonic() - t

    # durability: each channel's history, read back by its visitor
    t = time.monotonic()
    stored: Counter[str] = Counter()

    async def history(ch: dict[str, Any], cid: str) -> None:
        page = await ch["visitor"].ok("channel.history", channel_id=cid, limit=100)
        stored.update(m["client_id"] for m in page["messages"])

    await _bounded(16, [history(ch, cid) for cid, ch in ready.items()], stats, "history")
    stats.phase_s["history"] = time.monotonic() - t

    t = time.monotonic()
    await _bounded(32, [c.ws.close() for c in clients], stats, "close")
    await asyncio.gather(*(asyncio.wait_for(c.reader, 5) for c in clients if c.reader), return_exceptions=True)
    # let the stack finish the $disconnect invocations the closes queued: a GET of the key set goes
    # through the same one-at-a-time invoker, so it answers quickly only once the backlog is gone
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as probe:
        deadline, quick_answers = time.monotonic() + 30, 0
        while quick_answers < 2 and time.monotonic() < deadline:
            asked = time.monotonic()
            async with probe.get(f"{stack.http}/.well-known/jwks.json") as resp:
                await resp.read()
            quick_answers = quick_answers + 1 if time.monotonic() - asked < 0.1 else 0
            await asyncio.sleep(0.1)
    stats.phase_s["clients close ($disconnects done)"] = time.monotonic() - t
    other_events: Counter[str] = Counter()
    for c in clients:
        other_events.update(c.other_events)
    return {"sink": sink, "channels": channels, "ready": ready, "clients": clients, "stored": stored,
            "queued_status": queued_status, "queue_seen": len(queue), "other_events": other_events}


def _seed(n_ops: int) -> dict[str, Any]:
    return {"tenants": [{"id": TENANT, "name": "Load Co", "identity_secret": "loadco-identity-secret-0123456789",
                         "hook_secret": "loadco-hook-secret-0123456789ab", "allowed_origins": [ORIGIN],
                         "operators": [{"email": f"op{j}@loadco.test", "password": f"op{j}-load-password",
                                        "role": "operator", "name": f"Op {j}"} for j in range(n_ops)]}]}


def run(quick: bool) -> list[dict[str, Any]]:
    for p in (str(ROOT), str(ROOT / "src")):
        if p not in sys.path:
            sys.path.insert(0, p)
    from tests.conftest import DevStack

    cfg: dict[str, Any] = dict(TINY if os.environ.get("BENCH_TINY") == "1" else QUICK if quick else FULL)
    for key in ("visitors", "operators"):  # for sizing runs by hand: LOAD_VISITORS=..., LOAD_OPERATORS=...
        if os.environ.get(f"LOAD_{key.upper()}"):
            cfg[key] = int(os.environ[f"LOAD_{key.upper()}"])
    cfg["mode"] = "quick" if quick else "full"
    stats = Stats()
    stats.pace["load_start"] = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        seed_file = Path(tmp) / "seed.json"
        seed_file.write_text(json.dumps(_seed(cfg["operators"])))
        started = time.monotonic()
        stack = DevStack(["--seed", str(seed_file)], ready_timeout=120)
        stats.phase_s["stack start"] = time.monotonic() - started
        try:
            result = asyncio.run(asyncio.wait_for(scenario(stack, cfg, stats, random.Random(7)), 900))
        finally:
            t = time.monotonic()
            try:
                exit_code: int | str = stack.stop(timeout=STOP_TIMEOUT)
            except Exception:
                stack.proc.kill()
                stack.proc.wait(10)
                exit_code = f"killed after {STOP_TIMEOUT:.0f} s"
            stats.phase_s["stack stop"] = time.monotonic() - t
            if os.environ.get("LOAD_STACK_LOG"):  # for diagnosis by hand
                Path(os.environ["LOAD_STACK_LOG"]).write_text(stack.output)
    stats.pace["load_end"] = os.getloadavg()[0]
    return _tables(cfg, stats, result, stack, exit_code)


def _log_problems(lines: list[str]) -> tuple[Counter[str], int]:
    """Error lines of the stack's log (Powertools JSON or plain), summarised; and the warning count."""
    errors: Counter[str] = Counter()
    warnings = 0
    for ln in lines:
        try:
            rec = json.loads(ln)
        except ValueError:
            rec = None
        if isinstance(rec, dict):
            level = str(rec.get("level", "")).upper()
            if level in ("ERROR", "CRITICAL"):
                exc = str(rec.get("exception", "")).strip().splitlines()
                errors[f"{rec.get('function_name', '?')}: {rec.get('message')}"
                       + (f" ({exc[-1][:160]})" if exc else "")] += 1
            elif level.startswith("WARN"):
                warnings += 1
        elif "Traceback" in ln or " ERROR " in ln or ln.startswith("ERROR"):
            errors[ln[:200]] += 1
        elif "WARNING" in ln:
            warnings += 1
    return errors, warnings


def _phase_row(name: str, sends: list[dict[str, Any]], sink: dict[str, list[tuple[str, float, str]]],
               seconds: float | None) -> tuple[list[Any], dict[str, int]]:
    acked = [s for s in sends if s["ok"]]
    delivered = lost = duplicated = echo = echo_dup = 0
    latencies: list[float] = []
    for s in acked:
        got = Counter(k for k, _, _ in sink.get(s["client_id"], ()))
        for w in s["expect"]:
            n = got.get(w, 0)
            lost += n == 0
            delivered += n > 0
            duplicated += max(0, n - 1)
        echo += bool(got.get(s["sender"]))
        echo_dup += max(0, got.get(s["sender"], 0) - 1)
        latencies += [(t - s["sent"]) * 1000 for k, t, _ in sink.get(s["client_id"], ()) if k in s["expect"]]
    ack_ms = [(s["ack"] - s["sent"]) * 1000 for s in acked]
    errors = Counter(s["error"] for s in sends if not s["ok"])
    row = [name, len(sends), len(acked), ", ".join(f"{k}: {v}" for k, v in errors.items()) or 0,
           f"{len(acked) / seconds:.1f}" if seconds else "-",
           sum(len(s["expect"]) for s in acked), delivered, lost, duplicated,
           f"{pct(latencies, 50):.0f}", f"{pct(latencies, 99):.0f}", f"{max(latencies, default=float('nan')):.0f}",
           f"{pct(ack_ms, 50):.0f}", f"{pct(ack_ms, 99):.0f}",
           f"{echo}/{len(acked)}" + (f" (+{echo_dup} dup)" if echo_dup else ""),
           "ok" if sends and not errors and not lost and not duplicated else "FAIL"]
    return row, {"lost": lost, "duplicated": duplicated}


def _tables(cfg: dict[str, Any], stats: Stats, r: dict[str, Any], stack: Any, exit_code: Any) -> list[dict[str, Any]]:
    sink, ready, channels = r["sink"], r["ready"], r["channels"]
    acked = [s for s in stats.sends if s["ok"]]
    stored_once = sum(1 for s in acked if r["stored"].get(s["client_id"]) == 1)
    stored_twice = sum(1 for s in acked if r["stored"].get(s["client_id"], 0) > 1)
    not_stored = sum(1 for s in acked if not r["stored"].get(s["client_id"]))
    unacked_delivered = sum(1 for s in stats.sends if not s["ok"] and sink.get(s["client_id"]))
    two_ids = sum(1 for s in acked if {mid for _, _, mid in sink.get(s["client_id"], ())} - {s["id"]})
    log_errors, log_warnings = _log_problems(stack.lines)
    tabs = sum(len(c["tabs"]) for c in channels.values())
    other_claims = sum(v for k, v in stats.claims.items() if k not in ("won", "not_found", "conflict"))

    setup = {
        "title": "Load: the local stack under many WebSocket clients (setup)",
        "columns": ["clients (connections)", "visitors / second tabs / operators", "channels",
                    "queued before operators", "claim races: won / lost (not_found) / lost (conflict) / other",
                    "channels with a watching assignee", "messages sent", "acked, stored once",
                    "acked, not stored / stored twice", "stack exit", "check"],
        "rows": [[len(r["clients"]), f"{cfg['visitors']} / {tabs} / {cfg['operators']}", len(channels),
                  r["queued_status"].get("queued", 0),
                  f"{stats.claims.get('won', 0)} / {stats.claims.get('not_found', 0)} / "
                  f"{stats.claims.get('conflict', 0)} / {other_claims}",
                  len(ready), len(stats.sends), f"{stored_once} of {len(acked)}", f"{not_stored} / {stored_twice}",
                  exit_code, "ok" if (not stats.errors and len(ready) == len(channels) == cfg["visitors"]
                                      and stats.claims.get("won", 0) == r["queue_seen"] and not other_claims
                                      and stored_once == len(acked) and exit_code == 0) else "FAIL"]],
        "notes": (f"{cfg['mode'].capitalize()} run on `switchboard dev` (one process: handlers run one at a time, "
                  "AWS is moto in-process). Phase times (s): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in stats.phase_s.items())
                  + f". Machine load average (1 min) at start / end: {stats.pace.get('load_start', 0):.1f} / "
                  f"{stats.pace.get('load_end', 0):.1f} on {os.cpu_count()} CPUs"
                  + ". Check: no setup failure, every visitor's channel has a watching assignee, each queued "
                  "channel won by exactly one operator, every acked message stored once, the stack exits 0"
                  + f". Setup failures: {dict(stats.errors) or 'none'}. Stack log: {sum(log_errors.values())} "
                  f"error lines{' ' + str(dict(log_errors.most_common(3))) if log_errors else ''}, "
                  f"{log_warnings} warnings. A claim race that is lost answers not_found, not conflict: "
                  "once claimed, the channel is another operator's, which policy hides from this one. Other "
                  f"events seen by clients: {dict(r['other_events'])}.")}
    rows = []
    for phase, seconds_key in (("unloaded", None), ("paced", "paced"), ("burst", "burst (to the last ack)")):
        row, _ = _phase_row(phase, [s for s in stats.sends if s["phase"] == phase], sink,
                            stats.phase_s.get(seconds_key) if seconds_key else None)
        rows.append(row)
    delivery = {
        "title": "Load: message.new delivery to the other watchers of the channel",
        "columns": ["phase", "sends", "acked", "send errors", "acked/s", "expected deliveries", "delivered", "lost",
                    "duplicated", "latency p50 ms", "p99 ms", "max ms", "ack p50 ms", "ack p99 ms",
                    "echo to the sender's connection", "check"],
        "rows": rows,
        "notes": ("Check: no send error, nothing lost, nothing duplicated. "
                  "Each acked message.send must give exactly one message.new (matched by client_id) to every other "
                  "connection watching the channel: the visitor's tabs and the assigned operator. Latency runs from "
                  "the client's send time to the receive time on one monotonic clock (same process). Unloaded: "
                  f"{cfg['unloaded_channels']} channels, one send at a time, giving a service time (send to last "
                  f"delivery) of {stats.pace.get('service_ms', 0):.0f} ms median. Paced: "
                  f"{stats.pace.get('channels', 0):.0f} channels at {stats.pace.get('rate', 0):.2f} sends/s in "
                  f"total ({UTILISATION:.0%} of 1/service time). Burst: {min(cfg['burst_channels'], len(ready))} "
                  "channels at once, each "
                  "waiting only for its own acks; acked/s is the stack's capacity at this size. "
                  f"{MESSAGES_PER_PHASE} messages per channel per phase (visitor, then operator). Echo: the sender's "
                  "own connection watches too and gets a copy, because the contract says every watcher. "
                  f"Unacked sends delivered anyway: {unacked_delivered}. client_ids seen under two message ids: "
                  f"{two_ids}.")}
    return [setup, delivery]


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
    for t in run("--quick" in sys.argv):
        print(json.dumps(t, indent=1))
