"""Tenant administration: operators (``admin:operators``) and audit events (``admin:sessions``).

Everything is looked up in the caller's own tenant: an operator id of another tenant is
``not_found``, exactly like one that does not exist.

* Blocking an operator, changing their role or removing them ends all their sessions at
  once (and closes their live connections), so the change holds from the next request.
* The tenant always keeps an active admin: the last one cannot be demoted, blocked or
  removed. The write checks, in the same transaction, that another admin is still active,
  so two admins demoting each other at the same moment cannot both succeed.
"""

from __future__ import annotations

import time
from typing import Any

from msgspec import UNSET, UnsetType
from msgspec.structs import replace

from switchboard.admin import audit
from switchboard.auth import sessions
from switchboard.auth.identity import new_operator_id
from switchboard.errors import Conflict, Forbidden, NotFound, StandingChanged, Unavailable, ValidationFailed
from switchboard.models import OPERATOR_ID, Operator, OperatorPresence
from switchboard.runtime import Services

#: the contract's HTTP codes have no ``conflict``: refusals that depend on the tenant's state are
#: ``forbidden`` (the last admin) or ``validation_error`` (an email already taken)
LAST_ADMIN = "the tenant's last active admin cannot be demoted, blocked or removed"

__all__ = ["change_operator", "create_operator", "list_events", "list_operators", "list_staff", "remove_operator",
           "staff_status"]


def list_operators(svc: Services, caller: sessions.Caller) -> dict[str, Any]:
    """The tenant's operators as admins see them, each with ``max_chats`` (``null``: the
    tenant's default, no cap) - so the operators page shows the cap it edits. Two Queries
    whatever the number of operators: the records, and the staff partition's load items."""
    caller.require("admin:operators")
    ops = sorted(svc.store.staff.of_tenant(caller.tenant), key=lambda o: (o.created_at, o.email))
    caps = svc.store.presence.caps(caller.tenant)
    return {"operators": [{**o.to_json(), "max_chats": caps.get(o.id)} for o in ops]}


def staff_status(p: OperatorPresence | None) -> str:
    """``online`` (a live staff connection, not away), ``away`` (connected, said away) or
    ``offline`` (no live connection - whatever they last said)."""
    if p is None or not p.online:
        return "offline"
    return "away" if p.away else "online"


def list_staff(svc: Services, caller: sessions.Caller) -> dict[str, Any]:
    """``GET /staff`` (not in the contract): who a staff member may put in a team channel or
    hand a conversation to - the tenant's active operators and admins, by id, name and role,
    with their ``status`` (online / away / offline), ``max_chats`` (``null``: no cap) and
    ``open_chats`` (open support conversations assigned), so the transfer picker can offer only
    colleagues who are online with room. No email, nothing else an admin's listing adds.
    Needs ``team:chat``.

    Two Queries whatever the size of the staff: the operator records, and the staff partition
    (presence and load: the one assignment reads) - never one per colleague."""
    caller.require("team:chat")
    staff = sorted((o for o in svc.store.staff.of_tenant(caller.tenant) if o.active),
                   key=lambda o: (o.name.lower(), o.id))
    presence = {p.user_id: p for p in svc.store.presence.of_tenant(caller.tenant, now=int(time.time()))}
    out = []
    for o in staff:
        p = presence.get(o.id)
        out.append({"id": o.id, "name": o.name, "role": o.role, "status": staff_status(p),
                    "max_chats": p.max_chats if p else None, "open_chats": p.load if p else 0})
    return {"staff": out}


def create_operator(svc: Services, caller: sessions.Caller, *, email: str, name: str, role: str = "operator",
                    password: str | None = None) -> dict[str, Any]:
    """A new operator, ready with a password, or invited (the answer holds the one-time token)."""
    caller.require("admin:operators")
    # only this path hashes a password or issues an invitation: listing operators, changing
    # them and reading events (the same module, other functions) do not load argon2
    from switchboard.auth import accounts, passwords

    now = int(time.time())
    op = Operator(tenant=caller.tenant, id=new_operator_id(), email=email.lower(), name=name,
                  role=role, password_hash=passwords.hash_password(password) if password else None,
                  created_at=now)
    answer: dict[str, Any] = {}
    try:
        if password:
            svc.store.staff.create(op)
        else:
            token, token_hash = accounts.new_invitation(op.tenant, op.id)
            svc.store.staff.create_invited(op, token_hash, expires_at=now + accounts.INVITE_SECONDS)
            answer["invite_token"] = token
            answer["invite_expires_in"] = accounts.INVITE_SECONDS
    except Conflict:
        raise ValidationFailed("an operator with this email already exists") from None
    audit.record(svc.store, tenant=op.tenant, kind="operator_created", retention_days=svc.settings.audit_retention_days,
                 actor=caller.user_id, subject=op.id, session_id=caller.session.id, role=op.role,
                 invited=not password)
    return {"operator": {**op.to_json(), "max_chats": None}, **answer}  # a new operator: no cap


