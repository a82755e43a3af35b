"""POST /auth/refresh - rotate a refresh token; a rotated one presented again revokes the session."""

from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    body = request.parse()
    return json_response(sessions.refresh(services(), body.refresh_token, ip=request.source_ip).to_json())


handler = endpoint(route)
