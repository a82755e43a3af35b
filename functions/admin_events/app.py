"""GET /admin/events - the tenant's audit events, newest first, paginated."""

from switchboard import admin, sessions
from switchboard.httpapi import Request, Response, endpoint, json_response
from switchboard.requests import EventsQuery
from switchboard.runtime import services
from switchboard.validation import convert


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    # query strings are text: strict=False reads "20" as 20 (and still refuses "x", "0", unknown names)
    query = convert(request.query, EventsQuery, strict=False, detail="the query is not valid")
    return json_response(admin.list_events(svc, caller, query))


handler = endpoint(route)
