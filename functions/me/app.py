"""GET /auth/me - who the caller is, their session and their scopes now."""

from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(sessions.who_am_i(svc, caller))


handler = endpoint(route)
