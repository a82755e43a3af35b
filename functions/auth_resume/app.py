"""POST /auth/resume - a follow-up mail's single-use link signs its visitor back in (contract section 8)."""

from switchboard.auth import resume
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    body = request.parse()
    bundle = resume.resume(services(), tenant_id=body.tenant, token=body.token, origin=request.origin,
                           device=request.user_agent, ip=request.source_ip)
    return json_response(bundle.to_json())  # CORS headers: added by endpoint() for the tenant's origins


handler = endpoint(route)
