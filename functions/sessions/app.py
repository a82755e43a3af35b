"""GET /auth/sessions - the caller's live sessions (device, method, created, last used);
``?user_id=`` another user's, for an admin with ``admin:sessions``."""

from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    query = request.parse_query()  # SessionsQuery: user_id, a user id, is all it takes
    return json_response({"sessions": sessions.list_sessions(svc, caller, user_id=query.user_id)})


handler = endpoint(route)
