"""Sessions, refresh-token rotation, authentication of API calls, and revocation.

Refresh tokens are opaque tokens (:mod:`switchboard.tokens.opaque`, prefix ``sbr1``).
Revocation reaches live WebSocket connections through ``Services.connections``.

A session is one sign-in on one device. Its item holds the *current* scopes and status,
so one strongly consistent GetItem per authenticated call tells whether the token's
session is still live and which of its scopes still stand.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from switchboard.admin import audit
from switchboard.auth import postlogin
from switchboard.auth.postlogin import Principal
from switchboard.errors import (
    Forbidden,
    InvalidToken,
    NotFound,
    RotationRefused,
    SessionRevoked,
    StandingChanged,
    TokenReused,
)
from switchboard.models import Operator, Session, SessionKey
from switchboard.observability import count
from switchboard.policy import Role
from switchboard.runtime import Services
from switchboard.tokens import opaque
from switchboard.tokens.access import client_id_for

if TYPE_CHECKING:
    from switchboard.tokens.access import AccessClaims

__all__ = ["Caller", "TokenBundle", "authenticate", "end_user_sessions", "list_sessions", "refresh", "revoke",
           "sign_in", "who_am_i"]

REFRESH_PREFIX = "sbr1"
DEVICE_MAX = 200


class TokenBundle(msgspec.Struct, frozen=True):
    access_token: str
    expires_in: int
    refresh_token: str
    chat_token: str
    session: Session
    #: for an operator's sign-in: the device token its next sign-in from here presents (logins.py)
    device_token: str | None = None

    def __repr__(self) -> str:  # bearer tokens stay out of logs and tracebacks
        return f"TokenBundle(session={self.session.id!r}, user={self.session.user_id!r})"

    def to_json(self) -> dict[str, Any]:
        s = self.session
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "chat_token": self.chat_token,
            "user": {"id": s.user_id, "role": s.role, "level": s.lvl, "anonymous": s.anon, "name": s.name},
            **({"device_token": self.device_token} if self.device_token else {}),
        }


class Caller(msgspec.Struct, frozen=True):
    """An authenticated API caller: the token's claims, its live session, its scopes now."""

    claims: AccessClaims
    session: Session
    scopes: frozenset[str]

    @property
    def tenant(self) -> str:
        return self.claims.tid

    @property
    def user_id(self) -> str:
        return self.claims.sub

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"requires scope {scope}")


# -- refresh tokens ----------------------------------------------------------------
def _new_refresh_token(key: SessionKey, gen: int) -> tuple[str, str]:
    return opaque.make(REFRESH_PREFIX, [key.tenant, key.user_id, key.session_id, str(gen)])


_LOCATOR_PART = re.compile(r"[A-Za-z0-9@_-]{1,128}\Z")
_GEN = re.compile(r"[0-9]{1,9}\Z")


def _parse_refresh_token(token: str) -> tuple[SessionKey, int, str]:
    try:
        (tenant, user_id, session_id, gen), secret = opaque.parse(token, REFRESH_PREFIX, 4)
    except InvalidToken:
        raise InvalidToken("malformed refresh token") from None
    # the locator is not secret and not signed: only ids of the forms Switchboard issues
    # reach storage, and a generation that fits a DynamoDB number (int() would take
    # " 1", "1_0", Arabic-Indic digits and 40 digits)
    if not (all(_LOCATOR_PART.match(part) for part in (tenant, user_id, session_id)) and _GEN.match(gen)):
        raise InvalidToken("malformed refresh token")
    return SessionKey(tenant, user_id, session_id), int(gen), secret


