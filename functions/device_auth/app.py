"""POST /auth/device, /auth/device/token and /auth/device/approve - device sign-in for the CLI (RFC 8628)."""

from switchboard.auth import device, sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.runtime import services


def start(request: Request) -> Response:
    body = request.parse()
    return json_response(device.start(services(), tenant=body.tenant, ip=request.source_ip))


def token(request: Request) -> Response:
    body = request.parse()
    bundle = device.poll(services(), device_code=body.device_code, device=request.user_agent, ip=request.source_ip)
    return json_response(bundle.to_json())


def approve(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()
    return json_response(device.approve(svc, caller, user_code=body.user_code, allow=body.action == "approve"))


handler = endpoint(routes({"POST /auth/device": start, "POST /auth/device/token": token,
                           "POST /auth/device/approve": approve}))
