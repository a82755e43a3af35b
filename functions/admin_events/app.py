"""GET /admin/events - the tenant's audit events, newest first, paginated."""

from switchboard.admin import operators
from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.edge.requests import EventsQuery
from switchboard.edge.validation import convert
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    # query strings are text: strict=False reads "20" as 20 (and still refuses "x", "0", unknown names)
    query = convert(request.query, EventsQuery, strict=False, detail="the query is not valid")
    return json_response(operators.list_events(svc, caller, limit=query.limit, cursor=query.cursor))


handler = endpoint(route)
