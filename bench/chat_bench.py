"""DynamoDB work of one ``message.send``: Switchboard beside aws-samples/simple-websockets-chat-app.

Switchboard: the real ``message.send`` handler (the function template.yaml routes the action
to) runs in-process on moto, in a world set up as the chat tests set it up
(tests/chat_support.py, tests/chat/test_dynamodb_calls.py): tenant and operators seeded, an
operator and a visitor signed in through the real HTTP handlers and connected through the
real authorizer and ``$connect``, the visitor's support channel opened, watchers added with
``channel.watch``. Every DynamoDB call the layer's client makes during one send is seen
through botocore event hooks (``before-call`` / ``after-call``): its operation, when it
started and ended, and how many items it returned (``Item``, ``Items``, ``Responses``).

* **sequential round trips**: the longest chain of calls in which each starts only after the
  previous one has answered (measured from the start/end times, so calls made in parallel
  would count once; a batch or transaction is one call).
* **DynamoDB calls**: every call, paginated Query pages included.
* **items read**: items returned to the handler.
* **posts**: PostToConnection calls (the sender's reply and one ``message.new`` per watcher).

simple-websockets-chat-app: its ``sendmessage`` handler does one ``Scan`` of the connections
table (``ProjectionExpression: 'connectionId'``) and posts the message to every item found.
That data access is replayed with boto3 on a moto table of the sample's shape (hash key
``connectionId``) holding the same number of connections: once with the sample's own items
(``{connectionId}`` only, what its ``onconnect`` writes) and once with items as large as
Switchboard's connection records (copied from the Switchboard table). The Scan follows
``LastEvaluatedKey`` as DynamoDB pages it (moto cuts pages at 1 MB of item data, as DynamoDB
does); the published handler reads the first page only, so the connections it would reach
are reported too. Posts are counted (one per item), not made.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_TABLE = "simplechat_connections"
FULL_PAGE = 1024 * 1024  # DynamoDB's Scan/Query page: 1 MB of item data read
SENDS = 3  # sends measured at each point (they must agree)
#: the columns of the two message.send tables after their first (what varies)
SEND_COLUMNS = ["Switchboard: sequential round trips", "of which before the reply", "DynamoDB calls", "items read",
                "posts", "sample (Scan all): sequential round trips", "DynamoDB calls", "items read", "posts", "check"]


# -- counting management API posts -------------------------------------------------------------
@dataclass
class PostLog:
    """PostToConnection calls of the management API client."""

    posts: int = 0
    first: float | None = None  # when the first post (the sender's reply) started
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _before(self, model: Any, **_: Any) -> None:
        if model.name == "PostToConnection":
            with self._lock:
                self.posts += 1
                if self.first is None:
                    self.first = time.perf_counter()

    @contextlib.contextmanager
    def counting(self, client: Any) -> Iterator[PostLog]:
        client.meta.events.register("before-call.apigatewaymanagementapi.*", self._before)
        try:
            yield self
        finally:
            client.meta.events.unregister("before-call.apigatewaymanagementapi.*", self._before)


# -- the world: moto, the template's resources, the test seed ------------------------------------
@contextlib.contextmanager
def world() -> Iterator[dict[str, Any]]:
    """What tests/conftest.py's ``aws`` + ``seeded`` fixtures make, outside pytest (environment restored)."""
    for p in (str(ROOT), str(ROOT / "layers" / "shared" / "python"), str(ROOT / "src")):
        if p not in sys.path:
            sys.path.insert(0, p)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    saved = dict(os.environ)
    from moto import mock_aws

    from switchboard_local.provision import provision, shared_environment
    from switchboard_local.seed import apply_seed
    from switchboard_local.template import Template
    from tests.conftest import SEED, _clear_caches

    template = Template(ROOT / "template.yaml")
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL") or k == "AWS_PROFILE"]:
        del os.environ[name]
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "POWERTOOLS_LOG_LEVEL": "WARNING", **shared_environment(template),
                       # the bench measures cost per watcher and per send: one visitor's 100 tabs stand
                       # for 100 people, and its sends run faster than any person's - the caps and the
                       # action limits still count (their writes are in the figures), they just never refuse
                       "MAX_CONNECTIONS_PER_USER": "1000",
                       "WS_RATE_LIMITS": ",".join(f"{kind}=100000/100000" for kind in
                                                  ("send", "typing", "read", "query", "presign", "manage"))})
    try:
        with mock_aws():
            _clear_caches()
            provision(template)
            from switchboard.runtime import services

            apply_seed(services().store, SEED)
            yield {"template": template, "svc": services()}
    finally:
        _clear_caches()
        os.environ.clear()
        os.environ.update(saved)


