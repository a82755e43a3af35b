"""GET /admin/events - the tenant's audit events, newest first, paginated."""

from switchboard import admin, sessions
from switchboard.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    return json_response(admin.list_events(svc, caller, request.parse_query()))


handler = endpoint(route)
