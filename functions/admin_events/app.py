"""GET /admin/events - the tenant's audit events, newest first, paginated."""

from pydantic import ValidationError
from switchboard import admin, sessions
from switchboard.errors import ValidationFailed
from switchboard.httpapi import Request, Response, endpoint, json_response
from switchboard.requests import EventsQuery
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    try:
        query = EventsQuery.model_validate(request.query)
    except ValidationError as exc:
        raise ValidationFailed("the query is not valid") from exc
    return json_response(admin.list_events(svc, caller, query))


handler = endpoint(route)