def _http_caller(template: Any) -> Any:
    """tests/conftest.py's ``call`` fixture: an HTTP route through its real handler."""
    from switchboard_local.lambda_runtime import LambdaContext, http_event, load_handler

    routes = {r.route_key: r.function_id for r in template.http_routes()}

    def call(route_key: str, *, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        method, path = route_key.split(" ", 1)
        fn = routes[route_key]
        result = load_handler(template, fn)(http_event(method, path, body=body, headers=headers or {}),
                                            LambdaContext(function_name=fn))
        return {"status": result["statusCode"], "json": json.loads(result["body"])}

    return call


class Room:
    """A visitor's support channel, assigned to operator Otto, with ``watchers`` connections watching it."""

    def __init__(self, w: dict[str, Any], watchers: int) -> None:
        from tests.chat_support import Chat, visitor_tokens
        from tests.conftest import OPERATOR

        self.svc = w["svc"]
        chat = Chat(w["template"])
        call = _http_caller(w["template"])
        r = call("POST /auth/internal", body={"tenant": "acme", "email": OPERATOR["email"],
                                             "password": OPERATOR["password"]})
        assert r["status"] == 200, r
        otto = chat.connect(r["json"])
        self.guest = chat.connect(visitor_tokens(call))
        self.channel = self.guest.ok("support.open")["channel"]
        assert self.channel["status"] == "open", self.channel
        self.watchers = [otto, self.guest] + [chat.connect(self.guest.tokens) for _ in range(watchers - 2)]
        for c in self.watchers:
            c.ok("channel.watch", channel_id=self.channel["id"])
        self.connection_ids = [c.id for c in self.watchers]

    def wall_ms(self, sends: int = 2) -> float:
        """Fastest of ``sends`` message.send calls, in milliseconds (moto time, not DynamoDB's)."""
        best = float("inf")
        for _ in range(sends):
            started = time.perf_counter()
            self.guest.ok("message.send", channel_id=self.channel["id"], text="hello", client_id=secrets.token_hex(8))
            best = min(best, time.perf_counter() - started)
        return best * 1000

    def measure(self) -> dict[str, Any]:
        """Counts of one message.send by the visitor (``SENDS`` of them, which must agree)."""
        from switchboard.edge import ws

        from tests.chat_support import CallLog

        notifier: Any = ws.chat_context(self.svc).notifier
        seen = []
        for _ in range(SENDS):
            calls, posts = CallLog(), PostLog()
            with calls.counting(self.svc.store.client), posts.counting(notifier.client):
                self.guest.ok("message.send", channel_id=self.channel["id"], text="hello",
                              client_id=secrets.token_hex(8))
            seen.append((calls.sequential(), len(calls.calls), calls.items_read, posts.posts,
                         calls.sequential(before=posts.first), tuple(calls.names())))
        first = seen[0]
        return {"sequential": first[0], "calls": first[1], "items": first[2], "posts": first[3],
                "before_reply": first[4], "order": " → ".join(first[5]), "agree": all(s[:5] == first[:5] for s in seen)}


# -- seeding unrelated connections ------------------------------------------------------------------
@contextlib.contextmanager
def _fast_writes() -> Iterator[Any]:
    """A seeding client without parameter validation, and moto without its per-attribute item-size
    check (quadratic in the attributes; these items are far below 400 KB) - as the test does."""
    import boto3
    from botocore.config import Config
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    checked = LimitedSizeDict.__setitem__
    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[method-assign]
    try:
        yield boto3.client("dynamodb", config=Config(parameter_validation=False))
    finally:
        LimitedSizeDict.__setitem__ = checked  # type: ignore[method-assign]


def _batch_put(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": {k: ser.serialize(v) for k, v in it.items() if v is not None}}}
                 for it in items[start:start + 25]]
        resp = client.batch_write_item(RequestItems={table: batch})
        assert not resp.get("UnprocessedItems")


def unrelated_connection_items(start: int, n: int) -> list[dict[str, Any]]:
    """``n`` other visitors' connections as ``$connect`` records them (``C#<cid>``/``CONN`` and the
    user's ``U#<tid>#<uid>``/``C#<cid>`` entry), a fifth of them watching another channel."""
    from tests.chat_support import new_connection_id

    expires = int(time.time()) + 7200
    items: list[dict[str, Any]] = []
    for i in range(start, start + n):
        cid, uid = new_connection_id(), f"anon-bench{i:06d}"
        items.append({"pk": f"C#{cid}", "sk": "CONN", "connection_id": cid, "tenant": "acme", "user_id": uid,
                      "session_id": f"s{i:06d}", "role": "visitor", "lvl": 0, "name": "Visitor",
                      "scopes": {"chat:read", "chat:write"}, "connected_at": expires - 7200,
                      "expires_at": expires, "ttl": expires})
        items.append({"pk": f"U#acme#{uid}", "sk": f"C#{cid}", "connection_id": cid, "session_id": f"s{i:06d}",
                      "ttl": expires})
        if i % 5 == 0:
            items.append({"pk": "CH#0000000000000-elsewhere", "sk": f"W#{cid}", "connection_id": cid,
                          "user_id": uid, "role": "visitor", "expires_at": expires, "ttl": expires})
            items.append({"pk": f"C#{cid}", "sk": "W#0000000000000-elsewhere",
                          "channel_id": "0000000000000-elsewhere", "ttl": expires})
    return items


# -- the sample's design ------------------------------------------------------------------------------
class Sample:
    """simple-websockets-chat-app's connections table and the data access of its sendmessage."""

    def __init__(self, name: str) -> None:
        import boto3

        self.name = name
        self.client = boto3.client("dynamodb")
        self.client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "connectionId", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}])
        self.sizes: list[int] = []

    def add(self, items: list[dict[str, Any]]) -> None:
        with _fast_writes() as seeder:
            _batch_put(seeder, self.name, items)
        self.sizes += [item_size(i) for i in items]

    def send(self) -> dict[str, Any]:
        """sendmessage: Scan(ProjectionExpression='connectionId'), following LastEvaluatedKey; one post per item."""
        from tests.chat_support import CallLog

        log = CallLog()
        first_page = None
        kwargs: dict[str, Any] = {}
        with log.counting(self.client):
            while True:
                page = self.client.scan(TableName=self.name, ProjectionExpression="connectionId", **kwargs)
                if first_page is None:
                    first_page = len(page["Items"])
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return {"sequential": log.sequential(), "calls": len(log.calls), "items": log.items_read,
                "posts": log.items_read, "first_page": first_page or 0,
                "pages_1mb": pages(self.sizes), "item_bytes": round(statistics.mean(self.sizes)) if self.sizes else 0}


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings: UTF-8 bytes; numbers: about one
    byte per two significant digits plus one; sets: their elements)."""
    def value(v: Any) -> int:
        if isinstance(v, bool):
            return 1
        if isinstance(v, int | float):
            digits = len(str(abs(v)).replace(".", "").strip("0")) or 1
            return math.ceil(digits / 2) + 1
        if isinstance(v, set | frozenset | list):
            return sum(value(x) for x in v) + (3 if isinstance(v, list) else 0)
        return len(str(v).encode())
    return sum(len(k.encode()) + value(v) for k, v in item.items() if v is not None)


def pages(sizes: list[int]) -> int:
    """Scan pages at DynamoDB's 1 MB of item data per page."""
    n, used = 1, 0
    for s in sizes:
        if used + s > FULL_PAGE:
            n, used = n + 1, 0
        used += s
    return n if sizes else 1