def _target(svc: Services, caller: sessions.Caller, operator_id: str) -> Operator:
    # an id no operator can have is not looked up: a path segment of any length would
    # otherwise reach DynamoDB, which refuses keys over its limits with an error, not "no item"
    op = svc.store.staff.get(caller.tenant, operator_id) if OPERATOR_ID.match(operator_id) else None
    if op is None:
        raise NotFound("no such operator")
    return op


def _other_active_admin(svc: Services, target: Operator) -> Operator:
    for op in svc.store.staff.of_tenant(target.tenant):
        if op.id != target.id and _is_active_admin(op):
            return op
    raise Forbidden(LAST_ADMIN)


def _is_active_admin(op: Operator) -> bool:
    """An admin who can act (an invitation never accepted may lapse, and would leave the
    tenant with nobody to administer it)."""
    return op.role == "admin" and op.active


#: a change of role or blocked is written only if the operator is still as read; when a
#: concurrent change got there first, read again and decide again - a few times at most
#: (optimistic concurrency on one item; DynamoDB has no row lock to take instead)
CHANGE_ATTEMPTS = 3


def change_operator(svc: Services, caller: sessions.Caller, operator_id: str, *, role: str | None = None,
                    name: str | None = None, blocked: bool | None = None,
                    mfa_enabled: bool | None = None, max_chats: int | UnsetType | None = UNSET) -> dict[str, Any]:
    """Change role, name or blocked; a role change or a block ends the operator's sessions.
    ``mfa_enabled: false`` resets their second factor and ends all their sessions.
    ``max_chats`` (1-50, contract section 8): the most open chats auto-assignment and
    handovers give them; kept on their staff load item, which assignment reads anyway.
    ``max_chats=None`` clears it back to the tenant's default - no cap (``UNSET``: unchanged).

    The answer's operator is as ``GET /admin/operators`` lists it, ``max_chats`` included (one
    GetItem of their load item when this change did not set it)."""
    answer = _change_operator(svc, caller, operator_id, role=role, name=name, blocked=blocked,
                              mfa_enabled=mfa_enabled, max_chats=max_chats)
    if "max_chats" not in answer["operator"]:
        cap = svc.store.presence.max_chats(caller.tenant, answer["operator"]["id"])
        answer["operator"] = {**answer["operator"], "max_chats": cap}
    return answer


def _change_operator(svc: Services, caller: sessions.Caller, operator_id: str, *, role: str | None,
                     name: str | None, blocked: bool | None, mfa_enabled: bool | None,
                     max_chats: int | UnsetType | None) -> dict[str, Any]:
    caller.require("admin:operators")
    if role is None and name is None and blocked is None and mfa_enabled is None and max_chats is UNSET:
        raise ValidationFailed("nothing to change: give role, name, blocked, mfa_enabled or max_chats")
    if not isinstance(max_chats, UnsetType):
        target = _target(svc, caller, operator_id)
        svc.store.presence.set_max_chats(target.tenant, target.id, max_chats)
        audit.record(svc.store, tenant=target.tenant, kind="operator_changed",
                     retention_days=svc.settings.audit_retention_days, actor=caller.user_id, subject=target.id,
                     session_id=caller.session.id, max_chats=max_chats,
                     max_chats_cleared=True if max_chats is None else None)  # the detail drops None values
        if role is None and name is None and blocked is None and mfa_enabled is None:
            return {"operator": {**target.to_json(), "max_chats": max_chats}, "revoked_sessions": 0}
    if mfa_enabled is not None and operator_id == caller.user_id:
        # one's own second factor goes off only with a current code: a stolen token alone must not do it
        raise Forbidden("turn your own second factor off with a code: POST /auth/totp/disable")
    if role is None and name is None and blocked is None:
        return _reset_mfa(svc, caller, _target(svc, caller, operator_id))
    for _ in range(CHANGE_ATTEMPTS):
        target = _target(svc, caller, operator_id)
        changed = replace(target, role=role or target.role, name=name or target.name,
                          blocked=target.blocked if blocked is None else blocked)
        keep = _other_active_admin(svc, target) if _is_active_admin(target) and not _is_active_admin(changed) else None
        try:
            svc.store.staff.update(target, role=role, name=name, blocked=blocked, keep_admin=keep)
            break
        except StandingChanged:  # changed by someone else since it was read
            continue
        except Conflict:  # the other admin was demoted or blocked meanwhile
            raise Forbidden(LAST_ADMIN) from None
    else:
        raise Unavailable("the operator is being changed by someone else; try again")
    ended: list[str] = []
    if role is not None or blocked is not None:
        # every session that does not fit the operator as now (blocked: all; another role: those
        # opened with the old one) - also when a retried request finds the change made already
        # and the first try's revocation had failed
        ended = sessions.end_user_sessions(svc, target.tenant, target.id,
                                           reason="blocked" if changed.blocked else "role_changed",
                                           only=lambda s: not s.stands_on(changed))
    audit.record(svc.store, tenant=target.tenant, kind="operator_changed",
                 retention_days=svc.settings.audit_retention_days, actor=caller.user_id, subject=target.id,
                 session_id=caller.session.id, role=changed.role, blocked=changed.blocked,
                 revoked_sessions=len(ended))
    if mfa_enabled is False:
        reset = _reset_mfa(svc, caller, changed)
        answer = {"operator": reset["operator"], "revoked_sessions": len(ended) + reset["revoked_sessions"]}
    else:
        answer = {"operator": changed.to_json(), "revoked_sessions": len(ended)}
    if not isinstance(max_chats, UnsetType):
        answer["operator"] = {**answer["operator"], "max_chats": max_chats}
    return answer


