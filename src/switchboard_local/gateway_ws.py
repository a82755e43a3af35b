"""The WebSocket API of the local stack, emulating API Gateway WebSocket APIs.

What it reproduces (routes, authorizer and stage read from ``template.yaml``):

* ``$connect``: with a REQUEST authorizer on the route, a missing identity source
  (``?token=``) is 401 without calling it; the authorizer raising ``Unauthorized`` is
  401; a ``Deny`` policy is 403; an ``Allow`` passes its ``context`` and ``principalId``
  on as ``requestContext.authorizer`` to ``$connect`` and to every later event of the
  connection. ``$connect`` answering a non-2xx status refuses the handshake with it.
* Route selection on ``$request.body.action``: a frame that is JSON with a string
  ``action`` naming a route goes there, anything else to ``$default``. Routes with a
  route response send the integration's ``body`` back to the caller; a crashing
  integration sends API Gateway's ``{"message": "Internal server error"}``.
* Frames over 128 KB close the connection (1009), as API Gateway does.
* ``$disconnect`` after the socket closes, from either side (best-effort, like AWS).
* The ``@connections`` management API (``POST``/``GET``/``DELETE`` on
  ``/@connections/{id}``, also under ``/<stage>/``) on the same port, answering 410
  ``GoneException`` for connections that are gone - which moto's stub never does. A call
  that is not SigV4-signed is 403 ``MissingAuthenticationTokenException``, as API Gateway
  answers one, and the signature is verified with the stack's own credentials (the ones its
  functions sign with, :mod:`switchboard_local.sigv4`): a wrong key, a wrong signature, a
  body or path other than the signed one is 403 ``InvalidSignatureException`` /
  ``UnrecognizedClientException``, as API Gateway answers them - so no other local process,
  and no web page open in the developer's browser (it could not even send the header
  without a CORS preflight this port never answers), can list the connections, push frames
  into local chat sockets (a forged ``auth.revoked``) or close them. The local listing
  route (``GET /@connections``) needs the same signature. And the API answers only to the
  loopback names and the ``--host`` it is bound to (403 otherwise): a page that rebinds its
  own DNS name to 127.0.0.1, and so is same-origin with this port, still sends its own
  name as ``Host``.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import io
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from switchboard_local.invoker import InvocationError, InvocationRefused, Invoker
from switchboard_local.sigv4 import LocalCredentials, Refused, verify_header
from switchboard_local.template import Template

__all__ = ["MAX_FRAME", "WebSocketGateway", "install_in_process"]

MAX_FRAME = 128 * 1024
#: seconds a post or a close may wait on a client's socket; a client that stops reading is dropped
SEND_TIMEOUT = 1.0
#: seconds a function's in-process management call waits (the functions' client: read timeout 3 s)
IN_PROCESS_TIMEOUT = 3.0
log = logging.getLogger("switchboard.local.ws")
_Answer = tuple[int, dict[str, str], bytes]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _RawBody(io.BytesIO):
    """An answer's body as botocore reads a urllib3 response's."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        while chunk := self.read(65536):
            yield chunk


@contextlib.contextmanager
def install_in_process(handler: Callable[..., Any]) -> Iterator[None]:
    """Route this process's management-API calls through ``handler`` (:meth:`WebSocketGateway.in_process`):
    on every botocore session made from now on, and on boto3's default session (the layer's)."""
    import boto3
    import botocore.handlers

    entry = ("before-send.apigatewaymanagementapi", handler)
    botocore.handlers.BUILTIN_HANDLERS.append(entry)
    session = boto3.DEFAULT_SESSION
    if session is not None:
        session.events.register(*entry)
    try:
        yield
    finally:
        botocore.handlers.BUILTIN_HANDLERS.remove(entry)
        if session is not None:
            session.events.unregister(*entry)


@dataclass
class _Connection:
    id: str
    ws: web.WebSocketResponse
    connected_at: float
    source_ip: str
    user_agent: str
    authorizer: dict[str, Any] | None
    last_active: float = field(default_factory=time.time)
    transport: Any = None

    def drop(self) -> None:
        """Cut the TCP connection (no close handshake: the client is not reading)."""
        if self.transport is not None:
            self.transport.abort()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _connection_id() -> str:
    return base64.b64encode(secrets.token_bytes(9)).decode()  # API Gateway's ids look like "L0SM9cOFvHcCIhw="


