"""The local stack runs handlers side by side, as Lambda does (issue 15).

* Overlapping invocations of a function run in separate containers, each with its own module
  and its own made-once state (settings, service graph, clients).
* Work after a reply (a send's fan-out) delays no other invocation's reply.
* moto's shared state stays consistent under it: conditional writes keep exactly one winner
  (concurrent refreshes of one token), retried sends are stored once, a revocation racing
  refreshes leaves no session alive.
* The functions reach the gateway's @connections in this process (no HTTP), with the same
  signature check and the same 410.

The stack here is the real one, in this process: ``local_aws`` (moto with the template's
resources and the seed), the :class:`Invoker`, the HTTP and WebSocket gateways on loopback
ports, real WebSocket clients. The thread switch interval is made tiny while the races run, so
threads interleave inside moto's calls as often as they can.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from switchboard_local import invoker as invoker_module
from switchboard_local.gateway_http import build_http_app
from switchboard_local.gateway_ws import WebSocketGateway, install_in_process
from switchboard_local.invoker import Invoker
from switchboard_local.lambda_runtime import http_event
from switchboard_local.sigv4 import LocalCredentials
from switchboard_local.stack import FAKE_CREDENTIALS, local_aws
from tests.conftest import ADMIN, OPERATOR, ORIGIN, SEED, TENANT, free_port
from tests.ws_client import ChatClient


@contextlib.contextmanager
def tiny_switch_interval() -> Iterator[None]:
    """Threads switch every few microseconds: a race inside a moto call shows, if there is one."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.fixture
def stack(template: Any) -> Iterator[tuple[Any, Invoker]]:
    """moto with the template's resources and the test seed, and an invoker of four containers
    per function (the @connections endpoint is filled in by :func:`serving`)."""
    ws_port = free_port()
    with local_aws(template, SEED, {"WS_MANAGEMENT_ENDPOINT": f"http://127.0.0.1:{ws_port}"}) as aws:
        aws.ws_port = ws_port  # type: ignore[attr-defined]
        yield aws, Invoker(template, concurrency=4)


@dataclass
class Serving:
    http: str
    ws: str
    gateway: WebSocketGateway
    session: aiohttp.ClientSession

    async def post(self, path: str, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.http + path, json=body, headers=headers) as r:
            return r.status, await r.json(content_type=None)


@contextlib.asynccontextmanager
async def serving(template: Any, aws: Any, invoker: Invoker) -> AsyncIterator[Serving]:
    """The HTTP API and the WebSocket API on loopback, the functions' @connections in process."""
    credentials = LocalCredentials(FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], aws.environment["AWS_SECRET_ACCESS_KEY"])
    gateway = WebSocketGateway(template, invoker, credentials=credentials)
    http_port = free_port()
    runners = []
    for app, port in ((build_http_app(template, invoker), http_port), (gateway.app(), aws.ws_port)):
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
    loop = asyncio.get_running_loop()
    try:
        with install_in_process(gateway.in_process(loop, aws.environment["WS_MANAGEMENT_ENDPOINT"])):
            async with aiohttp.ClientSession() as session:
                yield Serving(f"http://127.0.0.1:{http_port}", f"ws://127.0.0.1:{aws.ws_port}", gateway, session)
    finally:
        await asyncio.to_thread(invoker.close, 5.0)
        await gateway.close_all()
        for runner in runners:
            await runner.cleanup()


async def visitor(s: Serving) -> ChatClient:
    status, tokens = await s.post("/auth/external", {"tenant": TENANT}, origin=ORIGIN)
    assert status == 200, tokens
    client = await ChatClient.connect(s.ws, tokens["chat_token"], ORIGIN)
    client.token = tokens["chat_token"]  # type: ignore[attr-defined]  # a second tab connects with it
    return client


