"""GET /canned (staff) and /admin/canned, /admin/canned/{id} (admins): the tenant's canned replies."""

from switchboard.admin import canned
from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.runtime import services


def list_canned(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(canned.list_for_staff(svc, caller))


def create_canned(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()
    return json_response(canned.create(svc, caller, title=body.title, text=body.text, shortcut=body.shortcut),
                         status=201)


def change_canned(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()
    return json_response(canned.change(svc, caller, request.path_params.get("id", ""), title=body.title,
                                       text=body.text, shortcut=body.shortcut))


def remove_canned(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(canned.remove(svc, caller, request.path_params.get("id", "")))


handler = endpoint(routes({
    "GET /canned": list_canned,
    "POST /admin/canned": create_canned,
    "PATCH /admin/canned/{id}": change_canned,
    "DELETE /admin/canned/{id}": remove_canned,
}))
