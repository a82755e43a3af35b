"""The WebSocket edge: API Gateway WebSocket events in, replies and events out.

* :func:`authorizer` - the ``$connect`` REQUEST authorizer: chat token from ``?token=``,
  session live (and for an operator's session, the operator not removed, blocked or given
  another role since), Origin allowed (none: staff only, :func:`handshake_origin_allowed`).
  Raises ``Exception("Unauthorized")`` (API Gateway answers 401) or returns a Deny policy
  (403); nothing is stored for a refused handshake.
* :func:`connect` / :func:`disconnect` - record and forget connections. A connection lives
  until API Gateway closes it (2 hours at most): the chat token is checked at the handshake,
  and revocation reaches the connection afterwards
  (:class:`switchboard.chat.connections.LiveConnections`, which the domain calls).
* :func:`action_endpoint` - one handler for a set of actions (:data:`switchboard.edge.actions.ACTIONS`
  maps each to its params Struct and its domain call): validates the frame, loads
  the caller's connection (its scopes *now*), runs the action and returns the reply, which
  the route's route response sends back to the caller. An action with work to do after its
  reply (``message.send``'s fan-out) has its reply posted first through the management API
  and returns no body.
* :func:`default` - ``$default``: an ``unknown_action`` (or ``validation_error``) reply.

The event fields relied on (API Gateway's WebSocket proxy events):
``requestContext.connectionId`` (every route), ``requestContext.authorizer`` (``$connect``:
the authorizer's ``context`` - ``tid sub sid role lvl scope name``, values possibly
stringified - and ``principalId``), ``requestContext.connectedAt`` (``$connect``, epoch ms),
``requestContext.domainName`` and ``requestContext.stage`` (only when WS_MANAGEMENT_ENDPOINT
is not set), ``body`` and ``isBase64Encoded`` (messages); for the authorizer
``queryStringParameters.token``, ``headers`` (``Origin``, any case) and ``methodArn``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from switchboard.chat import actions as chat
from switchboard.chat import limits as chat_limits
from switchboard.chat.context import ChatContext
from switchboard.chat.realtime import MAX_MESSAGE_BYTES, FrameTooLarge, encode, reply_frame
from switchboard.edge.actions import ACTIONS
from switchboard.edge.validation import convert
from switchboard.errors import (
    Forbidden,
    InvalidToken,
    RateLimited,
    SessionRevoked,
    SwitchboardError,
    ValidationFailed,
)
from switchboard.models import Connection, SessionKey, Tenant
from switchboard.observability import logger, published
from switchboard.policy import STAFF_ROLES
from switchboard.runtime import Services, services

__all__ = ["action_endpoint", "authorizer", "chat_context", "connect", "default", "disconnect",
           "handshake_origin_allowed"]

WS_ERROR_CODES = frozenset({"validation_error", "forbidden", "not_found", "conflict", "rate_limited",
                            "unknown_action", "internal"})
RID_MAX = 64
#: what an error reply repeats of the client's frame is bounded, so a large frame cannot
#: make the server send more than the 32 KB frame API Gateway allows
MAX_ECHO = 64
MAX_ERRORS = 20


def _unknown(action: str | None) -> str:
    action = action or ""
    shown = action if len(action) <= MAX_ECHO else action[:MAX_ECHO] + "..."
    return f"unknown action {shown!r}"


def _endpoint(svc: Services, event: dict[str, Any] | None) -> str:
    if svc.settings.ws_endpoint:
        return svc.settings.ws_endpoint
    if event is None:
        raise RuntimeError("no WebSocket management endpoint configured")
    ctx = event.get("requestContext", {})
    return f"https://{ctx['domainName']}/{ctx['stage']}"


def chat_context(svc: Services, event: dict[str, Any] | None = None) -> ChatContext:
    """The chat context of the event's WebSocket API (the configured endpoint, else the
    event's own): one per endpoint per container (:meth:`Services.chat`)."""
    return svc.chat(_endpoint(svc, event))


