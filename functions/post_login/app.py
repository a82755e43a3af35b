"""PostLogin - the post-login hook as a function, for sign-ins Switchboard does not perform.

One function, three doors (told apart by the event's shape):

* a Cognito user pool's **Pre Token Generation** trigger (``triggerSource``
  ``TokenGeneration_*``): the event comes back with the chat token and the claims added;
* the signed HTTPS hook **POST /hooks/post-login** an Auth0 Action calls (an HTTP API
  event): ``{"chat_token", "claims"}``;
* a **direct invocation** (IAM-authorised) with ``{"tenant", "user": {"user_id", ...}}``:
  ``{"chat_token", "claims", "session_id"}``.
"""

from typing import Any

from switchboard.auth import hooks, sessions
from switchboard.auth.identity import chat_safe_id
from switchboard.auth.postlogin import Principal
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.edge.requests import PostLoginInvocation
from switchboard.edge.validation import convert
from switchboard.errors import SwitchboardError, ValidationFailed
from switchboard.observability import logger
from switchboard.policy import Role
from switchboard.runtime import services


def auth0_hook(request: Request) -> Response:
    return json_response(hooks.signed_post_login(services(), body=request.json_body(), ip=request.source_ip,
                                                 signature=request.headers.get(hooks.SIGNATURE_HEADER)))


http_handler = endpoint(auth0_hook)


def direct(event: dict[str, Any]) -> dict[str, Any]:
    try:
        body = convert(event, PostLoginInvocation)
    except ValidationFailed as exc:
        return {"error": {"code": "validation_error", "message": "the invocation payload is not valid",
                          "errors": exc.extra["errors"]}}
    user = body.user
    principal = Principal(tenant=body.tenant, user_id=chat_safe_id(user.user_id), role=Role(user.role), anon=False,
                          name=user.name or user.email or "User", method="federated", email=user.email)
    try:
        grant = sessions.federated_sign_in(services(), principal)
    except SwitchboardError as err:
        return {"error": {"code": err.code, "message": err.detail}}
    return {"chat_token": grant.chat_token, "claims": grant.claims, "session_id": grant.session.id}


@logger.inject_lambda_context(clear_state=True)
def _trigger_or_direct(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if str(event.get("triggerSource", "")).startswith("TokenGeneration_"):
        # errors propagate: Cognito then refuses the sign-in, which is what a denial must do
        return hooks.cognito_trigger(services(), event)
    return direct(event)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event.get("requestContext"), dict) and "http" in event["requestContext"]:
        return http_handler(event, context)
    return _trigger_or_direct(event, context)