#: how API Gateway words a refused signature (x-amzn-ErrorType, message)
_API_GATEWAY_REFUSALS = {
    "InvalidAccessKeyId": ("UnrecognizedClientException", "The security token included in the request is invalid."),
    "SignatureDoesNotMatch": ("InvalidSignatureException", "The request signature we calculated does not match the "
                                                           "signature you provided."),
    "AuthorizationHeaderMalformed": ("IncompleteSignatureException", "Authorization header requires 'Credential', "
                                                                     "'Signature' and 'SignedHeaders' for this service"
                                                                     " (execute-api)."),
}

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def allowed_hosts(bind_host: str) -> frozenset[str] | None:
    """The Host names a local endpoint bound to ``bind_host`` answers to: the loopback names and
    its own (a page that rebinds its DNS name to 127.0.0.1 still sends that name). None for a
    wildcard bind, which serves every name."""
    return None if bind_host in ("0.0.0.0", "::", "") else LOOPBACK_NAMES | {bind_host}  # noqa: S104


def host_name(header: str) -> str:
    """The name in a Host header: ``[::1]:3001`` -> ``::1``, ``localhost:3001`` -> ``localhost``."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class WebSocketGateway:
    def __init__(self, template: Template, invoker: Invoker, *, api_id: str = "local",
                 bind_host: str = "127.0.0.1", credentials: LocalCredentials | None = None) -> None:
        # the only key the @connections API accepts (None: it accepts no call at all)
        self.credentials = credentials
        self.hosts = allowed_hosts(bind_host)  # the names the @connections API answers to
        self.template = template
        self.invoker = invoker
        self.api_id = api_id
        self.routes = template.websocket_routes()
        self.replies = template.websocket_replies()
        self.authorizer = template.websocket_authorizer()
        self.stage = template.websocket_stage()
        self.connections: dict[str, _Connection] = {}
        self.served_in_process = 0  # management calls answered without HTTP (:meth:`in_process`)
        self.served_over_http = 0
        self.domain = "127.0.0.1"
        # the event loop keeps only weak references to tasks: hold them until they finish
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- events, shaped as API Gateway sends them ------------------------------------
    def _context(self, conn_id: str, route_key: str, event_type: str, connected_at: float, source_ip: str,
                 user_agent: str, authorizer: dict[str, Any] | None) -> dict[str, Any]:
        now = time.time()
        ctx: dict[str, Any] = {
            "routeKey": route_key, "eventType": event_type, "messageDirection": "IN",
            "extendedRequestId": secrets.token_hex(8), "requestId": secrets.token_hex(8),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000), "stage": self.stage, "connectedAt": int(connected_at * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": user_agent}, "domainName": self.domain,
            "connectionId": conn_id, "apiId": self.api_id,
        }
        if event_type == "MESSAGE":
            ctx["messageId"] = secrets.token_hex(8)
        if authorizer is not None:
            ctx["authorizer"] = authorizer
        return ctx

    async def _invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        try:
            return await self.invoker.ainvoke(function_id, event)
        except InvocationRefused as refused:  # the stack is stopping: nothing of it ran
            raise InvocationError(function_id, refused) from refused

    # -- the handshake ---------------------------------------------------------------
    async def _authorize(self, request: web.Request, conn_id: str, connected_at: float, source_ip: str
                         ) -> dict[str, Any] | web.Response:
        if not self.authorizer:
            return {}
        query = dict(request.query)
        if not query.get("token"):  # the identity source is missing: API Gateway answers 401 itself
            return web.json_response({"message": "Unauthorized"}, status=401)
        headers = dict(request.headers)
        event = {
            "type": "REQUEST",
            "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:{self.api_id}/{self.stage}/$connect",
            "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": query, "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
            "stageVariables": {},
            "requestContext": self._context(conn_id, "$connect", "CONNECT", connected_at, source_ip,
                                            headers.get("User-Agent", ""), None),
        }
        try:
            result = await self._invoke(self.authorizer, event)
        except InvocationError as exc:
            if str(exc.error) == "Unauthorized":
                return web.json_response({"message": "Unauthorized"}, status=401)
            log.error("authorizer failed: %s", exc)
            return web.json_response({"message": "Internal server error"}, status=500)
        statements = (result or {}).get("policyDocument", {}).get("Statement", [])
        if not statements or any(s.get("Effect") != "Allow" for s in statements):
            return web.json_response({"message": "Forbidden"}, status=403)
        context = {k: v for k, v in (result.get("context") or {}).items()}
        return {**context, "principalId": result.get("principalId", "")}

    async def handle_socket(self, request: web.Request) -> web.StreamResponse:
        conn_id, connected_at = _connection_id(), time.time()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        source_ip, user_agent = (peer[0] if peer else "127.0.0.1"), request.headers.get("User-Agent", "")
        authorized = await self._authorize(request, conn_id, connected_at, source_ip)
        if isinstance(authorized, web.Response):
            return authorized
        authorizer = authorized or None
        headers = dict(request.headers)
        query = dict(request.query)
        if "$connect" in self.routes:
            event = {"headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
                     "queryStringParameters": query or None, "isBase64Encoded": False,
                     "requestContext": self._context(conn_id, "$connect", "CONNECT", connected_at, source_ip,
                                                     user_agent, authorizer)}
            try:
                result = await self._invoke(self.routes["$connect"], event)
            except InvocationError as exc:
                log.error("$connect failed: %s", exc)
                return web.json_response({"message": "Internal server error"}, status=500)
            status = int((result or {}).get("statusCode", 200)) if isinstance(result, dict) else 200
            if not 200 <= status < 300:
                return web.Response(status=status)
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME, autoping=True, heartbeat=None)
        await ws.prepare(request)
        conn = _Connection(conn_id, ws, connected_at, source_ip, user_agent, authorizer, transport=request.transport)
        self.connections[conn_id] = conn
        close_code, reason = 1000, ""
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    conn.last_active = time.time()
                    self._spawn(self._route(conn, msg.data))
                elif msg.type == WSMsgType.BINARY:
                    conn.last_active = time.time()
                    self._spawn(self._route(conn, msg.data.decode("utf-8", "replace")))
                elif msg.type == WSMsgType.ERROR:
                    close_code, reason = WSCloseCode.MESSAGE_TOO_BIG, "Message too big"
                    break
        finally:
            self.connections.pop(conn_id, None)
            if not ws.closed:
                await ws.close(code=close_code, message=reason.encode())
            close_code = ws.close_code or close_code
            self._spawn(self._disconnect(conn, close_code, reason))
        return ws

    async def _route(self, conn: _Connection, text: str) -> None:
        route_key = "$default"
        try:
            frame = json.loads(text)
            action = frame.get("action") if isinstance(frame, dict) else None
            if isinstance(action, str) and action in self.routes and not action.startswith("$"):
                route_key = action
        except (ValueError, RecursionError):  # not JSON, or nested too deeply: API Gateway's $default
            pass
        function_id = self.routes.get(route_key)
        if function_id is None:
            await self._send(conn, json.dumps({"message": "Forbidden", "connectionId": conn.id,
                                               "requestId": secrets.token_hex(8)}))
            return
        ctx = self._context(conn.id, route_key, "MESSAGE", conn.connected_at, conn.source_ip, conn.user_agent,
                            conn.authorizer)
        event = {"requestContext": ctx, "body": text, "isBase64Encoded": False}
        try:
            result = await self._invoke(function_id, event)
        except InvocationError as exc:
            if not isinstance(exc.error, InvocationRefused):  # refused: the stack is stopping
                log.error("%s failed: %s", route_key, exc)
            await self._send(conn, json.dumps({"message": "Internal server error", "connectionId": conn.id,
                                               "requestId": ctx["requestId"]}))
            return
        if route_key in self.replies and isinstance(result, dict) and result.get("body"):
            await self._send(conn, str(result["body"]))

    async def _send(self, conn: _Connection, text: str) -> bool:
        if conn.ws.closed:
            return False
        try:
            await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def _disconnect(self, conn: _Connection, code: int, reason: str) -> None:
        function_id = self.routes.get("$disconnect")
        if not function_id:
            return
        ctx = self._context(conn.id, "$disconnect", "DISCONNECT", conn.connected_at, conn.source_ip,
                            conn.user_agent, conn.authorizer)
        ctx.update(disconnectStatusCode=code, disconnectReason=reason)
        event = {"headers": {}, "requestContext": ctx, "isBase64Encoded": False}
        try:
            await self._invoke(function_id, event)
        except InvocationError as exc:
            if not isinstance(exc.error, InvocationRefused):  # best-effort, as API Gateway's; not while stopping
                log.error("$disconnect failed: %s", exc)

    # -- the @connections management API -----------------------------------------------
    # Answers are (status, headers, body) so that one code path serves both doors: HTTP on this
    # port (outside callers) and the in-process door the stack's own functions use.
    @staticmethod
    def _answer(status: int, payload: Any = None, kind: str | None = None) -> _Answer:
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        if kind:
            headers["x-amzn-ErrorType"] = kind
        return status, headers, json.dumps(payload).encode() if payload is not None else b""

    def _gone(self, conn_id: str) -> _Answer:
        return self._answer(410, {"message": f"Connection {conn_id} is gone"}, "GoneException")

    def _foreign_host(self, host: str) -> _Answer | None:
        if self.hosts is not None and host_name(host) not in self.hosts:
            return self._answer(403, {"message": "Forbidden"}, "ForbiddenException")
        return None

    def _unsigned(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes
                  ) -> _Answer | None:
        """API Gateway's answer to a management call not signed with the stack's key (None: signed).
        ``headers`` lower-cased."""
        if not headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
            return self._answer(403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException")
        try:
            if self.credentials is None:
                raise Refused(403, "InvalidAccessKeyId", "this gateway was given no credentials")
            verify_header(self.credentials, "execute-api", method=method, raw_path=raw_path, raw_query=raw_query,
                          headers=headers, body=body)
        except Refused as refused:
            kind, message = _API_GATEWAY_REFUSALS.get(refused.code, ("InvalidSignatureException", refused.message))
            return self._answer(403, {"message": message}, kind)
        return None

    async def _act(self, method: str, conn_id: str, data: bytes) -> _Answer:
        """One signed management call on a connection: POST a frame, GET its details, DELETE it."""
        conn = self.connections.get(conn_id)
        if conn is None or conn.ws.closed:
            return self._gone(conn_id)
        if method == "POST":
            if len(data) > MAX_FRAME:
                return self._answer(413, {"message": "Message too long"}, "PayloadTooLargeException")
            try:  # a client that stops reading fills its buffer; API Gateway does not wait on it either
                sent = await asyncio.wait_for(self._send(conn, data.decode("utf-8", "replace")), SEND_TIMEOUT)
            except TimeoutError:
                log.info("connection %s stopped reading: closed", conn_id)
                conn.drop()
                sent = False
            if not sent:
                return self._gone(conn_id)
            return 200, {}, b""
        if method == "GET":
            # the wire names of the GetConnection output shape (botocore maps them to ConnectedAt ...)
            return self._answer(200, {"connectedAt": _iso(conn.connected_at),
                                      "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
                                      "lastActiveAt": _iso(conn.last_active)})
        try:  # DELETE: the close handshake is not waited on past SEND_TIMEOUT (a client that stopped reading)
            await asyncio.wait_for(conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b""), SEND_TIMEOUT)
        except TimeoutError:
            conn.drop()
        return 204, {}, b""

    @staticmethod
    def _response(answer: _Answer) -> web.Response:
        status, headers, body = answer
        return web.Response(status=status, headers=headers, body=body or None)

    async def manage(self, request: web.Request) -> web.StreamResponse:
        """The management API over HTTP, for callers outside this process."""
        self.served_over_http += 1
        if (refused := self._foreign_host(request.headers.get("Host", ""))) is not None:
            return self._response(refused)
        body = await request.read()
        raw_path, _, raw_query = request.raw_path.partition("?")
        headers = {k.lower(): v for k, v in request.headers.items()}
        if (unsigned := self._unsigned(request.method, raw_path, raw_query, headers, body)) is not None:
            return self._response(unsigned)
        return self._response(await self._act(request.method, request.match_info["connection_id"], body))

    def in_process(self, loop: asyncio.AbstractEventLoop, endpoint: str) -> Callable[..., Any]:
        """The management API for this process's own functions, without an HTTP round trip.

        A botocore ``before-send`` handler: a management-API request addressed to ``endpoint``
        is answered here - the same host and SigV4 checks as over HTTP, the same
        (status, headers, body), so botocore raises the same ``GoneException`` - by running
        the call on the gateway's event loop; anything else goes on its way (None). Install
        it with :func:`install_in_process`."""
        from urllib.parse import unquote, urlsplit

        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders
        from botocore.exceptions import ReadTimeoutError

        if asyncio.get_running_loop() is not loop:
            raise RuntimeError("install the in-process handler from the gateway's own event loop")

        netloc = urlsplit(endpoint).netloc
        prefixes = ("/@connections/", f"/{self.stage}/@connections/")

        def handler(request: Any, **_: Any) -> AWSResponse | None:
            if _running_loop() is loop:  # waiting on the loop from the loop would hang it
                raise RuntimeError("a management-API call made on the gateway's own event loop")
            url = urlsplit(request.url)
            if url.netloc != netloc:
                return None
            self.served_in_process += 1
            headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
            headers.setdefault("host", netloc)  # botocore signs the URL's host without setting the header
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode()
            elif not isinstance(body, bytes):
                body = body.read()
            answer = self._foreign_host(headers["host"]) or \
                self._unsigned(request.method, url.path, url.query, headers, body)
            if answer is None:
                prefix = next((p for p in prefixes if url.path.startswith(p)), None)
                segment = url.path[len(prefix):] if prefix else ""  # one path segment, as the HTTP route
                conn_id = unquote(segment)  # ids hold "/" and "+", which botocore sends percent-encoded
                if not segment or "/" in segment or request.method not in ("POST", "GET", "DELETE"):
                    answer = self._answer(404, {"message": "Not Found"}, "NotFoundException")
                else:
                    future = asyncio.run_coroutine_threadsafe(self._act(request.method, conn_id, body), loop)
                    try:
                        answer = future.result(timeout=IN_PROCESS_TIMEOUT)
                    except concurrent.futures.TimeoutError:
                        future.cancel()
                        # what botocore raises when the HTTP path's read times out: callers catch it alike
                        raise ReadTimeoutError(endpoint_url=request.url) from None
            status, out_headers, data = answer
            response_headers = HTTPHeaders()
            for name, value in out_headers.items():
                response_headers[name] = value
            return AWSResponse(request.url, status, response_headers, _RawBody(data))

        return handler

    async def list_connections(self, request: web.Request) -> web.StreamResponse:
        """Local only (API Gateway has no such call): the live connection ids, for tests and
        debugging - signed like the rest of the management API (the ids are what it acts on)."""
        if (refused := self._foreign_host(request.headers.get("Host", ""))) is not None:
            return self._response(refused)
        raw_path, _, raw_query = request.raw_path.partition("?")
        headers = {k.lower(): v for k, v in request.headers.items()}
        if (unsigned := self._unsigned(request.method, raw_path, raw_query, headers, await request.read())) is not None:
            return self._response(unsigned)
        return web.json_response({"connections": sorted(self.connections)})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_FRAME * 2)
        app.router.add_get("/@connections", self.list_connections)
        for prefix in ("", f"/{self.stage}"):
            app.router.add_route("POST", prefix + "/@connections/{connection_id}", self.manage)
            app.router.add_route("GET", prefix + "/@connections/{connection_id}", self.manage)
            app.router.add_route("DELETE", prefix + "/@connections/{connection_id}", self.manage)
        app.router.add_get("/", self.handle_socket)
        app.router.add_get(f"/{self.stage}", self.handle_socket)
        return app

    async def settle(self, timeout: float) -> None:
        """Wait, at most ``timeout`` seconds, for the frames in hand to be answered - the refused
        ones with API Gateway's error - before the sockets close (the stop: the invoker has
        stopped taking invocations, so what waits for a container is refused at once)."""
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def close_all(self, timeout: float = 1.0) -> None:
        """Close every connection (1001), all at once; a client that does not answer the close
        within ``timeout`` seconds is dropped."""
        async def close(conn: _Connection) -> None:
            with contextlib.suppress(Exception):
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

        pending = [asyncio.ensure_future(close(conn)) for conn in list(self.connections.values())]
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