# -- sign-in -------------------------------------------------------------------------
def sign_in(svc: Services, principal: Principal, *, device: str | None, now: int | None = None,
            operator: Operator | None = None, identity: str | None = None) -> TokenBundle:
    """Run post-login, start a session, mint its tokens and record the sign-in. An
    operator's sign-in passes the ``operator`` record it checked the credentials against:
    if anything altered it meanwhile (an admin, a password change, another sign-in's
    rehash), no session is opened and :class:`StandingChanged` says so. A sign-in through a
    linked ``identity`` (SSO) checks that identity is still linked instead of the password."""
    now = int(now if now is not None else time.time())
    cfg = svc.settings
    session, grants = _new_session(svc, principal, device=device or "unknown", now=now,
                                   idle=min(cfg.session_idle_seconds, cfg.session_absolute_seconds),
                                   lifetime=cfg.session_absolute_seconds)
    refresh_token, refresh_hash = _new_refresh_token(session.key, 0)
    _open(svc, session, refresh_hash, operator, identity)
    return _bundle(svc, session, refresh_token, grants.claims, now)


def sign_in_operator(svc: Services, op: Operator, *, method: str, device: str | None) -> TokenBundle:
    """An operator or admin whose credentials were just checked against ``op`` (``method``:
    one of :data:`OPERATOR_METHODS`) signs in. The answer carries a fresh device token: this
    device is now one the operator has signed in from (see :mod:`switchboard.auth.logins`)."""
    from msgspec.structs import replace

    bundle = sign_in(svc, Principal.for_operator(op, method=method), device=device, operator=op)
    return replace(bundle, device_token=svc.tokens.mint_device(tid=op.tenant, sub=op.id, email=op.email))


def _new_session(svc: Services, principal: Principal, *, device: str, now: int, idle: int,
                 lifetime: int) -> tuple[Session, postlogin.Grants]:
    """Post-login's grants for a sign-in, and the session it opens (not stored yet): the one
    place a session is made, for password, visitor and federated sign-ins alike."""
    tenant = svc.tenants.get(principal.tenant)
    grants = postlogin.run(tenant, principal, namespace=svc.settings.claims_namespace)
    session = Session(
        tenant=principal.tenant,
        user_id=principal.user_id,
        id=secrets.token_urlsafe(16),
        role=principal.role.value,
        lvl=principal.level,
        anon=principal.anon,
        name=principal.name,
        scopes=frozenset(grants.scopes),
        method=principal.method,
        device=device[:DEVICE_MAX],
        created_at=now,
        last_used_at=now,
        idle_expires_at=now + idle,
        expires_at=now + lifetime,
        email=principal.email,
    )
    return session, grants


def _open(svc: Services, session: Session, refresh_hash: str, operator: Operator | None = None,
          identity: str | None = None) -> None:
    """Store the session and its ``sign_in`` audit event (one transaction)."""
    event = audit.event(tenant=session.tenant, kind="sign_in", actor=session.user_id, session_id=session.id,
                        method=session.method)
    svc.store.sessions.create(session, refresh_hash, event=event, operator=operator, identity=identity,
                             event_ttl=audit.expires_at(event, svc.settings.audit_retention_days))
    count("SignIns")


def _bundle(svc: Services, s: Session, refresh_token: str, claims: dict[str, Any], now: int) -> TokenBundle:
    access = svc.tokens.mint_access(
        sub=s.user_id,
        tid=s.tenant,
        sid=s.id,
        role=s.role,
        lvl=s.lvl,
        scopes=s.scopes,
        anon=s.anon,
        client_id=client_id_for(s.method),
        custom=claims,
        now=now,
    )
    chat = svc.tokens.mint_chat(
        sub=s.user_id, tid=s.tenant, sid=s.id, role=s.role, lvl=s.lvl, scopes=s.scopes, name=s.name, now=now
    )
    return TokenBundle(
        access_token=access, expires_in=svc.tokens.access_ttl, refresh_token=refresh_token, chat_token=chat, session=s
    )


