"""/admin/operators (GET list, POST create or invite) and /admin/operators/{id} (PATCH, DELETE)."""

from switchboard import admin, sessions
from switchboard.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.runtime import services


def list_operators(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(admin.list_operators(svc, caller))


def create_operator(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    return json_response(admin.create_operator(svc, caller, request.parse()), status=201)


def change_operator(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()
    return json_response(admin.change_operator(svc, caller, request.path_params.get("id", ""), body))


def remove_operator(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(admin.remove_operator(svc, caller, request.path_params.get("id", "")))


handler = endpoint(routes({
    "GET /admin/operators": list_operators,
    "POST /admin/operators": create_operator,
    "PATCH /admin/operators/{id}": change_operator,
    "DELETE /admin/operators/{id}": remove_operator,
}))
