"""GET /auth/me - who the caller is, their session and their scopes now."""

from switchboard import sessions
from switchboard.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    caller = sessions.authenticate(services(), request.authorization)
    return json_response(sessions.describe(caller))


handler = endpoint(route)
