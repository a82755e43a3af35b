"""POST /auth/internal - sign an operator or admin in with email and password."""

from switchboard.auth import logins
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.edge.requests import InternalLogin
from switchboard.runtime import services


def route(request: Request) -> Response:
    body = request.parse(InternalLogin)
    bundle = logins.internal(services(), tenant_id=body.tenant, email=body.email, password=body.password,
                             device=request.user_agent, ip=request.source_ip)
    return json_response(bundle.to_json())


handler = endpoint(route)