# -- refresh -------------------------------------------------------------------------
def refresh(svc: Services, token: str, *, now: int | None = None, ip: str | None = None) -> TokenBundle:
    """Rotate a refresh token. A rotated token presented again revokes the whole session.
    Rate limited per session and per client IP.

    Everything that can fail runs before the token is spent: the session is read and the
    token checked against it, post-login runs, the signing keys are loaded. Then one
    transaction rotates the token and records the ``refresh`` event, and the new tokens are
    minted in memory. So a failure (a 503, a post-login denial) leaves the presented token
    as it was, and the client's retry is a refresh again, not "reuse" that ends the session.
    """
    now = int(now if now is not None else time.time())
    key, gen, secret = _parse_refresh_token(token)
    from switchboard.auth import ratelimit

    ratelimit.check(svc.store, svc.settings,
                    [("account", f"refresh#{key.tenant}#{key.session_id}"), *([("ip", ip)] if ip else [])], now=now)
    tenant = svc.tenants.find(key.tenant)
    state = svc.store.sessions.read_refresh(key) if tenant is not None else None
    if tenant is None or state is None:
        raise InvalidToken("unknown refresh token")
    session, current_hash = state
    presented = opaque.digest(secret)
    if not (current_hash and hmac.compare_digest(current_hash, presented) and session.refresh_gen == gen
            and session.is_live(now)):
        _explain_refusal(svc, key, gen, presented, RotationRefused(session), now)
    cfg = svc.settings
    principal = Principal(
        tenant=session.tenant,
        user_id=session.user_id,
        role=Role(session.role),
        anon=session.anon,
        name=session.name,
        method=session.method,
        email=session.email,
    )
    try:
        grants = postlogin.run(tenant, principal, namespace=cfg.claims_namespace)
    except Forbidden:
        svc.store.sessions.revoke([key], reason="post_login_denied", now=now)
        _reach_connections(svc, key.tenant, key.user_id, session_ids={key.session_id})
        raise
    svc.tokens.ready()  # the signing key is loaded before the token is spent
    new_token, new_hash = _new_refresh_token(key, gen + 1)
    event = audit.event(tenant=key.tenant, kind="refresh", actor=key.user_id, session_id=key.session_id)
    idle_until = now + cfg.session_idle_seconds
    try:
        svc.store.sessions.rotate_refresh(key, gen=gen, presented_hash=presented, new_hash=new_hash, now=now,
                                 idle_until=idle_until, expires_at=session.expires_at, event=event,
                                 event_ttl=audit.expires_at(event, cfg.audit_retention_days),
                                 operator_role=session.role if session.on_record else None)
    except RotationRefused as refused:  # another refresh of this token, or a revocation, got there first
        _explain_refusal(svc, key, gen, presented, refused, now)
        raise  # pragma: no cover - _explain_refusal always raises
    except StandingChanged:
        # the operator was removed, blocked or given another role, and ending this session did
        # not happen then (a failed revocation, a sign-in racing the change): it ends now
        svc.store.sessions.revoke([key], reason="operator_changed", now=now)
        _reach_connections(svc, key.tenant, key.user_id, session_ids={key.session_id})
        raise SessionRevoked() from None
    from msgspec.structs import replace

    session = replace(session, refresh_gen=gen + 1, last_used_at=now,
                      idle_expires_at=min(idle_until, session.expires_at))  # idle never outlives absolute
    return _bundle(svc, session, new_token, grants.claims, now)


def _explain_refusal(
    svc: Services, key: SessionKey, gen: int, presented: str, refused: RotationRefused, now: int
) -> None:
    old = refused.session
    if old is None:
        raise InvalidToken("unknown refresh token")
    used_hash = svc.store.sessions.rotated_hash(key, gen) if gen < old.refresh_gen else None  # one read, refusals only
    if used_hash and hmac.compare_digest(used_hash, presented):
        if old.status == "live":
            svc.store.sessions.revoke([key], reason="token_reused", now=now)
            _reach_connections(svc, key.tenant, key.user_id, session_ids={key.session_id})
        audit.record(
            svc.store,
            tenant=key.tenant,
            kind="token_reused",
            retention_days=svc.settings.audit_retention_days,
            actor=key.user_id,
            session_id=key.session_id,
            generation=gen,
        )
        count("RefreshReuse")
        raise TokenReused()
    if not old.is_live(now):
        raise SessionRevoked()
    raise InvalidToken("unknown refresh token")


