"""GET /tenants/{tenant}/widget - the chat widget's public settings (theme, greeting, attachments,
and the support day's: who is online, hours, away message, pre-chat form, email when offline)."""

from switchboard.chat import visitors
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.ids import now_ms
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    tenant = svc.tenants.get(request.path_params.get("tenant", ""))
    # a short cache: "online" changes as operators come and go
    return json_response(visitors.widget_settings(svc.store, tenant, now_ms=now_ms()),
                         headers={"Cache-Control": "public, max-age=15"})


handler = endpoint(route)
