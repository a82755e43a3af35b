"""GET /tenants/{tenant}/widget - the chat widget's public settings (theme, greeting, attachments)."""

from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    tenant = services().tenants.get(request.path_params.get("tenant", ""))
    return json_response(tenant.widget_settings(), headers={"Cache-Control": "public, max-age=60"})


handler = endpoint(route)
