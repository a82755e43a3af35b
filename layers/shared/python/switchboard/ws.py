"""The WebSocket edge: API Gateway WebSocket events in, replies and events out.

* :func:`authorizer` - the ``$connect`` REQUEST authorizer: chat token from ``?token=``,
  session live, Origin allowed. Raises ``Unauthorized`` (API Gateway answers 401) or
  returns a Deny policy (403); nothing is stored for a refused handshake.
* :func:`connect` / :func:`disconnect` - record and forget connections.
* :func:`action_endpoint` - one handler for a set of actions: validates the frame, loads
  the caller's connection (its scopes *now*), runs the action, returns the reply, which
  the route's route response sends back to the caller.
* :func:`default` - ``$default``: an ``unknown_action`` reply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from switchboard import chat
from switchboard.chat import ChatContext
from switchboard.errors import Forbidden, InvalidToken, NotFound, SessionRevoked, SwitchboardError
from switchboard.models import Connection, SessionKey
from switchboard.observability import logger
from switchboard.realtime import Realtime
from switchboard.runtime import Services, services

__all__ = ["action_endpoint", "authorizer", "chat_context", "connect", "default", "disconnect", "revoke_connections"]

WS_ERROR_CODES = {"validation_error", "forbidden", "not_found", "conflict", "rate_limited", "unknown_action", "internal"}
MAX_FRAME = 128 * 1024


def _endpoint(svc: Services, event: dict[str, Any] | None) -> str:
    if svc.settings.ws_endpoint:
        return svc.settings.ws_endpoint
    if event is None:
        raise RuntimeError("no WebSocket management endpoint configured")
    ctx = event.get("requestContext", {})
    return f"https://{ctx['domainName']}/{ctx['stage']}"


_contexts: dict[str, ChatContext] = {}


def chat_context(svc: Services, event: dict[str, Any] | None = None) -> ChatContext:
    """One ChatContext (and management API client) per endpoint per container."""
    endpoint = _endpoint(svc, event)
    ctx = _contexts.get(endpoint)
    if ctx is None:
        holder: dict[str, ChatContext] = {}
        notifier = Realtime(endpoint, svc.store, on_gone=lambda cid: chat.handle_disconnect(holder["ctx"], cid))
        ctx = ChatContext(store=svc.store, notifier=notifier, archive_bucket=svc.settings.archive_bucket or None,
                          attachments_bucket=svc.settings.attachments_bucket or None)
        holder["ctx"] = ctx
        _contexts[endpoint] = ctx
    return ctx


# -- $connect authorizer ---------------------------------------------------------------------
def authorizer(event: dict[str, Any], svc: Services | None = None) -> dict[str, Any]:
    svc = svc or services()
    token = (event.get("queryStringParameters") or {}).get("token")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        if not token:
            raise InvalidToken("missing token")
        claims = svc.tokens.verify_chat(token)
        session = svc.store.get_session(SessionKey(claims.tid, claims.sub, claims.sid))
        if session is None or not session.is_live(int(time.time())):
            raise SessionRevoked()
        tenant = svc.tenants.find(claims.tid)
    except (InvalidToken, SessionRevoked) as err:
        logger.info("websocket connect refused", extra={"code": err.code})
        raise Exception("Unauthorized") from None  # noqa: TRY002 - API Gateway's documented way to answer 401
    arn = event.get("methodArn", "*")
    if tenant is None or not tenant.allows_origin(headers.get("origin")):
        logger.info("websocket connect refused", extra={"code": "forbidden"})
        return _policy(claims.sub, "Deny", arn, {})
    scopes = claims.scopes & session.scopes
    return _policy(claims.sub, "Allow", arn, {
        "tid": claims.tid, "sub": claims.sub, "sid": claims.sid, "role": claims.role, "lvl": claims.lvl,
        "scope": " ".join(sorted(scopes)), "name": claims.name, "exp": claims.exp})


def _policy(principal: str, effect: str, arn: str, context: dict[str, Any]) -> dict[str, Any]:
    return {"principalId": principal, "context": context,
            "policyDocument": {"Version": "2012-10-17",
                               "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}]}}


# -- $connect / $disconnect --------------------------------------------------------------------
def connect(event: dict[str, Any], svc: Services | None = None) -> dict[str, Any]:
    svc = svc or services()
    rc = event["requestContext"]
    a = rc.get("authorizer") or {}
    now = int(time.time())
    conn = Connection(id=rc["connectionId"], tenant=a["tid"], user_id=a.get("sub") or a["principalId"],
                      session_id=a["sid"], role=a["role"], lvl=int(a["lvl"]), name=a.get("name", ""),
                      scopes=frozenset(str(a.get("scope", "")).split()), connected_at=now,
                      expires_at=min(int(a["exp"]), now + svc.settings.max_connection_seconds))
    svc.store.put_connection(conn, operator=conn.role in ("operator", "admin"))
    return {"statusCode": 200}


def disconnect(event: dict[str, Any], svc: Services | None = None) -> dict[str, Any]:
    svc = svc or services()
    chat.handle_disconnect(chat_context(svc, event), event["requestContext"]["connectionId"])
    return {"statusCode": 200}


# -- actions -------------------------------------------------------------------------------------
def _reply(rid: Any, data: dict[str, Any] | None = None, error: SwitchboardError | None = None,
           code: str | None = None, message: str | None = None, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any]
    if error is not None or code is not None:
        c = code or (error.code if error and error.code in WS_ERROR_CODES else
                     "forbidden" if isinstance(error, InvalidToken | SessionRevoked) else "internal")
        body = {"type": "reply", "rid": rid, "ok": False,
                "error": {"code": c, "message": message or (error.detail if error else c)}}
        if details is None and error is not None:
            details = error.extra.get("errors")
        if details is not None:
            body["error"]["details"] = details
    else:
        body = {"type": "reply", "rid": rid, "ok": True, "data": data or {}}
    return {"statusCode": 200, "body": json.dumps(body, separators=(",", ":"))}


def _frame(event: dict[str, Any]) -> tuple[Any, str | None, dict[str, Any]]:
    raw = event.get("body") or ""
    if len(raw.encode()) > MAX_FRAME:
        raise _BadFrame(None, "frame larger than 128 KB")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise _BadFrame(None, "frame is not JSON") from None
    if not isinstance(frame, dict):
        raise _BadFrame(None, "frame must be a JSON object")
    rid = frame.pop("rid", None)
    if rid is not None and (not isinstance(rid, str) or len(rid) > 64):
        raise _BadFrame(None, "rid must be a string of at most 64 characters")
    action = frame.pop("action", None)
    return rid, action if isinstance(action, str) else None, frame


class _BadFrame(Exception):
    def __init__(self, rid: Any, message: str) -> None:
        super().__init__(message)
        self.rid, self.message = rid, message


def action_endpoint(names: Iterable[str]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A Lambda handler for the given actions (each function serves a least-privilege subset)."""
    allowed = {n: chat.ACTIONS[n] for n in names}

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        rid: Any = None
        try:
            rid, action, params = _frame(event)
            if action not in allowed:
                return _reply(rid, code="unknown_action", message=f"unknown action {action!r}")
            model, fn = allowed[action]
            svc = services()
            ctx = chat_context(svc, event)
            conn = svc.store.get_connection(event["requestContext"]["connectionId"])
            if conn is None:
                raise Forbidden("this connection is no longer authorised")
            try:
                parsed = model.model_validate(params)
            except ValidationError as exc:
                errors = [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
                          for e in exc.errors(include_input=False, include_url=False, include_context=False)]
                return _reply(rid, code="validation_error", message="invalid parameters", details=errors)
            return _reply(rid, fn(ctx, conn, parsed))
        except _BadFrame as bad:
            return _reply(bad.rid, code="validation_error", message=bad.message)
        except SwitchboardError as err:
            logger.info("action refused", extra={"code": err.code})
            return _reply(rid, error=err)
        except Exception:
            logger.exception("unhandled error in action")
            return _reply(rid, code="internal", message="internal error")

    return handler


