"""GET /admin/events - the tenant's audit events, newest first, paginated."""

from switchboard.admin import operators
from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    query = request.parse_query()  # EventsQuery: limit, cursor
    return json_response(operators.list_events(svc, caller, limit=query.limit, cursor=query.cursor))


handler = endpoint(route)