def _published(cid: str) -> dict[str, Any]:
    return {"connectionId": cid}


def _shaped(record: dict[str, Any]) -> dict[str, Any]:
    """A Switchboard connection record keyed as the sample keys its items."""
    out = {k: v for k, v in record.items() if k not in ("pk", "sk", "connection_id")}
    return {"connectionId": record["connection_id"], **out}


def _connection_record(svc: Any, cid: str) -> dict[str, Any]:
    from switchboard.store.dynamo import from_wire

    raw = svc.store.client.get_item(TableName=svc.store.table, Key={"pk": {"S": f"C#{cid}"}, "sk": {"S": "CONN"}})
    return dict(from_wire(raw["Item"]))


# -- the sections -----------------------------------------------------------------------------------
def watchers_table() -> dict[str, Any]:
    rows, orders = [], set()
    for n in (2, 30) if os.environ.get("BENCH_TINY") == "1" else (2, 10, 100):  # tiny: past the 25-connection cap
        with world() as w:
            room = Room(w, n)
            sb = room.measure()
            orders.add(sb["order"])
            sample = Sample(SAMPLE_TABLE)
            sample.add([_published(cid) for cid in room.connection_ids])
            sm = sample.send()
        rows.append([n, sb["sequential"], sb["before_reply"], sb["calls"], sb["items"], sb["posts"],
                     sm["sequential"], sm["calls"], sm["items"], sm["posts"]])
        if not sb["agree"]:
            rows[-1][1] = f"{rows[-1][1]} (sends differed)"
        base = rows[0]
        same_calls = rows[-1][3] == base[3] and rows[-1][1] == base[1]
        rows[-1].append("ok" if same_calls and rows[-1][4] - n == base[4] - base[0] and sb["agree"] else "FAIL")
    return {"title": "Chat: DynamoDB work per message.send as the channel's watchers grow",
            "columns": ["watching connections", *SEND_COLUMNS],
            "rows": rows,
            "notes": ("Check (contract section 5: the work grows with the channel's watchers only): the same calls "
                      "and round trips as with 2 watchers, and one item read more per extra watcher. "
                      "Switchboard: the real message.send handler on moto, counted with botocore hooks on the "
                      f"layer's client; call order seen: {' | '.join(sorted(orders))}; 'before the reply': the round "
                      "trips that ended before the sender's reply was posted (what the ack waits for); posts = the "
                      "sender's reply "
                      "+ one message.new per watcher (the sender's own connection included). Sample = "
                      "aws-samples/simple-websockets-chat-app's sendmessage (one Scan of its connections "
                      "table, a post per item) on a moto table holding the same connections. "
                      f"Each figure is one send; {SENDS} sends per point agreed unless marked.")}


