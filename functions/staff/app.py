"""GET /staff - the tenant's active operators and admins, by name (for team channels)."""

from switchboard import admin, sessions
from switchboard.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(admin.list_staff(svc, caller))


handler = endpoint(route)
