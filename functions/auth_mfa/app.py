"""POST /auth/mfa - exchange the mfa_token of a password sign-in and a TOTP code (or a recovery code) for tokens."""

from switchboard.auth import mfa
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    body = request.parse()
    bundle = mfa.exchange(services(), body.mfa_token, body.code, ip=request.source_ip, device=request.user_agent,
                          recovery_code=body.recovery_code)
    return json_response(bundle.to_json())


handler = endpoint(route)
