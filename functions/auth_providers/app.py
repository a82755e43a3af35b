"""GET /auth/providers?tenant= - how a tenant's staff may sign in (password, SSO providers)."""

from switchboard.auth import oidc
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    query = request.parse_query()
    return json_response(oidc.providers(services(), query.tenant))


handler = endpoint(route)