def default(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    try:
        rid, action, _ = _frame(event)
    except _BadFrame as bad:
        return _reply(bad.rid, code="validation_error", message=bad.message)
    return _reply(rid, code="unknown_action", message=f"unknown action {action!r}")


# -- revocation reaching sockets -------------------------------------------------------------------
def revoke_connections(svc: Services, *, tenant: str, user_id: str, session_ids: set[str] | None,
                       scopes: frozenset[str] | None) -> int:
    """Called by revocation after the sessions are revoked in storage.

    Session or user revocation: each affected connection gets ``auth.revoked`` and is then
    closed through the management API and forgotten. Scope revocation: the connection
    records lose the scopes (checked on every action) and get ``auth.revoked``.
    """
    if not svc.settings.ws_endpoint:
        return 0
    ctx = chat_context(svc)
    connections = svc.store.list_user_connections(tenant, user_id)
    affected = [cid for cid, sid in connections if session_ids is None or sid in session_ids]
    if not affected:
        return 0
    if scopes is not None:
        svc.store.remove_connection_scopes(affected, scopes)
        ctx.notifier.send(affected, {"type": "event", "event": "auth.revoked",
                                     "data": {"kind": "scopes", "scopes": sorted(scopes)}})
        return len(affected)
    kind = "session" if session_ids is not None else "user"
    ctx.notifier.send(affected, {"type": "event", "event": "auth.revoked", "data": {"kind": kind}})
    for cid in affected:
        try:
            ctx.notifier.disconnect(cid)
        except NotFound:
            pass
    return len(affected)
