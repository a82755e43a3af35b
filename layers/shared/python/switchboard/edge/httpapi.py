"""The HTTP edge: API Gateway HTTP API (payload 2.0) events in, JSON or problem+json out.

Every function behind the HTTP API is one route, so there is no router here - just the
adapter that turns an event into a :class:`Request`, a body into a validated msgspec Struct
(:mod:`switchboard.edge.validation`), and a :class:`~switchboard.errors.SwitchboardError` into its
RFC 9457 answer, once, for all.
(Powertools' resolver would do the same at ~50 ms more cold start per function and its
validation ~110 ms more - measured in bench/.)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

import msgspec

from switchboard.edge.validation import convert, decode_json
from switchboard.errors import InvalidCredentials, InvalidMfa, NotFound, SwitchboardError, ValidationFailed
from switchboard.observability import count, logger, published

__all__ = ["Request", "Response", "cors_headers", "endpoint", "json_response", "problem_response",
           "public_json_response", "redirect_response", "routes"]

PROBLEM_TYPE = "https://switchboard.dev/problems/"


class Request(msgspec.Struct, frozen=True):
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    path_params: dict[str, str]
    body: bytes
    source_ip: str
    max_body: int
    route_key: str = ""
    #: the request's cookies by name (payload 2.0's ``cookies`` list); only the SSO callback reads one
    cookies: dict[str, str] = msgspec.field(default_factory=dict)
    #: the domain name the request came to (API Gateway's ``requestContext.domainName``)
    domain: str = ""

    @classmethod
    def from_event(cls, event: dict[str, Any], *, max_body: int) -> Request:
        http = event.get("requestContext", {}).get("http", {})
        raw = event.get("body") or ""
        try:
            body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode()
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed("the body is not valid base64") from exc
        return cls(
            method=http.get("method", "GET"),
            path=event.get("rawPath", http.get("path", "/")),
            headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
            query=dict(event.get("queryStringParameters") or {}),
            path_params=dict(event.get("pathParameters") or {}),
            body=body,
            source_ip=http.get("sourceIp", ""),
            max_body=max_body,
            route_key=event.get("routeKey", ""),
            cookies=_cookies(event),
            domain=str(event.get("requestContext", {}).get("domainName") or ""),
        )

    @property
    def origin(self) -> str | None:
        return self.headers.get("origin")

    @property
    def user_agent(self) -> str | None:
        return self.headers.get("user-agent")

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    def parse(self) -> Any:
        """The body as this route's model (:data:`switchboard.edge.requests.BODIES`, the table the
        OpenAPI document is made from: a route cannot read a body its document does not
        describe); any problem with it is a 400 ``validation_error`` listing ``loc`` and
        ``msg``, never the rejected value. No route with a body takes query parameters: one
        sent is a 400 too, as an unknown field of the body is (it would otherwise be ignored;
        :meth:`json_body` checks)."""
        from switchboard.edge.requests import BODIES

        return decode_json(self.json_body(), BODIES[self.route_key])

    def parse_query(self) -> Any:
        """The query string as this route's model (:data:`switchboard.edge.requests.QUERIES`): text
        converted with ``strict=False``, so ``"20"`` is 20 and ``"x"``, ``"0"`` or an unknown
        name is a 400."""
        from switchboard.edge.requests import QUERIES

        return convert(self.query, QUERIES[self.route_key], strict=False, detail="the query is not valid")

    def nothing_else(self) -> None:
        """For a route that takes no body and no query: anything sent is a 400 (it would
        otherwise be ignored, and an ignored typo'd request still acts). ``{}`` passes, as
        clients often send it with a bodiless POST."""
        if self.query:
            raise ValidationFailed("this route takes no query parameters")
        if self.body.strip() and self.body.strip() != b"{}":
            raise ValidationFailed("this route takes no body (or {})")

    def json_body(self) -> bytes:
        """The raw body, for a route that must see its exact bytes (a signed one): 400 if it is
        empty or over the size limit, as :meth:`parse` would answer, or if a query came with it
        (no route with a body takes one; a signature covers the body, not the query)."""
        if self.query:
            raise ValidationFailed("this route takes no query parameters")
        if len(self.body) > self.max_body:
            raise ValidationFailed(f"the body is larger than {self.max_body} bytes")
        if not self.body.strip():
            raise ValidationFailed("a JSON body is required")
        return self.body


def _cookies(event: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in event.get("cookies") or []:
        name, sep, value = str(pair).partition("=")
        if sep:
            out.setdefault(name.strip(), value.strip())
    return out


class Response(msgspec.Struct, frozen=True):
    status: int
    body: Any
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    content_type: str = "application/json"
    #: ``Set-Cookie`` values (payload 2.0's ``cookies`` list)
    cookies: tuple[str, ...] = ()

    def to_event(self) -> dict[str, Any]:
        out = {
            "statusCode": self.status,
            "headers": {"Content-Type": self.content_type, "Cache-Control": "no-store", **self.headers},
            # a text answer (the reports' CSV) goes as it is; everything else is JSON (none: empty)
            "body": "" if self.body is None else self.body
            if isinstance(self.body, str) and self.content_type.startswith("text/")
            else json.dumps(self.body, separators=(",", ":")),
            "isBase64Encoded": False,
        }
        if self.cookies:
            out["cookies"] = list(self.cookies)
        return out


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=body, headers=headers or {})


def redirect_response(location: str, *, cookies: tuple[str, ...] = ()) -> Response:
    """A 302 to ``location`` (the SSO flow's hops), never cached, no body, no referrer sent on."""
    return Response(status=302, body=None, headers={"Location": location, "Referrer-Policy": "no-referrer"},
                    cookies=cookies)


def public_json_response(body: Any, *, max_age: int) -> Response:
    """A public document (the JWKS): any page may read it and any cache may keep it for
    ``max_age`` seconds. ``Access-Control-Allow-Origin: *`` and no credentials: it is the same
    for everyone and secret to no one, so it neither varies by Origin nor goes through the
    per-tenant CORS answer (:func:`cors_headers`), which would refuse a page no tenant lists -
    another service verifying our tokens in its own pages, say."""
    return Response(status=200, body=body, headers={"Cache-Control": f"public, max-age={max_age}",
                                                    "Access-Control-Allow-Origin": "*"})


def problem_response(err: SwitchboardError) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + err.code,
        "title": err.title,
        "status": err.status,
        "detail": err.detail,
        "code": err.code,
    }
    body.update(err.extra)
    return Response(status=err.status, body=body, headers=err.headers(), content_type="application/problem+json")


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def routes(table: dict[str, Callable[[Request], Response]]) -> Callable[[Request], Response]:
    """One function for a few routes of the same resource: pick by the event's route key
    (``"POST /auth/totp/enroll"``), as API Gateway names it."""

    def route(request: Request) -> Response:
        fn = table.get(request.route_key)
        if fn is None:
            raise NotFound("no such route")
        return fn(request)

    return route


def endpoint(fn: Callable[[Request], Response], *, max_body: int | None = None) -> Handler:
    """Wrap a route function as a Lambda handler: build the request, map errors once."""
    from switchboard.settings import get_settings

    limit = max_body or get_settings().max_body_bytes

    @logger.inject_lambda_context(clear_state=True)
    @published  # the metrics the route recorded, one EMF line per invocation
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request: Request | None = None
        try:
            request = Request.from_event(event, max_body=limit)
            response = fn(request)
        except SwitchboardError as err:
            level = logger.error if err.status >= 500 else logger.info
            level("request refused", extra={"code": err.code, "status": err.status, "route": event.get("routeKey")})
            if isinstance(err, (InvalidCredentials, InvalidMfa)):  # every route checking a password or a code
                count("FailedSignIns")
            response = problem_response(err)
        except Exception:
            # The one catch-all, at the edge: a bug answers a generic 500, details go to the log only.
            logger.exception("unhandled error", extra={"route": event.get("routeKey")})
            response = problem_response(SwitchboardError())
        out = response.to_event()
        # a public answer (public_json_response) keeps its "*": the per-tenant answer is for the rest
        if request is not None and request.origin and "Access-Control-Allow-Origin" not in out["headers"]:
            out["headers"].update(cors_headers(request))
        return out

    handler.__wrapped__ = fn  # type: ignore[attr-defined]
    return handler


# -- CORS ------------------------------------------------------------------------------------------
EXPOSED_HEADERS = "Retry-After, RateLimit, RateLimit-Policy, WWW-Authenticate"


def _tenant_hint(request: Request) -> str | None:
    """The tenant a browser request is about, for the CORS answer only (never for access):
    the path's ``{tenant}``, ``GET /auth/providers``' query ``tenant``, the bearer token's ``tid`` once its
    signature is checked (expired or not: see :meth:`TokenService.signed_tenant`), the body's
    ``tenant``, or the tenant named inside a refresh, MFA or invitation token or an SSO
    one-time code (those are what the request says it is about, like a sign-in's ``tenant``:
    the route's own input, checked by the route).

    A bearer token is never read unverified: edited to name another tenant, it would pick
    that tenant's allowed origins for its 401 (issue 21)."""
    if request.path_params.get("tenant"):
        return request.path_params["tenant"]
    if request.route_key == "GET /auth/providers" and request.query.get("tenant"):
        return request.query["tenant"]  # that route's own input, as a sign-in body's (no other route's query)
    auth = request.authorization
    if auth and auth[:7].lower() == "bearer ":
        from switchboard.runtime import services

        try:
            return services().tokens.signed_tenant(auth[7:].strip())
        except SwitchboardError:  # no key set to verify with: no tenant, no CORS header
            return None
    if not request.body or len(request.body) > request.max_body:
        return None
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):  # malformed, or nested deeper than the parser goes
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("tenant"), str):
        return str(body["tenant"])
    # code: an SSO one-time code; token: a password reset link's
    for name in ("refresh_token", "mfa_token", "invite_token", "code", "token"):
        token = body.get(name)
        if isinstance(token, str):
            from switchboard.tokens.opaque import tenant_of

            return tenant_of(token)
    return None


