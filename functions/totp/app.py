"""POST /auth/totp/enroll, /auth/totp/confirm, /auth/totp/disable - an operator's second factor."""

from switchboard.auth import mfa, sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.runtime import services


def enroll(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(mfa.enroll(svc, caller))


def confirm(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    return json_response(mfa.confirm(svc, caller, request.parse().code, ip=request.source_ip))


def disable(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    return json_response(mfa.disable(svc, caller, request.parse().code, ip=request.source_ip))


handler = endpoint(routes({"POST /auth/totp/enroll": enroll, "POST /auth/totp/confirm": confirm,
                           "POST /auth/totp/disable": disable}))