# -- authenticated calls ---------------------------------------------------------------
def authenticate(svc: Services, authorization: str | None, *, now: int | None = None) -> Caller:
    """Verify a Bearer access token and check its session: one consistent GetItem."""
    if not authorization or not authorization[:7].lower() == "bearer ":
        raise InvalidToken("missing bearer token")
    claims = svc.tokens.verify_access(authorization[7:].strip())
    session = svc.store.sessions.get(SessionKey(claims.tid, claims.sub, claims.sid))
    now = int(now if now is not None else time.time())
    if session is None or not session.is_live(now):
        raise SessionRevoked()
    return Caller(claims=claims, session=session, scopes=claims.scopes & session.scopes)


def list_sessions(svc: Services, caller: Caller, *, user_id: str | None = None,
                  now: int | None = None) -> list[dict[str, Any]]:
    """The live sessions of the caller, or (with ``admin:sessions``) of another user of the
    caller's tenant - what an admin looks at before revoking."""
    now = int(now if now is not None else time.time())
    target = user_id or caller.user_id
    _may_act_on(caller, target)
    return [
        {
            "id": s.id,
            "device": s.device,
            "method": s.method,
            "created_at": s.created_at,
            "last_used_at": s.last_used_at,
            "expires_at": s.ends_at,
            "current": s.id == caller.session.id,
        }
        for s in sorted(svc.store.sessions.of_user(caller.tenant, target), key=lambda s: -s.created_at)
        if s.is_live(now)
    ]


# -- revocation -------------------------------------------------------------------------
def _may_act_on(caller: Caller, user_id: str) -> None:
    if user_id != caller.user_id and "admin:sessions" not in caller.scopes:
        raise Forbidden("acting on another user's sessions requires admin:sessions")


def revoke(
    svc: Services,
    caller: Caller,
    *,
    kind: str,
    session_id: str | None = None,
    user_id: str | None = None,
    scopes: frozenset[str] = frozenset(),
    now: int | None = None,
) -> dict[str, Any]:
    """Revoke one session, all of a user's sessions, or some scopes (contract section 3)."""
    now = int(now if now is not None else time.time())
    result: dict[str, Any] = {"kind": kind}
    if kind == "session":
        key = _session_to_revoke(svc, caller, session_id)
        svc.store.sessions.revoke([key], reason="revoked", now=now)
        _reach_connections(svc, key.tenant, key.user_id, session_ids={key.session_id})
        result.update(user_id=key.user_id, sessions=[key.session_id])
    else:
        target = user_id or caller.user_id
        _may_act_on(caller, target)
        live = [s.key for s in svc.store.sessions.of_user(caller.tenant, target) if s.is_live(now)]
        if kind == "user":
            svc.store.sessions.revoke(live, reason="revoked", now=now)
            _reach_connections(svc, caller.tenant, target, session_ids=None)
        else:
            svc.store.sessions.revoke_scopes(live, scopes)
            _reach_connections(svc, caller.tenant, target, session_ids=None, scopes=scopes)
            result["scopes"] = sorted(scopes)
        result.update(user_id=target, sessions=[k.session_id for k in live])
    audit.record(
        svc.store,
        tenant=caller.tenant,
        kind="revoke",
        retention_days=svc.settings.audit_retention_days,
        actor=caller.user_id,
        subject=result["user_id"],
        session_id=caller.session.id,
        revoked_kind=kind,
        sessions=result["sessions"],
        scopes=result.get("scopes"),
    )
    return result


def end_user_sessions(svc: Services, tenant: str, user_id: str, *, keep: str | None = None, reason: str,
                      only: Callable[[Session], bool] | None = None, now: int | None = None) -> list[str]:
    """Revoke every live session of a user but ``keep`` (blocking, a password change, MFA
    turned off) - or those of them ``only`` picks -, and close their live connections.
    Returns the ids revoked."""
    now = int(now if now is not None else time.time())
    ended = [s.key for s in svc.store.sessions.of_user(tenant, user_id)
             if s.is_live(now) and s.id != keep and (only is None or only(s))]
    if ended:
        svc.store.sessions.revoke(ended, reason=reason, now=now)
        _reach_connections(svc, tenant, user_id, session_ids={k.session_id for k in ended})
    return [k.session_id for k in ended]


