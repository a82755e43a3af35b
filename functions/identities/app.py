"""GET /auth/identities (the caller's ways in) and DELETE /auth/identities/{id} (unlink one;
never the last)."""

import re

from switchboard.auth import linking, sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.errors import NotFound
from switchboard.runtime import services

IDENTITY_ID = re.compile(linking.IDENTITY_ID)


def list_identities(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    return json_response(linking.list_identities(svc, caller))


def unlink(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    identity_id = request.path_params.get("id", "")
    if not IDENTITY_ID.match(identity_id):  # no id of another form exists: not looked up
        raise NotFound("no such identity")
    return json_response(linking.unlink(svc, caller, identity_id))


handler = endpoint(routes({"GET /auth/identities": list_identities, "DELETE /auth/identities/{id}": unlink}))
