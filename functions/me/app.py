"""GET /auth/me - who the caller is, their session and their scopes now."""

from switchboard import sessions
from switchboard.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    request.nothing_else()
    mfa = None
    if caller.session.role in ("operator", "admin"):  # one more read, for staff only
        op = svc.store.staff.get(caller.tenant, caller.user_id)
        mfa = bool(op and op.totp_enabled)
    return json_response(sessions.describe(caller, mfa_enabled=mfa))


handler = endpoint(route)
