"""The PostLogin function's three doors, told apart by the event's shape:

* a Cognito user pool's **Pre Token Generation** trigger (``triggerSource``
  ``TokenGeneration_*``): the event comes back with the chat token and the claims added;
* the signed HTTPS hook **POST /hooks/post-login** an Auth0 Action calls (an HTTP API
  event): ``{"chat_token", "claims"}``;
* a **direct invocation** (IAM-authorised) with ``{"tenant", "user": {"user_id", ...}}``:
  ``{"chat_token", "claims", "session_id"}``, or ``{"error": {"code", "message"}}``.

What each door does is :mod:`switchboard.auth.hooks`'s; here the events are parsed and answered.
"""

from __future__ import annotations

from typing import Any

from switchboard.auth import hooks
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.edge.requests import PostLoginInvocation
from switchboard.edge.validation import convert, decode_json
from switchboard.errors import SwitchboardError, ValidationFailed
from switchboard.observability import logger, published
from switchboard.policy import Role
from switchboard.runtime import services

__all__ = ["handler"]


def federated_user(invocation: PostLoginInvocation) -> hooks.FederatedUser:
    """The request model as the domain's."""
    user = invocation.user
    return hooks.FederatedUser(tenant=invocation.tenant, user_id=user.user_id, role=Role(user.role),
                               email=user.email, name=user.name, email_verified=user.email_verified)


def _read_signed_body(raw: bytes) -> hooks.FederatedUser:
    return federated_user(decode_json(raw, PostLoginInvocation))


def auth0_hook(request: Request) -> Response:
    return json_response(hooks.signed_post_login(services(), body=request.json_body(), ip=request.source_ip,
                                                 signature=request.headers.get(hooks.SIGNATURE_HEADER),
                                                 read=_read_signed_body))


http_handler = endpoint(auth0_hook)


def direct(event: dict[str, Any]) -> dict[str, Any]:
    """A direct invocation: errors are answered in the payload (there is no HTTP status)."""
    try:
        body = convert(event, PostLoginInvocation)
    except ValidationFailed as exc:
        return {"error": {"code": "validation_error", "message": "the invocation payload is not valid",
                          "errors": exc.extra["errors"]}}
    try:
        return hooks.direct_sign_in(services(), federated_user(body))
    except SwitchboardError as err:
        return {"error": {"code": err.code, "message": err.detail}}


@logger.inject_lambda_context(clear_state=True)
def _trigger_or_direct(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if str(event.get("triggerSource", "")).startswith("TokenGeneration_"):
        # errors propagate: Cognito then refuses the sign-in, which is what a denial must do
        return hooks.cognito_trigger(services(), event)
    return direct(event)


@published  # a Cognito trigger's or a direct call's metrics too (the HTTP path's are written by endpoint)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The PostLogin function's entry point: an HTTP API event is the Auth0 hook."""
    if isinstance(event.get("requestContext"), dict) and "http" in event["requestContext"]:
        return http_handler(event, context)
    return _trigger_or_direct(event, context)
