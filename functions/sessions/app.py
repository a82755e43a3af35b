"""GET /auth/sessions - the caller's live sessions (device, method, created, last used)."""

from switchboard import sessions
from switchboard.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    return json_response({"sessions": sessions.list_sessions(svc, caller)})


handler = endpoint(route)
