"""GET /admin/visitors/{id}/export and DELETE /admin/visitors/{id}: privacy requests about one
visitor (switchboard.admin.visitors)."""

from switchboard.admin import visitors
from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.runtime import services


def export(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(visitors.export(svc, caller, request.path_params.get("id", "")))


def erase(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(visitors.erase(svc, caller, request.path_params.get("id", "")))


handler = endpoint(routes({
    "GET /admin/visitors/{id}/export": export,
    "DELETE /admin/visitors/{id}": erase,
}))
