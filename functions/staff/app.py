"""GET /staff - the tenant's active operators and admins, by name, with status, max_chats and open_chats
(team channels, and the transfer picker: who is online with room)."""

from switchboard.admin import operators
from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(operators.list_staff(svc, caller))


handler = endpoint(route)
