"""POST /auth/exchange - a website's own JWT (a trusted issuer's) for a level-1 visitor session."""

from switchboard.auth import exchange
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    body = request.parse()
    bundle = exchange.exchange(services(), tenant_id=body.tenant, subject_token=body.subject_token,
                               origin=request.origin, device=request.user_agent, ip=request.source_ip,
                               upgrading=request.authorization,
                               attributes=dict(body.user.attributes) if body.user else None)
    return json_response(bundle.to_json())  # CORS headers: added by endpoint() for the tenant's origins


handler = endpoint(route)
