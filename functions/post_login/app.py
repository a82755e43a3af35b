"""PostLogin - the post-login hook as a function, for sign-ins Switchboard does not perform.

Direct invocation (IAM-authorised) with ``{"tenant", "user": {"user_id", ...}}`` returns
``{"chat_token", "claims"}``. The Cognito Pre Token Generation trigger and the signed
HTTPS hook for Auth0 Actions answer through this same function (issue #4).
"""

from typing import Any

from pydantic import ValidationError
from switchboard import sessions
from switchboard.errors import SwitchboardError
from switchboard.identity import chat_safe_id
from switchboard.observability import logger
from switchboard.policy import Role
from switchboard.postlogin import Principal
from switchboard.requests import PostLoginInvocation
from switchboard.runtime import services


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        body = PostLoginInvocation.model_validate(event)
    except ValidationError as exc:
        return {
            "error": {
                "code": "validation_error",
                "message": "the invocation payload is not valid",
                "errors": exc.errors(include_input=False, include_url=False, include_context=False),
            }
        }
    user = body.user
    principal = Principal(
        tenant=body.tenant,
        user_id=chat_safe_id(user.user_id),
        role=Role(user.role),
        anon=False,
        name=user.name or user.email or "User",
        method="federated",
        email=user.email,
    )
    try:
        grant = sessions.federated_sign_in(services(), principal)
    except SwitchboardError as err:
        return {"error": {"code": err.code, "message": err.detail}}
    return {"chat_token": grant.chat_token, "claims": grant.claims, "session_id": grant.session.id}
