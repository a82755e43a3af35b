"""POST /auth/internal - sign an operator or admin in with email and password."""

from switchboard import logins
from switchboard.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    bundle = logins.internal(services(), request.parse(), device=request.user_agent,
                             ip=request.source_ip)
    return json_response(bundle.to_json())


handler = endpoint(route)