def cors_headers(request: Request) -> dict[str, str]:
    """``Access-Control-Allow-Origin`` for a browser Origin that the request's tenant allows.

    CORS here only decides whether a page may *read* an answer; it is not what protects
    the API (bearer tokens are never sent by a browser on its own, and sign-ins check the
    Origin themselves). Answers to origins no tenant of the request allows carry no CORS
    header, so the browser withholds them from the page.
    """
    origin = request.origin
    tenant_id = _tenant_hint(request)
    if not origin or not tenant_id:
        return {"Vary": "Origin"}
    from switchboard.runtime import services

    try:
        tenant = services().tenants.find(tenant_id)
    except SwitchboardError:
        return {"Vary": "Origin"}
    if tenant is None or origin.rstrip("/") not in tenant.allowed_origins:
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED_HEADERS,
            "Vary": "Origin"}


def preflight(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """``OPTIONS`` for every path: lets a browser send its request. A preflight names no
    tenant, so it is answered for any Origin; whether the page may read the answer is
    decided per tenant on the real response (:func:`cors_headers`)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    origin = headers.get("origin")
    out: dict[str, str] = {"Vary": "Origin"}
    if origin:
        out.update({
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE",
            "Access-Control-Allow-Headers": "authorization, content-type",
            "Access-Control-Max-Age": "600",
        })
    return {"statusCode": 204, "headers": out, "body": ""}
