"""The HTTP API of the local stack: API Gateway HTTP API (payload format 2.0) in front of
the template's functions.

Routes come from the functions' ``HttpApi`` events in ``template.yaml``. Like API Gateway,
an unknown route is 404 ``{"message":"Not Found"}``, a crashing handler is 500
``{"message":"Internal Server Error"}``, and a body over 10 MB is 413. ``GET /openapi.json``
(local only: API Gateway has no such route) serves the API's OpenAPI document, made from the
same template at start (:mod:`switchboard_local.openapi`).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from switchboard_local.invoker import InvocationError, InvocationRefused, Invoker
from switchboard_local.lambda_runtime import http_event
from switchboard_local.template import Template

__all__ = ["build_http_app"]

MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True)
class _Route:
    method: str
    path: str
    pattern: re.Pattern[str]
    function_id: str


def _compile(path: str) -> re.Pattern[str]:
    out = ""
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{") and piece.endswith("+}"):
            out += f"(?P<{piece[1:-2]}>.+)"
        elif piece.startswith("{"):
            out += f"(?P<{piece[1:-1]}>[^/]+)"
        else:
            out += re.escape(piece)
    return re.compile(f"^{out}$")


def _routes(template: Template) -> list[_Route]:
    routes = [_Route(r.method, r.path, _compile(r.path), r.function_id) for r in template.http_routes()]
    # static paths win over parameterised ones, as in API Gateway
    return sorted(routes, key=lambda r: (r.path.count("{"), -len(r.path)))


def _match(routes: list[_Route], method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
    for route in routes:
        if route.method not in (method, "ANY"):
            continue
        m = route.pattern.match(path)
        if m:
            return route, m.groupdict()
    return None


def _response(result: Any) -> web.Response:
    """Payload 2.0 response mapping (a dict with statusCode, or anything else as a JSON 200)."""
    import json

    if not isinstance(result, dict) or "statusCode" not in result:
        return web.Response(status=200, text=json.dumps(result), content_type="application/json")
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = web.Response(status=int(result["statusCode"]), body=raw)
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def build_http_app(template: Template, invoker: Invoker) -> web.Application:
    from switchboard_local.openapi import OPENAPI_PATH, render

    routes = _routes(template)
    openapi = render(template).encode()

    async def dispatch(request: web.Request) -> web.StreamResponse:
        if request.path == OPENAPI_PATH and request.method in ("GET", "HEAD"):
            return web.Response(body=openapi, content_type="application/json", charset="utf-8")
        found = _match(routes, request.method, request.path)
        if found is None:
            return web.json_response({"message": "Not Found"}, status=404)
        route, params = found
        if (request.content_length or 0) > MAX_BODY:
            return web.json_response({"message": "Request Entity Too Large"}, status=413)
        raw = await request.read()
        if len(raw) > MAX_BODY:
            return web.json_response({"message": "Request Entity Too Large"}, status=413)
        headers = {k.lower(): v for k, v in request.headers.items()}
        peer = request.transport.get_extra_info("peername") if request.transport else None
        event = http_event(request.method, request.path, route_path=route.path, headers=headers,
                           query=dict(request.query) or None, path_params=params or None,
                           source_ip=peer[0] if peer else "127.0.0.1", raw_body=raw if raw else None)
        event["rawQueryString"] = request.query_string
        try:
            result = await invoker.ainvoke(route.function_id, event)
        except InvocationRefused:  # the stack is stopping: this request was not run at all
            return web.json_response({"message": "Service Unavailable"}, status=503)
        except InvocationError as exc:
            request.app.logger.error("%s", exc)
            return web.json_response({"message": "Internal Server Error"}, status=500)
        return _response(result)

    app = web.Application(client_max_size=MAX_BODY + 1)
    # every path, a decoded newline in it too (".*" alone stops at one, and aiohttp would answer its own
    # text/plain 404 where API Gateway routes the request)
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch)
    return app
