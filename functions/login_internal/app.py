"""POST /auth/internal - sign an operator or admin in with email and password."""

from switchboard.auth import logins
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    body = request.parse()
    bundle = logins.internal(services(), tenant_id=body.tenant, email=body.email, password=body.password,
                             device_token=body.device_token,
                             device=request.user_agent, ip=request.source_ip)
    return json_response(bundle.to_json())


handler = endpoint(route)