def table_size_table(quick: bool) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    from switchboard_local.moto_speed import dynamodb_costs

    sizes = [0, 100] if os.environ.get("BENCH_TINY") == "1" else [0, 100, 1_000] + ([] if quick else [10_000])
    rows, sample_rows, wall_rows = [], [], []
    with world() as w:
        svc = w["svc"]
        room = Room(w, 2)
        published, shaped = Sample(SAMPLE_TABLE), Sample(SAMPLE_TABLE + "_sized")
        published.add([_published(cid) for cid in room.connection_ids])
        shaped.add([_shaped(_connection_record(svc, cid)) for cid in room.connection_ids])
        have = 0
        for n in sizes:
            if n > have:
                items = unrelated_connection_items(have, n - have)
                with _fast_writes() as seeder:
                    _batch_put(seeder, svc.store.table, items)
                conns = [i for i in items if i["sk"] == "CONN"]
                published.add([_published(i["connection_id"]) for i in conns])
                shaped.add([_shaped(i) for i in conns])
                have = n
            # moto snapshots the whole table per transaction item; DynamoDB does not (see chat_support)
            table_items = svc.store.client.describe_table(TableName=svc.store.table)["Table"]["ItemCount"]
            as_dev = room.wall_ms()
            with dynamodb_costs():
                sb = room.measure()
                patched = room.wall_ms()
            wall_rows.append([f"{n:,}", f"{table_items:,}", f"{as_dev:.0f}", f"{patched:.0f}"])
            p, s = published.send(), shaped.send()
            total = n + 2
            rows.append([f"{n:,}", sb["sequential"], sb["before_reply"], sb["calls"], sb["items"], sb["posts"],
                         p["sequential"], p["calls"], p["items"], p["posts"]])
            if not sb["agree"]:
                rows[-1][1] = f"{rows[-1][1]} (sends differed)"
            rows[-1].append("ok" if rows[-1][1:6] == rows[0][1:6] and sb["agree"] else "FAIL")
            sample_rows.append([f"{total:,}", p["item_bytes"], p["calls"], p["pages_1mb"], p["items"],
                                s["item_bytes"], s["calls"], s["pages_1mb"], s["items"],
                                f"{s['first_page']:,} of {total:,}"])
    size_note = "" if not quick else " (quick run: up to 1,000; the full run adds 10,000)"
    main = {"title": "Chat: DynamoDB work per message.send as unrelated connections fill the table (2 watchers)",
            "columns": ["unrelated connections", *SEND_COLUMNS],
            "rows": rows,
            "notes": ("Check (contract section 5: never grows with the table's size): Switchboard's figures equal "
                      "those with no unrelated connection. The channel has 2 watchers (operator, visitor); the "
                      "table also holds N other visitors' "
                      "connections as $connect writes them (connection record + user entry; a fifth watching "
                      "another channel), written in batches. Switchboard's figures are the real handler's, "
                      "counted as above (moto's per-item transaction rollback swapped for a per-item one, "
                      "switchboard_local/moto_speed.py dynamodb_costs: also queries read one partition, "
                      "as switchboard dev runs moto, so moto's "
                      "whole-table copies do not dominate). "
                      "Sample: its design on a table of the same N+2 connections as its own onconnect writes "
                      "them ({connectionId}); it must post to all of them, having no notion of channels"
                      f"{size_note}.")}
    sample = {"title": "Chat: simple-websockets-chat-app's Scan per message, by item size",
              "columns": ["connections", "sample items: bytes", "Scan calls (moto)", "pages at 1 MB (computed)",
                          "items read", "Switchboard-sized items: bytes", "Scan calls (moto)",
                          "pages at 1 MB (computed)", "items read",
                          "reached by the published handler (first page only), Switchboard-sized items"],
              "rows": sample_rows,
              "notes": ("The sample's sendmessage Scans its connections table once per message "
                        "(ProjectionExpression connectionId, which does not shrink what a page reads). Scan calls: "
                        "moto's pagination (pages cut at 1,000,000 bytes of item data); pages at 1 MB: computed "
                        "from DynamoDB's item-size rules and its 1,048,576-byte page. Items read per message = "
                        "every connection in the table. The published handler does not follow LastEvaluatedKey: "
                        "once the table passes one page, it silently skips the rest of the connections.")}
    wall = {"title": "Chat: wall time of one message.send on moto (the local stack's AWS), by table size",
            "columns": ["unrelated connections", "items in the table", "ms per send, plain moto",
                        "ms per send, moto as switchboard dev runs it (per-item rollback, partition queries)"],
            "rows": wall_rows,
            "notes": ("The same handler and the same 4 DynamoDB calls as above, timed in-process (fastest of 2). moto "
                      "deep-copies the whole table once per item of a TransactWriteItems (to roll back on "
                      "cancellation) and walks the whole table for a Query; DynamoDB does neither, so this is a cost "
                      "of moto only. The last column swaps moto's rollback for the per-item one "
                      "(switchboard_local/moto_speed.py), as switchboard dev does; "
                      f"what remains is moto's Query. Load average (1 min) after: {os.getloadavg()[0]:.1f} on "
                      f"{os.cpu_count()} CPUs.")}
    return main, sample, wall


