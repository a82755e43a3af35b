"""GET /auth/sessions - the caller's live sessions (device, method, created, last used);
``?user_id=`` another user's, for an admin with ``admin:sessions``."""

import re

from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.errors import ValidationFailed
from switchboard.runtime import services

USER_ID = re.compile(r"^[a-z0-9@_-]{1,128}\Z")  # \Z: "$" would let "a\n" through


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    unknown = set(request.query) - {"user_id"}
    user_id = request.query.get("user_id")
    if unknown or (user_id is not None and not USER_ID.match(user_id)):
        raise ValidationFailed("the only query parameter is user_id, a user id")
    return json_response({"sessions": sessions.list_sessions(svc, caller, user_id=user_id)})


handler = endpoint(route)
