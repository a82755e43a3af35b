"""POST /auth/password (change one's password) and POST /auth/invite (accept an invitation)."""

from switchboard.auth import accounts, sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.runtime import services


def change_password(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()
    return json_response(accounts.change_password(svc, caller, body.current_password, body.new_password,
                                                  ip=request.source_ip))


def accept_invitation(request: Request) -> Response:
    body = request.parse()
    bundle = accounts.accept_invitation(services(), body.invite_token, body.password, device=request.user_agent,
                                        ip=request.source_ip)
    return json_response(bundle.to_json())


handler = endpoint(routes({"POST /auth/password": change_password, "POST /auth/invite": accept_invitation}))