# -- the WebSocket action limits (chat/limits.py) -------------------------------------------------------
@contextlib.contextmanager
def _unlimited() -> Iterator[None]:
    """The dispatch as it was before the action limits: the connection read alone."""
    from switchboard.edge import ws

    admitted = ws._admitted
    ws._admitted = lambda svc, event, action: ws._caller(svc, event)  # type: ignore[assignment]
    try:
        yield
    finally:
        ws._admitted = admitted  # type: ignore[assignment]


def _nap(**_: Any) -> None:
    time.sleep(0.005)


def _action_cost(room: Room, action: str) -> tuple[int, int, list[str]]:
    """(sequential round trips before the reply, DynamoDB calls, operations) of one action by the
    visitor. Every call first sleeps 5 ms inside the call (as auth_bench does): moto answers on
    the calling thread holding the GIL, so calls sent at once would otherwise look sequential."""
    from switchboard.edge import ws

    from tests.chat_support import CallLog

    notifier: Any = ws.chat_context(room.svc).notifier
    calls, posts = CallLog(), PostLog()
    with calls.counting(room.svc.store.client), posts.counting(notifier.client):
        room.svc.store.client.meta.events.register("before-call.dynamodb.*", _nap)
        try:
            params: dict[str, Any] = {"channel_id": room.channel["id"]}
            if action == "message.send":
                params.update(text="hello", client_id=secrets.token_hex(8))
            room.guest.ok(action, **params)
        finally:
            room.svc.store.client.meta.events.unregister("before-call.dynamodb.*", _nap)
    before = posts.first if action == "message.send" else None
    return calls.sequential(before=before), len(calls.calls), calls.names()