def _reach_connections(svc: Services, tenant: str, user_id: str, *, session_ids: set[str] | None,
                       scopes: frozenset[str] | None = None) -> None:
    """Revocation reaches live WebSocket connections before the caller hears 200 (through
    ``svc.connections``; without a WebSocket endpoint there are none, and the chat modules
    stay unloaded)."""
    if svc.settings.ws_endpoint:
        svc.connections.revoke(tenant=tenant, user_id=user_id, session_ids=session_ids, scopes=scopes)


def _session_to_revoke(svc: Services, caller: Caller, session_id: str | None) -> SessionKey:
    if session_id is None or session_id == caller.session.id:
        return caller.session.key
    key = svc.store.sessions.find_key(session_id)
    # another tenant's session answers exactly as an unknown id does (same status, body, and
    # work: the one index read both took): nothing crosses tenants, not even "it exists"
    if key is None or key.tenant != caller.tenant:
        raise NotFound("no such session")
    _may_act_on(caller, key.user_id)
    return key


def who_am_i(svc: Services, caller: Caller) -> dict[str, Any]:
    """GET /auth/me: :func:`describe`, with ``mfa_enabled`` for operators and admins (one more
    read, for staff only: visitors have no second factor)."""
    mfa = None
    if caller.session.role in ("operator", "admin"):
        op = svc.store.staff.get(caller.tenant, caller.user_id)
        mfa = bool(op and op.totp_enabled)
    return describe(caller, mfa_enabled=mfa)


def describe(caller: Caller, *, mfa_enabled: bool | None = None) -> dict[str, Any]:
    """The body of GET /auth/me (``mfa_enabled`` for operators and admins)."""
    s = caller.session
    user: dict[str, Any] = {"id": s.user_id, "role": s.role, "level": s.lvl, "anonymous": s.anon, "name": s.name}
    if mfa_enabled is not None:
        user["mfa_enabled"] = mfa_enabled
    return {
        "user": user,
        "session": {
            "id": s.id,
            "method": s.method,
            "device": s.device,
            "created_at": s.created_at,
            "last_used_at": s.last_used_at,
            "expires_at": s.ends_at,
        },
        "scopes": sorted(caller.scopes),
    }


class ChatGrant(msgspec.Struct, frozen=True):
    """What an outside identity provider's sign-in gets: a chat token and the claims to set."""

    chat_token: str
    claims: dict[str, Any]
    session: Session

    def __repr__(self) -> str:  # the chat token (also inside claims) stays out of logs and tracebacks
        return f"ChatGrant(session={self.session.id!r}, user={self.session.user_id!r})"


def federated_sign_in(
    svc: Services, principal: Principal, *, device: str | None = None, now: int | None = None,
    operator: Operator | None = None, identity: str | None = None,
) -> ChatGrant:
    """A sign-in done by Cognito or Auth0: post-login runs, a session is recorded (so
    revoking it works as for our own sign-ins) and a chat token is minted. The provider
    keeps its own refresh tokens, so the session has no refresh token of ours and lasts
    as long as its chat token. Staff sign in on their record (``operator``, through the
    linked ``identity``): the session is opened only while it is as read."""
    now = int(now if now is not None else time.time())
    lifetime = svc.tokens.chat_ttl
    session, grants = _new_session(svc, principal, device=device or principal.method, now=now, idle=lifetime,
                                   lifetime=lifetime)
    _open(svc, session, "-", operator, identity)  # "-" is no SHA-256 hex: no refresh token matches it
    chat = svc.tokens.mint_chat(
        sub=session.user_id,
        tid=session.tenant,
        sid=session.id,
        role=session.role,
        lvl=session.lvl,
        scopes=session.scopes,
        name=session.name,
        now=now,
    )
    claims = dict(grants.claims)
    claims[f"{svc.settings.claims_namespace}/chat_token"] = chat
    return ChatGrant(chat_token=chat, claims=claims, session=session)