# -- $connect authorizer ---------------------------------------------------------------------
def authorizer(event: dict[str, Any], svc: Services | None = None) -> dict[str, Any]:
    """Allow (with the caller's identity as context), Deny (403: Origin not allowed), or raise
    ``Exception("Unauthorized")`` (401: token missing, invalid, expired or revoked)."""
    svc = svc or services()
    token = (event.get("queryStringParameters") or {}).get("token")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        if not token:
            raise InvalidToken("missing token")
        claims = svc.tokens.verify_chat(token)
        session = svc.store.sessions.get(SessionKey(claims.tid, claims.sub, claims.sid))
        if session is None or not session.is_live(int(time.time())):
            raise SessionRevoked()
        if session.on_record and not session.stands_on(svc.store.staff.get(claims.tid, claims.sub)):
            raise SessionRevoked()  # staff: only while their record is as signed in
    except (InvalidToken, SessionRevoked) as err:
        logger.info("websocket connect refused", extra={"code": err.code})
        raise Exception("Unauthorized") from None  # API Gateway's documented way to answer 401
    arn = event.get("methodArn", "*")
    tenant = svc.tenants.find(claims.tid)
    if tenant is None or not handshake_origin_allowed(tenant, headers.get("origin"), role=claims.role):
        logger.info("websocket connect refused", extra={"code": "forbidden"})
        return _policy(claims.sub, "Deny", arn, {})
    scopes = claims.scopes & session.scopes
    # exp: the session's absolute end, past which the connection authorises nothing (see connect).
    # Not the idle limit: using the session (refreshing it) moves that one, and a connection's
    # record is not rewritten when it does
    return _policy(claims.sub, "Allow", arn, {
        "tid": claims.tid, "sub": claims.sub, "sid": claims.sid, "role": claims.role, "lvl": claims.lvl,
        "scope": " ".join(sorted(scopes)), "name": claims.name, "exp": session.expires_at})


def handshake_origin_allowed(tenant: Tenant, origin: str | None, *, role: str) -> bool:
    """Whether a WebSocket handshake's ``Origin`` lets this role in: one the tenant allows, or -
    for staff only - none at all.

    A browser always sends ``Origin`` on a WebSocket handshake, and a visitor's only client is
    the widget, in a browser: a visitor's handshake without one is a script holding a visitor's
    chat token (lifted from a page, a log, a shared link), and is refused. Staff may connect
    from server-side tools (a support bot, a monitoring script), which have no origin to send.
    The check is about browsers: a script can send any ``Origin`` it likes, so this does not
    stop a stolen token used with a forged header - what ends a stolen token is its 60-minute
    expiry and revoking its session. It removes the header-less path for the tokens that never
    need it, so a visitor's token is used the way the tenant allowed or not at all."""
    if origin is None:
        return role in STAFF_ROLES
    return tenant.allows_origin(origin)


