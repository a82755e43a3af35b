"""API Gateway WebSocket events for the chat handler tests, and a small driver around them.

The factories build the events API Gateway sends to a WebSocket API's Lambda proxy
integrations and to its ``$connect`` REQUEST authorizer (shapes from the API Gateway
developer guide: "Control access to WebSocket APIs with Lambda REQUEST authorizers" and
"WebSocket API mapping template reference"). Fields the handlers rely on are marked
``# relied on``; the rest are there because API Gateway sends them.

The driver (:class:`Chat`, :class:`Client`) runs the real handlers named by template.yaml's
WebSocket routes, reads what was posted to each connection from moto's management-API
backend, and records management-API calls (posts, deletes) through botocore event hooks
on the real client - which is also how a post is made to fail with a real GoneException.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from switchboard_local.lambda_runtime import LambdaContext, load_handler
from switchboard_local.moto_speed import rollback_by_item  # noqa: F401  (tests and bench use it from here)
from switchboard_local.template import Template
from tests.conftest import ORIGIN

API_ID = "abcdef1234"
STAGE = "live"
DOMAIN = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
ACCOUNT = "123456789012"


def new_connection_id() -> str:
    """API Gateway's connection ids look like ``L0SM9cOFvHcCIhw=`` (base64 of 11 bytes): they may
    hold ``=``, ``/`` and ``+``, which the management API's URL carries percent-encoded."""
    return base64.b64encode(secrets.token_bytes(11)).decode()


def _request_time(now: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


def request_context(connection_id: str, route_key: str, event_type: str, *, connected_at_ms: int | None = None,
                    authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """``event.requestContext`` of a WebSocket proxy event (CONNECT, MESSAGE or DISCONNECT)."""
    now = time.time()
    request_id = base64.b64encode(secrets.token_bytes(10)).decode()
    ctx: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _request_time(now),
        "messageDirection": "IN",
        "stage": STAGE,  # relied on only when WS_MANAGEMENT_ENDPOINT is unset (endpoint = domainName/stage)
        "connectedAt": connected_at_ms or int(now * 1000),  # relied on ($connect: the connection's start)
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0 (chat test)"},
        "requestId": request_id,
        "domainName": DOMAIN,  # relied on only when WS_MANAGEMENT_ENDPOINT is unset
        "connectionId": connection_id,  # relied on (every route): who is acting
        "apiId": API_ID,
    }
    if event_type == "MESSAGE":
        ctx["messageId"] = base64.b64encode(secrets.token_bytes(10)).decode()
    if event_type == "DISCONNECT":
        ctx.update(disconnectStatusCode=1005, disconnectReason="")
    if authorizer is not None:
        ctx["authorizer"] = authorizer
    return ctx


def authorizer_event(token: str | None, *, origin: str | None = ORIGIN,
                     connection_id: str | None = None) -> dict[str, Any]:
    """The ``$connect`` REQUEST authorizer's input (``type: REQUEST``, ``methodArn`` ending ``$connect``)."""
    headers = {
        "Connection": "upgrade",
        "content-length": "0",
        "Host": DOMAIN,
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Key": base64.b64encode(secrets.token_bytes(16)).decode(),
        "Sec-WebSocket-Version": "13",
        "Upgrade": "websocket",
        "X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000000",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if origin is not None:
        headers["Origin"] = origin  # relied on: checked against the tenant's allowed origins (any case)
    query = {"token": token} if token is not None else {}
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API_ID}/{STAGE}/$connect",  # relied on (policy)
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,  # relied on: ?token=<chat token>
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "stageVariables": {},
        "requestContext": request_context(connection_id or new_connection_id(), "$connect", "CONNECT"),
    }


def authorizer_context(policy: dict[str, Any]) -> dict[str, Any]:
    """``requestContext.authorizer`` as API Gateway passes an Allow policy on to the routes:
    ``principalId``, ``integrationLatency`` and the policy's ``context`` with its values
    stringified (the handlers accept them as strings or as numbers)."""
    return {"principalId": policy["principalId"], "integrationLatency": 42,
            **{k: v if isinstance(v, str) else json.dumps(v) for k, v in policy["context"].items()}}


