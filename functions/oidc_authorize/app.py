"""GET /auth/oidc/{provider}/authorize?tenant=&return_to= - start an SSO sign-in: 302 to the
provider, with the cookie that binds the flow to this browser."""

from switchboard.auth import oidc
from switchboard.edge.httpapi import Request, Response, endpoint, redirect_response
from switchboard.edge.sso import binding_set_cookie, redirect_uri
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    query = request.parse_query()
    provider = request.path_params.get("provider", "")
    callback = redirect_uri(svc.settings, request, provider)
    started = oidc.authorize(svc, tenant_id=query.tenant, provider_id=provider, return_to=query.return_to,
                             redirect_uri=callback, ip=request.source_ip)
    return redirect_response(started.location, cookies=(binding_set_cookie(started, secure=callback.startswith(
        "https://")),))


handler = endpoint(route)