def _policy(principal: str, effect: str, arn: str, context: dict[str, Any]) -> dict[str, Any]:
    return {"principalId": principal, "context": context,
            "policyDocument": {"Version": "2012-10-17",
                               "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}]}}


# -- $connect / $disconnect --------------------------------------------------------------------
def connect(event: dict[str, Any], svc: Services | None = None) -> dict[str, Any]:
    """Record the connection the authorizer let in (checking, atomically, that its session is
    still live: a revocation between the authorizer and here refuses the handshake, 401)."""
    svc = svc or services()
    rc = event["requestContext"]
    a = rc.get("authorizer") or {}
    now = int(time.time())
    try:
        # the record's lifetime counts from now: $connect runs as the handshake happens, and a
        # replayed sample event (switchboard invoke) must not arrive already expired
        connected_at = min(int(rc.get("connectedAt", now * 1000)) // 1000, now)
        # authorised until API Gateway's own limit, or until the session's absolute end if that
        # comes first: a connection never outlives its session (a session opened by a post-login
        # hook lasts only as long as its chat token, 60 minutes)
        expires_at = min(now + svc.settings.max_connection_seconds, int(a["exp"]))
        conn = Connection(id=rc["connectionId"], tenant=str(a["tid"]), user_id=str(a.get("sub") or a["principalId"]),
                          session_id=str(a["sid"]), role=str(a["role"]), lvl=int(a["lvl"]), name=str(a.get("name", "")),
                          scopes=frozenset(str(a.get("scope", "")).split()), connected_at=connected_at,
                          expires_at=expires_at)
    except (KeyError, TypeError, ValueError):
        logger.error("$connect without the authorizer's context: is the authorizer configured?")
        return {"statusCode": 403}
    # a soft cap (two handshakes at once may both pass), per user - not per session, which a
    # second sign-in would multiply: sockets opened by the hundred would otherwise multiply
    # every event of their channels by as many
    if svc.store.connections.count_of_user(conn.tenant, conn.user_id, now=now) >= svc.settings.max_connections_per_user:
        logger.info("websocket connect refused", extra={"code": "rate_limited"})
        return {"statusCode": 429}
    try:
        svc.store.connections.put(conn, operator=conn.role in STAFF_ROLES, now=now)
    except SessionRevoked:
        logger.info("websocket connect refused", extra={"code": "session_revoked"})
        return {"statusCode": 401}
    return {"statusCode": 200}


def disconnect(event: dict[str, Any], svc: Services | None = None) -> dict[str, Any]:
    svc = svc or services()
    chat.handle_disconnect(chat_context(svc, event), event["requestContext"]["connectionId"])
    return {"statusCode": 200}


# -- actions -------------------------------------------------------------------------------------
class _BadFrame(Exception):
    def __init__(self, rid: Any, message: str) -> None:
        super().__init__(message)
        self.rid, self.message = rid, message


def _frame(event: dict[str, Any]) -> tuple[str | None, str | None, dict[str, Any]]:
    """(rid, action, params) of a client frame ``{"action", "rid", ...params}``."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True).decode()
        except (binascii.Error, ValueError):
            raise _BadFrame(None, "frame is not UTF-8 text") from None
    if len(raw.encode()) > MAX_MESSAGE_BYTES:
        raise _BadFrame(None, "frame larger than 128 KB")
    try:
        # msgspec, not json: it refuses what json.loads lets through and nothing downstream
        # can store or send - lone UTF-16 surrogates ("\ud800"), NaN, Infinity
        frame = msgspec.json.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise _BadFrame(None, "frame is not valid JSON (UTF-8 text; no lone surrogates, NaN or Infinity)") from None
    except RecursionError:
        raise _BadFrame(None, "frame is nested too deeply") from None
    if not isinstance(frame, dict):
        raise _BadFrame(None, "frame must be a JSON object")
    rid = frame.pop("rid", None)
    if rid is not None and (not isinstance(rid, str) or len(rid) > RID_MAX):
        raise _BadFrame(None, f"rid must be a string of at most {RID_MAX} characters")
    action = frame.pop("action", None)
    if not isinstance(action, str):
        raise _BadFrame(rid, "frame needs an \"action\" string")
    return rid, action, frame


def _error(rid: Any, code: str, message: str, details: Any = None, *,
           retry_after: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    if retry_after is not None:  # rate_limited: seconds until the action is accepted again
        error["retry_after"] = retry_after
    return {"statusCode": 200, "body": json.dumps({"type": "reply", "rid": rid, "ok": False, "error": error},
                                                  separators=(",", ":"), ensure_ascii=False)}


def _error_for(rid: Any, err: SwitchboardError) -> dict[str, Any]:
    code = err.code if err.code in WS_ERROR_CODES else "internal"
    return _error(rid, code, err.detail if code != "internal" else "internal error",
                  retry_after=err.retry_after if isinstance(err, RateLimited) else None)


def _ok(rid: Any, data: dict[str, Any]) -> dict[str, Any]:
    try:
        body = encode(reply_frame(rid, data)).decode()
    except FrameTooLarge:
        logger.exception("reply too large")
        return _error(rid, "internal", "internal error")
    return {"statusCode": 200, "body": body}


def _caller(svc: Services, event: dict[str, Any]) -> Connection:
    conn = svc.store.connections.get(event["requestContext"]["connectionId"])
    if conn is None or not conn.is_live(int(time.time())):
        raise Forbidden("this connection is no longer authorised; reconnect")
    return conn


def _authorized_user(event: dict[str, Any]) -> tuple[str, str] | None:
    """(tenant, user id) of the connection, as API Gateway hands the authorizer's context to
    every event of it - known before the connection is read, so its action can be counted
    while it is. Only a key to count under: who acts is the connection record's to say."""
    a = event["requestContext"].get("authorizer") or {}
    tenant, user = a.get("tid"), a.get("sub") or a.get("principalId")
    return (tenant, user) if isinstance(tenant, str) and isinstance(user, str) and tenant and user else None


def _admitted(svc: Services, event: dict[str, Any], action: str) -> Connection:
    """The caller's connection, once this action is counted and found within its limits
    (chat_limits): every action of every function passes here before it does anything."""
    cid = event["requestContext"]["connectionId"]
    with chat_limits.counting(svc.store, action, cid, _authorized_user(event)) as count:
        conn = _caller(svc, event)
        count.enforce(conn, chat_limits.limits(svc.settings))
    return conn


def action_endpoint(names: Iterable[str]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A Lambda handler for the given actions (each function serves a least-privilege subset).
    Every action must have its rate limit (chat.limits.ACTION_KIND): one without is refused
    here, when the function starts, not left unlimited."""
    allowed = {n: ACTIONS[n] for n in names}
    unlimited = [n for n in allowed if n not in chat_limits.ACTION_KIND]
    if unlimited:
        raise RuntimeError(f"no rate limit for {', '.join(unlimited)} (chat.limits.ACTION_KIND)")

    @logger.inject_lambda_context(clear_state=True)
    @published  # the metrics the action recorded, one EMF line per invocation
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        rid: Any = None
        try:
            rid, action, params = _frame(event)
            if action not in allowed:
                return _error(rid, "unknown_action", _unknown(action))
            model, fn = allowed[action]
            try:
                parsed = convert(params, model)  # strict: no coercion ("10" is no number)
            except ValidationFailed as exc:
                errors = [{"loc": e["loc"][:MAX_ECHO], "msg": e["msg"]} for e in exc.extra["errors"][:MAX_ERRORS]]
                return _error(rid, "validation_error", "invalid parameters", errors)
            svc = services()
            ctx = chat_context(svc, event)
            conn = _admitted(svc, event, action)
            logger.append_keys(action=action, connection_id=conn.id)
            result = fn(ctx, conn, parsed)
        except _BadFrame as bad:
            return _error(bad.rid, "validation_error", bad.message)
        except SwitchboardError as err:
            logger.info("action refused", extra={"code": err.code})
            return _error_for(rid, err)
        except Exception:  # the contract's "internal" reply, not API Gateway's bare 500
            logger.exception("unhandled error in action")
            return _error(rid, "internal", "internal error")
        if result.then is None:
            return _ok(rid, result.data)
        # acknowledged (the work is durable), then the rest - the caller does not wait for it
        try:
            ctx.notifier.send([conn.id], reply_frame(rid, result.data))
        except FrameTooLarge:
            logger.exception("reply too large")
            return _error(rid, "internal", "internal error")
        try:
            result.then()
        except Exception:  # the caller has its reply; a failed fan-out is logged, not re-answered
            logger.exception("work after the reply failed")
        return {"statusCode": 200}

    return handler


def default(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """``$default``: frames naming no known action."""
    try:
        rid, action, _ = _frame(event)
    except _BadFrame as bad:
        return _error(bad.rid, "validation_error", bad.message)
    return _error(rid, "unknown_action", _unknown(action))