def limits_table() -> dict[str, Any]:
    """What the action limits cost message.send and typing: calls, round trips, write units."""
    from switchboard.store.dynamo import from_wire as _read

    rows = []
    with world() as w:
        room = Room(w, 2)
        for action in ("message.send", "typing"):
            with _unlimited():
                seq_before, calls_before, _ = _action_cost(room, action)
            seq_after, calls_after, names = _action_cost(room, action)
            svc = room.svc
            counters = svc.store.client.query(
                TableName=svc.store.table, KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": f"RL#ws#acme#{room.guest.user_id}"}})["Items"]
            size = max(item_size(dict(_read(i))) for i in counters)
            added = [n for n in names if n == "UpdateItem"]
            rows.append([action, calls_before, calls_after, seq_before, seq_after, len(added), size,
                         math.ceil(size / 1024), "ok" if seq_after == seq_before and len(added) == 1 else "FAIL"])
    return {"title": "Chat: what the action limits cost (per action)",
            "columns": ["action", "DynamoDB calls before", "after", "round trips before the reply, before", "after",
                        "writes added", "counter item: bytes", "write units added", "check"],
            "rows": rows,
            "notes": ("Before: the dispatch without the limits (ws._admitted swapped for the bare connection read); "
                      "after: as shipped. The one write added is Store.counters.hit_action: an UpdateItem ADD on the "
                      "user's window item (RL#ws#<tid>#<uid> / <kind>#<minute>, the connection's count an attribute "
                      "of it), sent with the connection read, keyed by the authorizer context of the event. Each "
                      "DynamoDB call sleeps 5 ms inside it so calls sent at once overlap as over a network; round "
                      "trips: the longest chain of calls each started after the previous ended (message.send: those "
                      "that ended before the reply was posted). Write units: DynamoDB charges an update by the larger "
                      "of the item's sizes before and after, rounded up to 1 KB; the item holds one attribute per "
                      "connection of the user active that minute (25 at most). Check: no round trip added, one write.")}


def run(quick: bool) -> list[dict[str, Any]]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    main, sample, wall = table_size_table(quick)
    return [watchers_table(), main, sample, wall, limits_table()]


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
    for t in run("--quick" in sys.argv):
        print(json.dumps(t, indent=1))
