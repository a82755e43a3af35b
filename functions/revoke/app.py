"""POST /auth/revoke - end a session, all of a user's sessions, or some scopes."""

from switchboard import sessions
from switchboard.httpapi import Request, Response, endpoint, json_response
from switchboard.requests import RevokeScopes, RevokeSession
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    body = request.parse()  # RevokeBody, a tagged union: the kind picks the Struct
    if isinstance(body, RevokeSession):
        revoked = sessions.revoke(svc, caller, kind="session", session_id=body.session_id)
    elif isinstance(body, RevokeScopes):
        revoked = sessions.revoke(svc, caller, kind="scopes", user_id=body.user_id, scopes=body.scope_set())
    else:
        revoked = sessions.revoke(svc, caller, kind="user", user_id=body.user_id)
    return json_response({"revoked": revoked})


handler = endpoint(route)
