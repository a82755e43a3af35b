"""POST /auth/oidc/complete - the one-time code from an SSO callback for our tokens."""

from switchboard.auth import oidc
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    body = request.parse()
    bundle = oidc.complete(services(), code=body.code, device=request.user_agent, ip=request.source_ip)
    return json_response(bundle.to_json())


handler = endpoint(route)
