"""POST /auth/revoke - end a session, all of a user's sessions, or some scopes."""

from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()  # RevokeBody, a tagged union: the kind picks the Struct
    return json_response({"revoked": sessions.revoke(svc, caller, **body.revocation())})


handler = endpoint(route)