# -- containers ---------------------------------------------------------------------------------
def test_overlapping_invocations_run_in_separate_containers_with_their_own_state(stack, template, monkeypatch):
    _aws, invoker = stack
    # Given a function whose two invocations can only finish together (each waits for the other)
    both_inside = threading.Barrier(2, timeout=10)
    real_start = invoker_module._start_container

    def start(template: Any, function_id: str) -> invoker_module.Container:
        container = real_start(template, function_id)
        inner = container.handler

        def handler(event: Any, context: Any) -> Any:
            both_inside.wait()  # with invocations one at a time, this never returns
            return inner(event, context)

        container.handler = handler
        return container

    monkeypatch.setattr(invoker_module, "_start_container", start)
    event = http_event("GET", "/.well-known/jwks.json")
    results: list[Any] = []

    # When two requests arrive at once
    threads = [threading.Thread(target=lambda: results.append(invoker.invoke("Jwks", event))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)

    # Then both were answered, by two containers, which share no made-once state
    assert [r["statusCode"] for r in results] == [200, 200]
    assert invoker.stats()["JwksFunction"] == {"containers": 2, "peak": 2, "busy": 0}
    first, second = invoker._pools["JwksFunction"].idle
    from switchboard import runtime, settings
    from switchboard.tokens import keys

    for made_once in (runtime.services, settings.get_settings, keys._provider):  # what serving the JWKS made
        assert made_once in first.state and made_once in second.state
        assert first.state[made_once] is not second.state[made_once]
    # and a third request reuses a warm container rather than starting one
    both_inside = threading.Barrier(1)
    assert invoker.invoke("Jwks", event)["statusCode"] == 200
    assert invoker.stats()["JwksFunction"]["containers"] == 2


def test_a_function_runs_no_more_containers_than_its_concurrency(stack, template):
    _aws, invoker = stack
    # Given 12 requests at once to a function with a concurrency of 4
    event = http_event("GET", "/.well-known/jwks.json")
    threads = [threading.Thread(target=invoker.invoke, args=("Jwks", event)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Then at most 4 ran at once, and every one was answered
    stats = invoker.stats()["JwksFunction"]
    assert stats["containers"] <= 4 and stats["peak"] <= 4 and stats["busy"] == 0
    assert sum(c.invocations for c in invoker._pools["JwksFunction"].idle) == 12


def test_a_closed_invoker_refuses_new_invocations_before_they_run(stack):
    _, invoker = stack
    assert invoker.close(1.0) == 0
    with pytest.raises(invoker_module.InvocationRefused):
        invoker.invoke("Jwks", http_event("GET", "/.well-known/jwks.json"))
    assert "JwksFunction" not in invoker.stats() or invoker.stats()["JwksFunction"]["containers"] == 0


# -- the reply is not held up by another invocation's fan-out ---------------------------------
def test_a_fan_out_still_delivering_delays_no_other_senders_reply(stack, template, monkeypatch):
    aws, invoker = stack
    from switchboard.chat import realtime

    async def scenario() -> None:
        async with serving(template, aws, invoker) as s:
            # Given two visitors in their own channels; the first also watches from a second tab
            # whose deliveries hang in the sending function (a slow network, say)
            first, second = await visitor(s), await visitor(s)
            channel = (await first.ok("support.open"))["channel"]
            other = (await second.ok("support.open"))["channel"]
            for client, ch in ((first, channel), (second, other)):
                await client.ok("channel.watch", channel_id=ch["id"])
            tab = await ChatClient.connect(s.ws, first.token, ORIGIN)  # type: ignore[attr-defined]
            await tab.ok("channel.watch", channel_id=channel["id"])
            stalled_id = list(s.gateway.connections)[-1]
            release, reached = threading.Event(), threading.Event()
            real_post = realtime.Realtime._post

            def post(self: Any, connection_id: str, data: bytes) -> bool:
                if connection_id == stalled_id and b'"message.new"' in data:
                    reached.set()
                    release.wait(30)
                return real_post(self, connection_id, data)

            monkeypatch.setattr(realtime.Realtime, "_post", post)
            try:
                # When the first visitor sends (acked, then its fan-out hangs on the stalled tab)
                ack = await first.request("message.send", channel_id=channel["id"], text="one", client_id="c-1")
                assert ack["ok"], ack
                assert await asyncio.to_thread(reached.wait, 10)
                # Then the second visitor's send is acknowledged while that fan-out is still going
                other_ack = await second.request("message.send", channel_id=other["id"], text="two",
                                                 client_id="c-2", timeout=20)
                assert other_ack["ok"] and not release.is_set()
            finally:
                release.set()
            # and the stalled tab gets its copy once the network recovers
            got = await tab.event("message.new", message__client_id="c-1")
            assert got["message"]["text"] == "one"
            for c in (first, second, tab):
                await c.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_client_that_stops_reading_is_dropped_and_revocation_still_reaches_the_others(stack, template):
    aws, invoker = stack

    async def scenario() -> None:
        async with serving(template, aws, invoker) as s:
            # Given a visitor's two tabs, one of which has stopped reading (its socket buffer full)
            status, tokens = await s.post("/auth/external", {"tenant": TENANT}, origin=ORIGIN)
            assert status == 200
            tabs = [await ChatClient.connect(s.ws, tokens["chat_token"], ORIGIN) for _ in range(2)]
            stuck_id = next(iter(s.gateway.connections))
            real_send = s.gateway._send

            async def send(conn: Any, text: str) -> bool:
                if conn.id == stuck_id:
                    await asyncio.Event().wait()  # never drains
                return await real_send(conn, text)

            s.gateway._send = send  # type: ignore[method-assign]
            # When the session is revoked
            async with s.session.post(s.http + "/auth/revoke", json={"kind": "session"},
                                      headers={"authorization": f"Bearer {tokens['access_token']}"}) as r:
                # Then the revocation answers, the stuck tab was dropped, and the other was told and closed
                assert r.status == 200, await r.text()
            await asyncio.wait_for(tabs[1].closed.wait(), 10)
            assert any(f.get("event") == "auth.revoked" for f in tabs[1].seen)
            await asyncio.wait_for(tabs[0].closed.wait(), 10)
            assert stuck_id not in s.gateway.connections

    asyncio.run(asyncio.wait_for(scenario(), 60))


# -- moto under concurrent handlers --------------------------------------------------------------
def _sign_in(invoker: Invoker) -> dict[str, Any]:
    event = http_event("POST", "/auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                                       "password": OPERATOR["password"]})
    result = invoker.invoke("LoginInternal", event)
    assert result["statusCode"] == 200, result
    return dict(json.loads(result["body"]))


def _at_once(n: int, fn: Any) -> list[Any]:
    """Run ``fn(i)`` on ``n`` threads released together; their results in order."""
    start = threading.Barrier(n, timeout=10)
    results: list[Any] = [None] * n

    def one(i: int) -> None:
        start.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_refreshes_of_one_token_have_exactly_one_winner(stack):
    _, invoker = stack
    rounds = 5
    for _ in range(rounds):
        # Given a session's refresh token, presented by 6 requests at once
        token = _sign_in(invoker)["refresh_token"]
        event = http_event("POST", "/auth/refresh", body={"refresh_token": token})
        def refresh(_: int, event: dict[str, Any] = event) -> Any:
            return invoker.invoke("Refresh", event)

        with tiny_switch_interval():
            statuses = Counter(r["statusCode"] for r in _at_once(6, refresh))
        # Then exactly one rotated it; the others met a spent token (reuse: the session ends)
        assert statuses[200] == 1, statuses
        assert statuses[401] == 5, statuses
    assert invoker.stats()["RefreshFunction"]["peak"] > 1  # they did run side by side


def test_a_revocation_racing_refreshes_leaves_no_session_alive(stack):
    _, invoker = stack
    # Given one operator's four sessions, each refreshed while "sign out everywhere" runs
    bundles = [_sign_in(invoker) for _ in range(4)]
    revoke = http_event("POST", "/auth/revoke", body={"kind": "user"},
                        headers={"authorization": f"Bearer {bundles[0]['access_token']}"})

    def act(i: int) -> Any:
        if i == 4:
            return invoker.invoke("Revoke", revoke)
        return invoker.invoke("Refresh", http_event("POST", "/auth/refresh",
                                                    body={"refresh_token": bundles[i]["refresh_token"]}))

    with tiny_switch_interval():
        results = _at_once(5, act)
    assert results[4]["statusCode"] == 200, results[4]
    # Then whatever each refresh got, no token of any of them refreshes afterwards
    for i, result in enumerate(results[:4]):
        token = json.loads(result["body"])["refresh_token"] if result["statusCode"] == 200 else \
            bundles[i]["refresh_token"]
        again = invoker.invoke("Refresh", http_event("POST", "/auth/refresh", body={"refresh_token": token}))
        assert again["statusCode"] == 401, (i, result["statusCode"], again)


def test_concurrent_sends_with_retries_are_stored_and_delivered_exactly_once(stack, template):
    aws, invoker = stack

    async def scenario() -> None:
        async with serving(template, aws, invoker) as s:
            # Given 6 visitors, each in a channel they watch
            clients = [await visitor(s) for _ in range(6)]
            channels = []
            for c in clients:
                ch = (await c.ok("support.open"))["channel"]
                await c.ok("channel.watch", channel_id=ch["id"])
                channels.append(ch["id"])
            # When each sends 5 messages, every one of them twice at once (a client's retry)
            sends = []
            for k in range(5):
                for c, ch in zip(clients, channels, strict=True):
                    client_id = f"{uuid.uuid4().hex[:12]}-{k}"
                    sends += [c.request("message.send", channel_id=ch, text=f"m{k}", client_id=client_id)
                              for _ in range(2)]
            with tiny_switch_interval():
                replies = await asyncio.gather(*sends)
            # Then every send was acknowledged, both copies with the same stored message
            assert all(r["ok"] for r in replies), [r for r in replies if not r["ok"]][:3]
            pairs = [replies[i:i + 2] for i in range(0, len(replies), 2)]
            assert all(a["data"]["message"]["id"] == b["data"]["message"]["id"] for a, b in pairs)
            # and each channel holds each message once
            for c, ch in zip(clients, channels, strict=True):
                history = await c.ok("channel.history", channel_id=ch, limit=50)
                ids = Counter(m["client_id"] for m in history["messages"])
                assert len(ids) == 5 and set(ids.values()) == {1}, ids
            for c in clients:
                await c.close()
        assert invoker.stats()["ChatConversationFunction"]["peak"] > 1

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_ten_opens_at_once_take_no_operator_past_max_chats(stack, template):
    """Issue 17's adversarial probe, as it ran it: 10 visitors' support.open at once against
    the only operator online, capped at 3, had 9 assigned to him. The creation's transaction
    now checks the cap itself; the opens it refuses are queued, none is an error."""
    aws, invoker = stack

    async def scenario() -> None:
        async with serving(template, aws, invoker) as s:
            # Given Otto online, the only staff, capped at 3 chats by Ana
            status, ana = await s.post("/auth/internal", {"tenant": TENANT, **_login_of(ADMIN)})
            assert status == 200, ana
            status, otto = await s.post("/auth/internal", {"tenant": TENANT, **_login_of(OPERATOR)})
            assert status == 200, otto
            otto_id = otto["user"]["id"]
            admin = {"authorization": f"Bearer {ana['access_token']}"}
            async with s.session.patch(f"{s.http}/admin/operators/{otto_id}", json={"max_chats": 3},
                                       headers=admin) as r:
                assert r.status == 200, await r.text()
            desk = await ChatClient.connect(s.ws, otto["chat_token"], ORIGIN)
            guests = [await visitor(s) for _ in range(10)]
            # When the 10 visitors open a conversation at the same moment
            with tiny_switch_interval():
                replies = await asyncio.gather(*(g.request("support.open") for g in guests))
            # Then each got their conversation: 3 assigned to Otto, the other 7 queued
            assert all(r["ok"] for r in replies), [r for r in replies if not r["ok"]][:3]
            channels = [r["data"]["channel"] for r in replies]
            assert Counter((ch["status"], ch["assignee"]) for ch in channels) == {
                ("open", otto_id): 3, ("queued", None): 7}
            # and the staff directory agrees
            async with s.session.get(f"{s.http}/staff", headers=admin) as r:
                staff = {m["id"]: m for m in (await r.json())["staff"]}
            assert (staff[otto_id]["open_chats"], staff[otto_id]["max_chats"]) == (3, 3)
            for c in [desk, *guests]:
                await c.close()
        assert invoker.stats()["ChatConversationFunction"]["peak"] > 1  # they did run side by side

    asyncio.run(asyncio.wait_for(scenario(), 90))


def _login_of(who: dict[str, Any]) -> dict[str, Any]:
    return {"email": who["email"], "password": who["password"]}


# -- @connections in process ------------------------------------------------------------------------
def test_the_functions_reach_connections_in_process_signed_and_gone_is_410(stack, template):
    aws, invoker = stack

    async def scenario() -> None:
        async with serving(template, aws, invoker) as s:
            guest = await visitor(s)
            conn_id = next(iter(s.gateway.connections))
            posted: list[str] = []
            real_act = s.gateway._act

            async def act(method: str, cid: str, data: bytes) -> Any:
                posted.append(method)
                return await real_act(method, cid, data)

            s.gateway._act = act  # type: ignore[method-assign]

            def client(secret: str) -> Any:
                import boto3

                return boto3.client("apigatewaymanagementapi", endpoint_url=aws.environment["WS_MANAGEMENT_ENDPOINT"],
                                    region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key=secret)

            ours = client(aws.environment["AWS_SECRET_ACCESS_KEY"])
            # a post signed with the stack's key reaches the socket, through no HTTP server
            await asyncio.to_thread(ours.post_to_connection, ConnectionId=conn_id, Data=b'{"hello":1}')
            assert (await guest.next_frame(lambda f: f.get("hello") == 1))["hello"] == 1
            assert posted == ["POST"] and s.gateway.served_in_process == 1
            # a post signed with another key is refused as API Gateway refuses it, and reaches nothing
            from botocore.exceptions import ClientError

            with pytest.raises(ClientError) as refused:
                await asyncio.to_thread(client("not-the-key").post_to_connection, ConnectionId=conn_id, Data=b"{}")
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            assert posted == ["POST"] and s.gateway.served_in_process == 2
            # a connection that is gone is GoneException (410)
            await guest.close()
            await asyncio.sleep(0.2)
            with pytest.raises(ours.exceptions.GoneException):
                await asyncio.to_thread(ours.post_to_connection, ConnectionId=conn_id, Data=b"{}")

    asyncio.run(asyncio.wait_for(scenario(), 60))
