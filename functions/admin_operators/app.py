"""/admin/operators (GET list, POST create or invite) and /admin/operators/{id} (PATCH, DELETE)."""

from switchboard.admin import operators
from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.runtime import services


def list_operators(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(operators.list_operators(svc, caller))


def create_operator(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()
    return json_response(operators.create_operator(svc, caller, email=body.email, name=body.name, role=body.role,
                                                   password=body.password), status=201)


def change_operator(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()
    return json_response(operators.change_operator(svc, caller, request.path_params.get("id", ""), role=body.role,
                                                   name=body.name, blocked=body.blocked,
                                                   mfa_enabled=body.mfa_enabled, max_chats=body.max_chats))


def remove_operator(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(operators.remove_operator(svc, caller, request.path_params.get("id", "")))


handler = endpoint(routes({
    "GET /admin/operators": list_operators,
    "POST /admin/operators": create_operator,
    "PATCH /admin/operators/{id}": change_operator,
    "DELETE /admin/operators/{id}": remove_operator,
}))