def connect_event(connection_id: str, authorizer: dict[str, Any], *, token: str = "<chat token>",  # noqa: S107
                  origin: str | None = ORIGIN) -> dict[str, Any]:
    """``$connect`` (relied on: ``requestContext.authorizer`` - tid sub sid role lvl scope name)."""
    headers = {"Host": DOMAIN, "Sec-WebSocket-Version": "13", "X-Forwarded-For": "203.0.113.7"}
    if origin is not None:
        headers["Origin"] = origin
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {"token": token},
        "multiValueQueryStringParameters": {"token": [token]},
        "requestContext": request_context(connection_id, "$connect", "CONNECT", authorizer=authorizer),
        "isBase64Encoded": False,
    }


def message_event(connection_id: str, body: str, route_key: str, *, authorizer: dict[str, Any] | None = None,
                  connected_at_ms: int | None = None) -> dict[str, Any]:
    """A frame from the client (relied on: ``body``, ``isBase64Encoded``, ``requestContext.connectionId``)."""
    return {
        "requestContext": request_context(connection_id, route_key, "MESSAGE", authorizer=authorizer,
                                          connected_at_ms=connected_at_ms),
        "body": body,
        "isBase64Encoded": False,
    }


def disconnect_event(connection_id: str, *, authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """``$disconnect`` (relied on: ``requestContext.connectionId``)."""
    return {
        "headers": {"Host": DOMAIN, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""},
        "multiValueHeaders": {},
        "requestContext": request_context(connection_id, "$disconnect", "DISCONNECT", authorizer=authorizer),
        "isBase64Encoded": False,
    }


def parse_frames(data: bytes) -> list[dict[str, Any]]:
    """Frames posted to one connection (moto concatenates the posted bytes)."""
    text, frames, pos = data.decode(), [], 0
    decoder = json.JSONDecoder()
    while pos < len(text):
        frame, pos = decoder.raw_decode(text, pos)
        frames.append(frame)
    return frames


def posted(connection_id: str) -> list[dict[str, Any]]:
    """What the management API's PostToConnection delivered to a connection, per moto's backend."""
    from urllib.parse import quote

    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    backend = apigatewaymanagementapi_backends[ACCOUNT]["us-east-1"]
    # moto keys its connections by the id as it appears in the request path (percent-encoded)
    conn = backend.connections.get(quote(connection_id, safe="-_.~")) or backend.connections.get(connection_id)
    return parse_frames(conn.data) if conn is not None else []


#: the WebSocket actions' rate-limit counters (chat_limits.py): every action attempt is counted
#: before it does anything, refused ones too, so they are no part of what an action stores
ACTION_COUNTERS = "RL#ws#"


def table_keys(*, counters: bool = False) -> set[tuple[str, str]]:
    """Every (pk, sk) in the table - a test's view of "nothing was stored" (tests may Scan).
    Without the action counters unless ``counters`` (tests/chat/test_action_limits.py checks
    those: a refused action leaves nothing else)."""
    import boto3
    from switchboard.runtime import services

    client, keys, kwargs = boto3.client("dynamodb"), set(), {}
    while True:
        page = client.scan(TableName=services().settings.table_name, ProjectionExpression="pk, sk", **kwargs)
        keys |= {(i["pk"]["S"], i["sk"]["S"]) for i in page["Items"]
                 if counters or not i["pk"]["S"].startswith(ACTION_COUNTERS)}
        if "LastEvaluatedKey" not in page:
            return keys
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def item(pk: str, sk: str) -> dict[str, Any] | None:
    """One item of the table, read directly (to check what the layer stored)."""
    from switchboard.runtime import services
    from switchboard.store.dynamo import from_wire

    store = services().store
    raw = store.client.get_item(TableName=store.table, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                ConsistentRead=True).get("Item")
    return from_wire(raw) if raw else None


def keys_of(connection_id: str) -> set[tuple[str, str]]:
    """Every record that mentions a connection id in its key."""
    return {k for k in table_keys() if connection_id in k[0] or connection_id in k[1]}


class Refused(Exception):
    """The handshake was refused with this HTTP status (401 Unauthorized, 403 Deny/refused)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"handshake refused: {status}")
        self.status = status


# -- management API: recording and making connections gone ------------------------------------
@dataclass
class Wire:
    """Management-API calls of the chat functions, in order, seen through botocore event hooks on
    the real client; ``gone`` connections answer a real 410 GoneException, ``failing`` ones a
    403 ForbiddenException (a failure that says nothing of the connection; botocore does not
    retry it)."""

    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.apigatewaymanagementapi.*", self._params)
        client.meta.events.register("before-call.apigatewaymanagementapi.*", self._call)

    def _params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["sb_connection_id"] = params.get("ConnectionId")
        data = params.get("Data")
        with self._lock:
            self.calls.append((model.name, params.get("ConnectionId", ""),
                               json.loads(data) if isinstance(data, bytes | str) and data else None))

    def _call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        cid = context.get("sb_connection_id")
        if cid in self.gone:
            status, code, message = 410, "GoneException", f"Connection {cid} is gone"
        elif cid in self.failing:
            status, code, message = 403, "ForbiddenException", "Forbidden"
        else:
            return None
        http = AWSResponse(f"https://{DOMAIN}/{STAGE}/@connections/{cid}", status,
                           {"x-amzn-ErrorType": code}, None)
        return http, {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}

    def posts_to(self, connection_id: str) -> list[Any]:
        return [d for op, cid, d in self.calls if op == "PostToConnection" and cid == connection_id]

    def deleted(self) -> list[str]:
        return [cid for op, cid, _ in self.calls if op == "DeleteConnection"]


def install_wire() -> Wire:
    from switchboard.edge import ws
    from switchboard.runtime import services

    wire = Wire()
    notifier: Any = ws.chat_context(services()).notifier
    wire.install(notifier.client)
    return wire


# -- DynamoDB calls ------------------------------------------------------------------------------
def items_in(parsed: dict[str, Any]) -> int:
    """How many items a DynamoDB answer carries (GetItem, Query/Scan, BatchGetItem)."""
    if "Item" in parsed:
        return 1
    if "Items" in parsed:
        return len(parsed["Items"])
    if "Responses" in parsed:
        return sum(len(v) for v in parsed["Responses"].values())
    return 0


@dataclass
class CallLog:
    """DynamoDB calls through one client - (operation, start, end, items returned) - via botocore
    hooks: the tests count them, the benchmarks also time them (bench/chat_bench.py, auth_bench.py)."""

    calls: list[list[Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        with self._lock:
            context["call_log_index"] = len(self.calls)
            self.calls.append([model.name, time.perf_counter(), None, 0])

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        n = items_in(parsed)
        with self._lock:
            entry = self.calls[context["call_log_index"]]
            entry[2], entry[3] = time.perf_counter(), n

    @contextmanager
    def counting(self, client: Any) -> Iterator[CallLog]:
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)
        try:
            yield self
        finally:
            client.meta.events.unregister("before-call.dynamodb.*", self._before)
            client.meta.events.unregister("after-call.dynamodb.*", self._after)

    @property
    def items_read(self) -> int:
        return sum(c[3] for c in self.calls)

    def names(self) -> list[str]:
        """The operations, in the order they started."""
        return [c[0] for c in sorted(self.calls, key=lambda c: c[1])]

    def sequential(self, before: float | None = None) -> int:
        """Longest chain of calls each started after the previous one ended (the critical path);
        only calls that ended by ``before``, if given."""
        calls = sorted((c for c in self.calls if before is None or (c[2] is not None and c[2] <= before)),
                       key=lambda c: c[1])
        depth: list[int] = []
        for j, (_, start, _, _) in enumerate(calls):
            depth.append(1 + max((depth[i] for i in range(j) if calls[i][2] is not None and calls[i][2] <= start),
                                 default=0))
        return max(depth, default=0)


@contextmanager
def atomic_requests() -> Iterator[None]:
    """Make moto handle one AWS request at a time, as DynamoDB makes each request atomic.

    moto is an in-memory model: a TransactWriteItems snapshots the table, and a cancelled one
    restores the snapshot - under threads, over a concurrent request's writes. Serialising
    requests (not our code: threads still interleave between requests) gives moto DynamoDB's
    per-request atomicity, so tests of concurrent retries test the layer, not moto.
    """
    from moto.core import botocore_stubber

    lock = threading.Lock()
    original = botocore_stubber.BotocoreStubber.__call__

    def locked(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, event_name, request, **kwargs)

    botocore_stubber.BotocoreStubber.__call__ = locked  # type: ignore[method-assign]
    try:
        yield
    finally:
        botocore_stubber.BotocoreStubber.__call__ = original  # type: ignore[method-assign]




# -- the driver ----------------------------------------------------------------------------------
class Chat:
    """Runs the WebSocket functions of template.yaml on events shaped as API Gateway's."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.routes = template.websocket_routes()
        self.authorizer_id = template.websocket_authorizer()
        self.replies = template.websocket_replies()

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        """As Lambda does: JSON in, JSON out (what a handler returns must be serialisable)."""
        handler = load_handler(self.template, function_id)
        result = handler(json.loads(json.dumps(event)), LambdaContext(function_name=function_id))
        return json.loads(json.dumps(result))

    def authorize(self, token: str | None, origin: str | None = ORIGIN) -> dict[str, Any]:
        """The authorizer's policy; :class:`Refused` as API Gateway would refuse the handshake."""
        assert self.authorizer_id
        if not token:
            raise Refused(401)  # API Gateway answers a missing identity source itself
        try:
            policy = self.invoke(self.authorizer_id, authorizer_event(token, origin=origin))
        except Exception as exc:
            if str(exc) == "Unauthorized":
                raise Refused(401) from exc
            raise
        if any(s["Effect"] != "Allow" for s in policy["policyDocument"]["Statement"]):
            raise Refused(403)
        return policy

    def connect(self, tokens: dict[str, Any], origin: str | None = ORIGIN) -> Client:
        """The handshake: authorizer, then ``$connect``."""
        policy = self.authorize(tokens["chat_token"], origin)
        cid = new_connection_id()
        context = authorizer_context(policy)
        result = self.invoke(self.routes["$connect"], connect_event(cid, context, token=tokens["chat_token"]))
        if result.get("statusCode") != 200:
            raise Refused(int(result["statusCode"]))
        return Client(self, cid, tokens, context)


class Client:
    """One connection: frames in through the route's function, frames out read from moto."""

    _rids = itertools.count(1)

    def __init__(self, chat: Chat, connection_id: str, tokens: dict[str, Any], authorizer: dict[str, Any]) -> None:
        self.chat = chat
        self.id = connection_id
        self.tokens = tokens
        self.authorizer = authorizer
        self.user_id: str = tokens["user"]["id"]

    def frame(self, body: str) -> dict[str, Any] | None:
        """Send a raw frame; the route response's body (None when the route sends none)."""
        route = "$default"
        try:
            parsed = json.loads(body)
            action = parsed.get("action") if isinstance(parsed, dict) else None
            if isinstance(action, str) and action in self.chat.routes and not action.startswith("$"):
                route = action
        except (ValueError, RecursionError):  # as API Gateway: what it cannot read goes to $default
            pass
        result = self.chat.invoke(self.chat.routes[route], message_event(self.id, body, route,
                                                                         authorizer=self.authorizer))
        if route in self.chat.replies and result.get("body"):
            reply: dict[str, Any] = json.loads(result["body"])
            return reply
        return None

    def request(self, action: str, **params: Any) -> dict[str, Any]:
        """Send ``{"action", "rid", **params}``; the reply (from the route response, or posted)."""
        rid = f"r{next(self._rids)}"
        reply = self.frame(json.dumps({"action": action, "rid": rid, **params}))
        if reply is None:  # acknowledged through the management API (message.send)
            replies = [f for f in self.frames() if f.get("type") == "reply" and f.get("rid") == rid]
            assert len(replies) == 1, f"expected one reply to {rid}, got {replies}"
            reply = replies[0]
        assert reply["rid"] == rid
        return reply

    def ok(self, action: str, **params: Any) -> dict[str, Any]:
        reply = self.request(action, **params)
        assert reply["ok"], reply
        data: dict[str, Any] = reply["data"]
        return data

    def error(self, action: str, **params: Any) -> str:
        reply = self.request(action, **params)
        assert not reply["ok"], reply
        code: str = reply["error"]["code"]
        return code

    def frames(self) -> list[dict[str, Any]]:
        return posted(self.id)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [f["data"] for f in self.frames() if f.get("type") == "event" and f.get("event") == name]

    def disconnect(self) -> None:
        self.chat.invoke(self.chat.routes["$disconnect"], disconnect_event(self.id, authorizer=self.authorizer))


def visitor_tokens(call: Callable[..., dict[str, Any]], *, tenant: str = "acme", origin: str = ORIGIN,
                   user: dict[str, Any] | None = None) -> dict[str, Any]:
    """A visitor signs in through the real POST /auth/external (anonymous unless ``user``)."""
    body: dict[str, Any] = {"tenant": tenant}
    if user is not None:
        body["user"] = user
    r = call("POST /auth/external", body=body, headers={"origin": origin})
    assert r["status"] == 200, r
    return r["json"]


def known_visitor(call: Callable[..., dict[str, Any]], user_id: str) -> dict[str, Any]:
    """A level-1 visitor of acme, vouched for by the website's HMAC."""
    from switchboard.auth.identity import visitor_hash

    from tests.conftest import IDENTITY_SECRET

    return visitor_tokens(call, user={"id": user_id, "name": user_id.title(),
                                      "hash": visitor_hash(IDENTITY_SECRET, user_id)})


def run_action(caller: Client, action: str, channel: dict[str, Any]) -> str:
    """What ``action`` answers ``caller`` on ``channel`` (``{"id", "others_message",
    "own_message"}``): ``ok`` or the error code; for ``channel.query``, whether any of the
    caller's filters lists the channel. The policy tests' one way of running a cell."""
    if action == "channel.query":
        listed: set[str] = set()
        for query in ({"member": "me"}, {"status": "queued"}, {"status": "open"}):
            reply = caller.request("channel.query", filter=query, limit=100)
            listed |= {c["id"] for c in reply["data"]["channels"]} if reply["ok"] else set()
        return "listed" if channel["id"] in listed else "hidden"
    if action == "channel.query (staff filter)":  # contract section 8's {"visitor": id}: staff only
        reply = caller.request("channel.query", filter={"visitor": channel["visitor"]}, limit=100)
        if not reply["ok"]:
            return str(reply["error"]["code"])
        return "listed" if channel["id"] in {c["id"] for c in reply["data"]["channels"]} else "hidden"
    if action == "presence.set":  # no channel: the caller's own presence
        reply = caller.request("presence.set", status="online")
        return "ok" if reply["ok"] else str(reply["error"]["code"])
    params: dict[str, Any] = {"channel_id": channel["id"]}
    name = action
    if action == "message.send":
        params.update(text="policy", client_id=f"m-{channel['id']}")
    elif action == "message.send (internal note)":
        name = "message.send"
        params.update(text="policy note", client_id=f"n-{channel['id']}", internal=True)
    elif action == "channel.label":
        params["add"] = ["policy"]
    elif action == "message.delete (own message)":
        name, params["message_id"] = "message.delete", channel["own_message"]
    elif action == "message.delete (someone else's)":
        name, params["message_id"] = "message.delete", channel["others_message"]
    elif action == "read":
        params["message_id"] = channel["others_message"]
    elif action == "attachment.presign":
        params.update(content_type="image/png", size=100)
    elif action == "attachment.open":
        params.update(message_id=channel["others_message"], key=channel["file"])
    elif action == "visitor.email":
        params["email"] = "policy@example.com"
    elif action == "visitor.context":
        params["context"] = {"url": "https://shop.example/policy", "locale": "en"}
    elif action == "channel.rate":
        params["score"] = 5
    reply = caller.request(name, **params)
    return "ok" if reply["ok"] else str(reply["error"]["code"])
