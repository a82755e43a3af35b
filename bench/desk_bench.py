"""The support day's scheduled work (issue 17), counted: one run of the support sweep and one run
of the follow-up mailer against N channels of which D are due - the cost must follow D, not N -
and ``message.send``'s DynamoDB calls in a plain conversation beside one holding the visitor's
context, pre-chat answers and signed attributes (which must add none).

The world is chat_bench's (moto, the template's resources, the test seed). The functions run
through their real handlers (``SupportSweepFunction`` on the scheduled event EventBridge sends,
``FollowupMailFunction`` with its clock moved forward, as tests/chat/test_followup_mail.py
runs it); every DynamoDB call of the layer's client is recorded with botocore's hooks
(``CallLog`` of tests/chat_support.py, as the chat section records message.send), and the
management API's ``PostToConnection`` calls are counted (``chat_bench.PostLog``). moto's
``ConsumedCapacity`` is not used: it is a constant.

* **The D due channels** are made through the real handlers: a visitor signs in (``POST
  /auth/external``), connects (authorizer, ``$connect``) and sends ``support.open`` while the
  one operator, Otto, is connected but away (so they queue: due for the sweep once N minutes
  pass); for the mailer, Otto is online, the visitor leaves an email and disconnects, and Otto
  replies with ``message.send`` (which marks the follow-up due 2 minutes later).
* **The N - D other channels** are written in batches (25 items a call) with the item builders
  the store's own create transaction uses (``store.codecs.channel_item`` / ``membership_item``),
  as chat_bench writes its unrelated connections: 80 % closed, 10 % open and answered (off the
  sweep's list, as the assignee's reply takes them off), 10 % still waiting but since after the
  run's cut-off (on the list, not due). For the mailer, one in ten of them also has a follow-up
  that is due only in an hour (``store.followups.schedule``, the method ``message.send`` calls).
  The due channels of a point are closed after it is measured and count among the next point's
  others, so every point has exactly N channels.
* **Sweep, nobody available**: Otto away - each due chat stays queued and its wait starts
  again (the run repeats nothing for N minutes). **Sweep, an operator available**: Otto online -
  each due chat is assigned to him (the assignment's transaction and ``channel.updated``).
  Both runs are at a scheduled time past every due chat's wait (``ReassignAfterSeconds`` + 1
  minute, then twice that): the run's clock, not a sleep.
* **Mailer**: run at 125 s from now (the template's 120 s ``FollowupDelaySeconds`` passed);
  ``mailed`` is what it sent through SES (moto's, the local outbox's).

Check column: the sweep reads the due list with one Query and never a Scan, its calls are
``fixed + per_due x D`` with the same ``fixed`` and ``per_due`` at every N (taken from the
first N's points), and likewise the mailer's; a row that breaks it says FAIL.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from chat_bench import PostLog, _batch_put, _fast_writes, world  # noqa: E402

#: seconds past which a waiting chat is due (the template's ReassignAfterSeconds default)
REASSIGN_SECONDS = 300


def _sizes(quick: bool) -> tuple[list[int], list[int]]:
    """(N channels, D due) points: every D at every N."""
    if os.environ.get("BENCH_TINY") == "1":
        return [20, 60], [0, 2, 5]
    return ([200, 1_000] if quick else [200, 2_000, 20_000]), [0, 10, 100]


# -- the other channels ---------------------------------------------------------------------------
class Others:
    """Writes the N - D channels that are not due, in batches, and counts them."""

    def __init__(self, svc: Any, *, followups: bool) -> None:
        self.svc, self.followups, self.count = svc, followups, 0

    def top_up(self, to: int) -> None:
        from switchboard.ids import time_ordered_id
        from switchboard.models import Channel
        from switchboard.store import codecs, keys

        now = int(time.time() * 1000)
        future = now + 10 * 86400 * 1000  # a wait that began after any run's cut-off
        items, pending = [], []
        for i in range(self.count, to):
            kind = i % 10
            visitor, created = f"anon-other{i:06d}", (future if kind == 9 else now - 3_600_000)
            ch = Channel(id=time_ordered_id(created), tenant="acme", type="support",
                         status="closed" if kind < 8 else ("open" if kind == 8 else "queued"), subject=None,
                         members=(visitor, "op-otherop") if kind < 9 else (visitor,),
                         assignee="op-otherop" if kind < 9 else None, visitor=visitor, created_at=created,
                         last_message_at=created, closed_at=created + 60_000 if kind < 8 else None)
            item = {k: v for k, v in codecs.channel_item(ch).items() if v is not None}
            if kind == 8:  # answered: the assignee's reply took it off the sweep's list
                item.pop(keys.GSI1_PK, None)
                item.pop(keys.GSI1_SK, None)
            items.append(item)
            items += [codecs.membership_item(ch, m) for m in ch.members]
            if self.followups and kind == 1:
                pending.append(ch)
        with _fast_writes() as seeder:
            _batch_put(seeder, self.svc.store.table, items)
        for ch in pending:  # a reply's follow-up, due in an hour: on the mailer's index, not due
            self.svc.store.followups.schedule(ch, reply_ms=now, due_ms=now + 3_600_000, ttl=now // 1000 + 86400)
        self.count = max(self.count, to)


# -- the due channels, through the real handlers ----------------------------------------------------
def _http_caller(template: Any) -> Any:
    """chat_bench's HTTP caller, each call from the next client address (as auth_bench signs in):
    a few hundred visitors sign in here, and the sign-in's per-address limit would refuse them."""
    import json
    from itertools import count

    from switchboard_local.lambda_runtime import LambdaContext, http_event, load_handler

    routes = {r.route_key: r.function_id for r in template.http_routes()}
    addresses = count()

    def call(route_key: str, *, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        method, path = route_key.split(" ", 1)
        fn, i = routes[route_key], next(addresses)
        event = http_event(method, path, body=body, headers=headers or {}, source_ip=f"198.18.{i // 250}.{i % 250 + 1}")
        result = load_handler(template, fn)(event, LambdaContext(function_name=fn))
        return {"status": result["statusCode"], "json": json.loads(result["body"])}

    return call


class Desk:
    """Otto connected; visitors opening support through the real handlers."""

    def __init__(self, w: dict[str, Any]) -> None:
        from tests.chat_support import Chat
        from tests.conftest import OPERATOR

        self.svc, self.template = w["svc"], w["template"]
        self.chat, self.call = Chat(w["template"]), _http_caller(w["template"])
        r = self.call("POST /auth/internal", body={"tenant": "acme", "email": OPERATOR["email"],
                                                  "password": OPERATOR["password"]})
        assert r["status"] == 200, r
        self.otto = self.chat.connect(r["json"])

    def presence(self, status: str) -> None:
        assert self.otto.ok("presence.set", status=status) == {"status": status}

    def visitor(self, user: dict[str, Any] | None = None) -> Any:
        from tests.chat_support import visitor_tokens

        return self.chat.connect(visitor_tokens(self.call, user=user))

    def queued(self, d: int) -> list[dict[str, Any]]:
        """``d`` new support chats nobody can take (Otto is away): they queue."""
        self.presence("away")
        out = []
        for _ in range(d):
            ch = self.visitor().ok("support.open")["channel"]
            assert ch["status"] == "queued", ch
            out.append(ch)
        return out

    def replied_to_while_away(self, d: int) -> list[dict[str, Any]]:
        """``d`` conversations whose visitor left an email and the page, then got Otto's reply."""
        self.presence("online")
        out = []
        for i in range(d):
            guest = self.visitor()
            ch = guest.ok("support.open", email=f"v{i}-{secrets.token_hex(3)}@example.test")["channel"]
            assert ch["assignee"] == self.otto.user_id, ch
            guest.disconnect()
            self.otto.ok("message.send", channel_id=ch["id"], text="We found your parcel.",
                         client_id=secrets.token_hex(8))
            out.append(ch)
        return out

    def close(self, channels: list[dict[str, Any]]) -> None:
        """Done with a point: its chats closed (they join the others)."""
        now = int(time.time() * 1000)
        for c in channels:
            ch = self.svc.store.channels.get(c["id"])
            self.svc.store.channels.close(ch, now_ms=now)


def _counted(svc: Any, run: Any) -> tuple[Any, Any, PostLog]:
    """``run()``'s result, its DynamoDB calls and its posts. The tenant is read into the cache just
    before (a warm container's: it keeps a tenant TENANT_CACHE_SECONDS, and setting up a point can
    take longer than that, which would add one GetItem to whichever run comes after)."""
    from switchboard.edge import ws

    from tests.chat_support import CallLog

    svc.tenants.forget()
    svc.tenants.find("acme")
    calls, posts = CallLog(), PostLog()
    notifier: Any = ws.chat_context(svc).notifier
    with calls.counting(svc.store.client), posts.counting(notifier.client):
        result = run()
    return result, calls, posts


def _scheduled(at_s: float) -> dict[str, Any]:
    return {"version": "0", "id": secrets.token_hex(8), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": datetime.fromtimestamp(at_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1", "resources": [], "detail": {}}


def _fit(rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(calls with nothing due, fixed, per due chat) from the first N's rows: a run with something
    due costs ``fixed + per x D``, the per-due figure from the two largest D."""
    first = [r for r in rows if r["n"] == rows[0]["n"]]
    (d1, c1), (d2, c2) = [(r["d"], r["calls"]) for r in first[-2:]]
    per = (c2 - c1) // max(1, d2 - d1)
    zero = next((r["calls"] for r in first if r["d"] == 0), 0)
    return zero, c1 - per * d1, per


def _check(rows: list[dict[str, Any]]) -> None:
    """ok: the same calls for the same D at every N, ``fixed + per x D`` for every D > 0, no
    Scan, and every due chat handled."""
    zero, fixed, per = _fit(rows)
    reference = {r["d"]: r["calls"] for r in rows if r["n"] == rows[0]["n"]}
    for r in rows:
        expected = zero if r["d"] == 0 else fixed + per * r["d"]
        ok = r["calls"] == reference[r["d"]] == expected and r["scans"] == 0 and r["done"] == r["d"] == r["due"]
        r["check"] = "ok" if ok else "FAIL"


def sweep_table(quick: bool) -> dict[str, Any]:
    from switchboard_local.moto_speed import dynamodb_costs

    ns, ds = _sizes(quick)
    away_rows: list[dict[str, Any]] = []
    online_rows: list[dict[str, Any]] = []
    with world() as w, dynamodb_costs():
        desk, svc = Desk(w), w["svc"]
        others = Others(svc, followups=False)
        for n in ns:
            for d in ds:
                others.top_up(n - d)
                due = desk.queued(d)
                at = time.time() + REASSIGN_SECONDS + 60
                later = at + REASSIGN_SECONDS + 60
                for rows, status, when in ((away_rows, "away", at), (online_rows, "online", later)):
                    desk.presence(status)
                    done, calls, posts = _counted(svc, lambda when=when: desk.chat.invoke(
                        "SupportSweepFunction", _scheduled(when)))
                    names = calls.names()
                    rows.append({"n": n, "d": d, "due": done["due"], "calls": len(names), "items": calls.items_read,
                                 "seq": calls.sequential(), "posts": posts.posts, "scans": names.count("Scan"),
                                 "queries": names.count("Query"),
                                 "done": done["still_queued"] if status == "away" else done["assigned"]})
                desk.presence("away")
                desk.close(due)
    for rows in (away_rows, online_rows):
        _check(rows)
    table_rows = [[a["n"], a["d"], a["due"], a["calls"], a["items"], a["posts"], a["check"],
                   o["calls"], o["items"], o["posts"], o["check"]] for a, o in zip(away_rows, online_rows, strict=True)]
    za, fa, pa = _fit(away_rows)
    _, fo, po = _fit(online_rows)
    return {"title": "Desk: one support sweep run against N channels, D of them due",
            "columns": ["channels N", "due D", "found due", "nobody available: DynamoDB calls", "items read",
                        "posts", "check", "an operator available: DynamoDB calls", "items read", "posts", "check"],
            "rows": table_rows,
            "notes": (f"SupportSweepFunction's handler on moto, every DynamoDB call counted. Nothing due: {za} "
                      f"call (the due list's Query, which finds nothing). Nobody available: {fa} + {pa} x D calls "
                      f"(the due list's Query and one BatchGetItem of the due channels, then per due chat the staff "
                      f"presence Query and the UpdateItem restarting its wait). An operator available: {fo} + {po} "
                      f"x D (per due chat: the staff presence Query, the assignee's name (GetItem), the assignment's "
                      f"transaction, then whom to tell - the channel's watchers, the visitor's and the members' "
                      f"connections, the staff present: 4 Queries - and channel.updated posted to the visitor and "
                      f"to the operator). Every run: "
                      f"one Query of the sparse GSI1 list DUE#0, never a Scan; a run takes at most 100 due chats "
                      f"(the next run, a minute later, the rest). The other channels: 80% closed, 10% open and "
                      f"answered, 10% waiting since after the cut-off. Check: calls = fixed + per due x D at "
                      f"every N, no Scan, every due chat moved.")}


def mailer_table(quick: bool) -> dict[str, Any]:
    from switchboard.chat import followup_mail

    from switchboard_local.lambda_runtime import LambdaContext, load_handler
    from switchboard_local.moto_speed import dynamodb_costs

    ns, ds = _sizes(quick)
    rows: list[dict[str, Any]] = []
    with world() as w, dynamodb_costs():
        desk, svc = Desk(w), w["svc"]
        others = Others(svc, followups=True)
        handler = load_handler(w["template"], "FollowupMailFunction")
        real_time = followup_mail.time
        for n in ns:
            for d in ds:
                others.top_up(n - d)
                due = desk.replied_to_while_away(d)
                when = time.time() + 125
                followup_mail.time = SimpleNamespace(time=lambda when=when: when)
                try:
                    done, calls, _ = _counted(svc, lambda: handler(
                        {"source": "aws.events", "detail-type": "Scheduled Event"},
                        LambdaContext("FollowupMailFunction")))
                finally:
                    followup_mail.time = real_time
                names = calls.names()
                rows.append({"n": n, "d": d, "due": done["due"], "calls": len(names), "items": calls.items_read,
                             "scans": names.count("Scan"), "done": done["mailed"]})
                desk.close(due)
    _check(rows)
    zero, fixed, per = _fit(rows)
    return {"title": "Desk: one follow-up mailer run against N channels, D of them due",
            "columns": ["channels N", "due D", "found due", "DynamoDB calls", "items read", "mails sent", "check"],
            "rows": [[r["n"], r["d"], r["due"], r["calls"], r["items"], r["done"], r["check"]] for r in rows],
            "notes": (f"FollowupMailFunction's handler on moto, its clock 125 s ahead, every DynamoDB call "
                      f"counted: {zero} call with nothing due, else {fixed} + {per} x D calls (the Query of GSI2 "
                      f"FU#due up to now, then per due "
                      f"conversation: the follow-up record, the channel, the visitor's live connections, the "
                      f"replies since the batch began, the resume link, the record's delete; the tenant is cached "
                      f"in a warm container), and one SES SendEmail each. A tenth of the other channels have a "
                      f"follow-up due only in an hour: on the index, never read. Check: calls = fixed + per due x D "
                      f"at every N, no Scan, every due conversation mailed.")}


# -- message.send: plain, and with the visitor's side -------------------------------------------------
def send_table() -> dict[str, Any]:
    import hashlib
    import hmac
    import json

    from msgspec.structs import replace

    from tests.conftest import IDENTITY_SECRET

    def send_counts(svc: Any, client: Any, channel_id: str) -> tuple[int, int, str]:
        """(calls, items read, the operations) of one send, the same 3 times. (Round trips are
        left out: which of the calls sent at once overlap on moto depends on the threads.)"""
        seen = []
        for _ in range(3):
            _, calls, _ = _counted(svc, lambda: client.ok("message.send", channel_id=channel_id, text="hello",
                                                          client_id=secrets.token_hex(8)))
            ops = Counter(calls.names())
            seen.append((len(calls.calls), calls.items_read,
                         ", ".join(f"{op} x {k}" if k > 1 else op for op, k in sorted(ops.items()))))
        assert all(x == seen[0] for x in seen), seen
        return seen[0]

    rows: list[list[Any]] = []
    with world() as w:
        desk, svc = Desk(w), w["svc"]
        tenant = svc.store.tenants.get("acme")
        svc.store.tenants.put(replace(tenant, prechat=({"id": "topic", "label": "Topic", "kind": "select",
                                                        "options": ["Billing", "Orders"], "required": False},)))
        svc.tenants.forget()
        desk.presence("online")
        attrs = {"plan": "gold", "orders": 12, "account": "https://shop.example/admin/c/42"}
        canonical = json.dumps(attrs, sort_keys=True, separators=(",", ":"))

        def mac(message: str) -> str:
            return hmac.new(IDENTITY_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()

        user: dict[str, Any] = {"id": "customer-42", "name": "Jo", "hash": mac("customer-42"), "attributes": attrs,
                "attributes_hash": mac("customer-42\n" + canonical)}
        context = {"url": "https://shop.acme.test/orders/42", "title": "Order 42", "referrer": "https://search.test/",
                   "locale": "es-419"}
        cases: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = [
                 ("plain: anonymous visitor, no context", None, {}),
                 ("signed attributes, context, pre-chat answers", user,
                  {"context": context, "prechat": {"topic": "Orders"}}),
                 ("... and the visitor's email (follow-up mail)", {**user, "id": "customer-43",
                                                                   "hash": mac("customer-43"),
                                                                   "attributes_hash": mac("customer-43\n" + canonical)},
                  {"context": context, "prechat": {"topic": "Orders"}, "email": "jo@example.test"})]
        for label, who, params in cases:
            guest = desk.visitor(who)
            ch = guest.ok("support.open", **params)["channel"]
            for c in (guest, desk.otto):
                c.ok("channel.watch", channel_id=ch["id"])
            v = send_counts(svc, guest, ch["id"])
            o = send_counts(svc, desk.otto, ch["id"])
            rows.append([label, *v, *o])
            svc.store.channels.close(svc.store.channels.get(ch["id"]), now_ms=int(time.time() * 1000))
    plain = rows[0]
    rows[1].append("ok" if rows[1][1:] == plain[1:] else "FAIL")
    rows[2].append("ok" if rows[2][1:4] == plain[1:4] and rows[2][4] == plain[4] + 1
                   and rows[2][6] == plain[6].replace("UpdateItem", "UpdateItem x 2") else "FAIL")
    plain.append("-")
    return {"title": "Desk: message.send's DynamoDB work, plain and with the visitor's side",
            "columns": ["conversation", "visitor's send: DynamoDB calls", "items read", "operations",
                        "operator's send: DynamoDB calls", "items read", "operations", "check"],
            "rows": rows,
            "notes": ("The real message.send handler, a conversation watched by its visitor and operator Otto, 3 "
                      "sends each (they must agree). Check: context, pre-chat answers and signed attributes add "
                      "nothing to either side's send; a visitor who left an email adds one UpdateItem to staff's "
                      "sends only (the follow-up's mark, CH#<chid> / FOLLOWUP, sent after the sender's reply).")}


def run(quick: bool) -> list[dict[str, Any]]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    return [sweep_table(quick), mailer_table(quick), send_table()]


if __name__ == "__main__":
    from run import markdown

    for t in run("--quick" in sys.argv):
        print(markdown(t) + "\n")
