"""POST /auth/password/forgot (mail a reset link; 202 whatever the email) and POST /auth/password/reset."""

from switchboard.auth import recovery
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.runtime import services


def forgot(request: Request) -> Response:
    body = request.parse()
    recovery.forgot(services(), tenant_id=body.tenant, email=body.email, ip=request.source_ip)
    return json_response({"accepted": True}, status=202)


def reset(request: Request) -> Response:
    body = request.parse()
    return json_response(recovery.reset(services(), token=body.token, password=body.password, ip=request.source_ip))


handler = endpoint(routes({"POST /auth/password/forgot": forgot, "POST /auth/password/reset": reset}))