def _reset_mfa(svc: Services, caller: sessions.Caller, target: Operator) -> dict[str, Any]:
    """An admin turns another operator's second factor off (a lost phone, or an authenticator
    someone else enrolled with a stolen access token): every session of theirs ends, then the
    secret, a pending enrolment and the MFA challenges go - whoever held a session signs in
    again with the password, and enrols anew. In that order: with the secret gone first, a
    stolen token still live could enrol its own authenticator again in between; and once more
    after, for a session a sign-in with the old factor opened meanwhile. An operator with no
    second factor on loses only a pending enrolment, and no session."""
    if not target.totp_enabled:
        if not target.totp_pending or svc.store.staff.drop_pending_totp(target.tenant, target.id):
            reset = replace(target, totp_secret=None, totp_pending=None)
            return {"operator": reset.to_json(), "revoked_sessions": 0}
        # the enrolment was confirmed between the read and now: MFA is on, reset it as such
        target = replace(target, totp_enabled=True)
    ended = sessions.end_user_sessions(svc, target.tenant, target.id, reason="mfa_reset")
    svc.store.staff.disable_totp(target.tenant, target.id)
    svc.store.recovery.drop_codes(target.tenant, target.id)  # the recovery codes go with the factor
    svc.store.staff.delete_mfa_challenges(target.tenant, target.id)
    # and a session a sign-in with the old second factor opened in between (one Query)
    ended += sessions.end_user_sessions(svc, target.tenant, target.id, reason="mfa_reset")
    audit.record(svc.store, tenant=target.tenant, kind="mfa_disabled", retention_days=svc.settings.audit_retention_days,
                 actor=caller.user_id, subject=target.id, session_id=caller.session.id, revoked_sessions=len(ended))
    reset = replace(target, totp_enabled=False, totp_secret=None, totp_pending=None)
    return {"operator": reset.to_json(), "revoked_sessions": len(ended)}


def remove_operator(svc: Services, caller: sessions.Caller, operator_id: str) -> dict[str, Any]:
    caller.require("admin:operators")
    try:
        target = _target(svc, caller, operator_id)
    except NotFound:
        if OPERATOR_ID.match(operator_id):
            # removed already - by a first try whose revocation failed, say: whatever staff
            # session it left ends now (it could not be renewed anyway: refresh checks the record)
            sessions.end_user_sessions(svc, caller.tenant, operator_id, reason="removed",
                                       only=lambda s: s.on_record)
        raise
    keep = _other_active_admin(svc, target) if _is_active_admin(target) else None
    try:
        svc.store.staff.delete(target, keep_admin=keep)
    except Conflict:
        raise Forbidden(LAST_ADMIN) from None
    ended = sessions.end_user_sessions(svc, target.tenant, target.id, reason="removed")
    audit.record(svc.store, tenant=target.tenant, kind="operator_removed",
                 retention_days=svc.settings.audit_retention_days, actor=caller.user_id, subject=target.id,
                 session_id=caller.session.id, revoked_sessions=len(ended))
    return {"removed": target.id, "revoked_sessions": len(ended)}


def list_events(svc: Services, caller: sessions.Caller, *, limit: int = 50,
                cursor: str | None = None) -> dict[str, Any]:
    """The tenant's audit events, newest first; ``cursor`` (opaque) continues a listing."""
    caller.require("admin:sessions")
    events, cursor = svc.store.events.page(caller.tenant, limit=limit, cursor=cursor)
    return {
        "events": [{"id": e.id, "kind": e.kind, "at": e.at, "actor": e.actor, "subject": e.subject,
                    "session_id": e.session_id, "detail": e.detail} for e in events],
        "cursor": cursor,
    }
