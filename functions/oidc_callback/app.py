"""GET /auth/oidc/{provider}/callback?code=&state= - the provider sends the browser back here:
verify, link, then 302 to return_to#code=<one-time code> (or #error=<code>)."""

from switchboard.auth import oidc
from switchboard.edge.httpapi import Request, Response, endpoint, redirect_response
from switchboard.edge.sso import binding_clear_cookie
from switchboard.runtime import services


def route(request: Request) -> Response:
    query = request.parse_query()
    location = oidc.callback(services(), provider_id=request.path_params.get("provider", ""), state=query.state,
                             code=query.code, error=query.error, iss=query.iss, cookies=request.cookies,
                             ip=request.source_ip)
    return redirect_response(location, cookies=binding_clear_cookie(query.state))


handler = endpoint(route)
