"""GET / PATCH /admin/tenant (the tenant's settings) and POST /admin/tenant/identity-secret,
/admin/tenant/hook-secret (rotation with an overlap)."""

from collections.abc import Callable

from switchboard.admin import tenant
from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.edge.requests import SecretRotation
from switchboard.runtime import services


def show(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(tenant.view(svc, caller))


def change(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()
    return json_response(tenant.change_settings(svc, caller, body.changes()))


def rotate(kind: str) -> Callable[[Request], Response]:
    def route(request: Request) -> Response:
        svc = services()
        caller = sessions.authenticate(svc, request.authorization)
        # the body is optional ({"grace_seconds"?}): none at all means the default grace
        body = request.parse() if request.body.strip() or request.query else SecretRotation()
        return json_response(tenant.rotate_secret(svc, caller, kind, grace_seconds=body.grace_seconds))
    return route


handler = endpoint(routes({
    "GET /admin/tenant": show,
    "PATCH /admin/tenant": change,
    "POST /admin/tenant/identity-secret": rotate("identity"),
    "POST /admin/tenant/hook-secret": rotate("hook"),
}))
