"""An operator's own account: changing the password, and accepting an invitation."""

from __future__ import annotations

import time
from typing import Any

from switchboard.admin import audit
from switchboard.auth import passwords, ratelimit, sessions
from switchboard.errors import Forbidden, InvalidCredentials, InvalidToken, StandingChanged
from switchboard.runtime import Services
from switchboard.tokens import opaque

__all__ = ["INVITE_PREFIX", "accept_invitation", "change_password", "new_invitation"]

INVITE_PREFIX = "sbi1"
INVITE_SECONDS = 7 * 86400


def change_password(svc: Services, caller: sessions.Caller, current: str, new: str, *,
                    ip: str | None = None) -> dict[str, Any]:
    """Check the current password, store the new one, and end the user's other sessions
    (whoever knew the old password is signed out everywhere but here) and their pending MFA
    challenges (an ``mfa_token`` got with the old password is no good any more)."""
    if caller.session.role not in ("operator", "admin"):
        raise Forbidden("only operators and admins have a password")
    ratelimit.check(svc.store, svc.settings,
                    [("account", f"password#{caller.tenant}#{caller.user_id}"), *([("ip", ip)] if ip else [])])
    op = svc.store.staff.get(caller.tenant, caller.user_id)
    if op is None or not passwords.verify_password(op.password_hash, current):
        raise InvalidCredentials("the current password is wrong")
    # reset links mailed before the change: whoever asked for one (or reads the mailbox) must
    # not undo the change the owner is making (dropped first: a link spent between the two
    # writes would otherwise overwrite the new password)
    svc.store.recovery.drop_resets(op.tenant, op.id)
    svc.store.staff.set_password_hash(op.tenant, op.id, passwords.hash_password(new))
    svc.store.staff.delete_mfa_challenges(op.tenant, op.id)
    ended = sessions.end_user_sessions(svc, op.tenant, op.id, keep=caller.session.id, reason="password_changed")
    audit.record(svc.store, tenant=op.tenant, kind="password_changed", retention_days=svc.settings.audit_retention_days,
                 actor=op.id, subject=op.id, session_id=caller.session.id, revoked_sessions=len(ended))
    return {"changed": True, "revoked_sessions": len(ended)}


def new_invitation(tenant: str, user_id: str) -> tuple[str, str]:
    """A one-time invitation token for a new operator, and the hash to store."""
    return opaque.make(INVITE_PREFIX, [tenant, user_id])


def accept_invitation(svc: Services, token: str, password: str, *, device: str | None,
                      ip: str | None = None) -> sessions.TokenBundle:
    """The invitee sets their password (once: the invitation is consumed by the same
    write) and is signed in."""
    (tenant, user_id), secret = opaque.parse(token, INVITE_PREFIX, 2)
    ratelimit.check(svc.store, svc.settings, [("account", f"invite#{tenant}#{user_id}"),
                                              *([("ip", ip)] if ip else [])])
    if not svc.store.staff.accept_invitation(tenant, user_id, opaque.digest(secret), passwords.hash_password(password),
                                       now=int(time.time())):
        raise InvalidToken("the invitation is not valid, was used, or has expired")
    op = svc.store.staff.get(tenant, user_id)
    if op is None:  # removed between the two writes
        raise InvalidToken("the invitation is not valid, was used, or has expired")
    audit.record(svc.store, tenant=tenant, kind="password_changed", retention_days=svc.settings.audit_retention_days,
                 actor=op.id, subject=op.id, invitation=True)
    try:
        return sessions.sign_in_operator(svc, op, method="invitation", device=device)
    except StandingChanged:  # blocked or removed the moment the password was set
        raise InvalidToken("the invitation is not valid, was used, or has expired") from None
