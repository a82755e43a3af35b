"""POST /auth/external - sign a website visitor in (anonymous or vouched for by HMAC)."""

from switchboard.auth import visitors
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    body = request.parse()
    bundle = visitors.external(services(), tenant_id=body.tenant, visitor=body.claimed_visitor(),
                               origin=request.origin, device=request.user_agent, ip=request.source_ip,
                               upgrading=request.authorization if body.user else None)
    return json_response(bundle.to_json())  # CORS headers: added by endpoint() for the tenant's origins


handler = endpoint(route)
