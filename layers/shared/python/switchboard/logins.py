"""The two ways to sign in with Switchboard itself: website visitors and operators."""

from __future__ import annotations

from switchboard import audit, passwords, ratelimit, sessions
from switchboard.errors import Forbidden, InvalidCredentials, InvalidIdentity
from switchboard.identity import anonymous_visitor_id, known_visitor_id, verify_visitor_hash
from switchboard.policy import Role
from switchboard.postlogin import Principal
from switchboard.requests import ExternalLogin, InternalLogin
from switchboard.runtime import Services

__all__ = ["external", "internal"]


def external(svc: Services, body: ExternalLogin, *, origin: str | None, device: str | None,
             ip: str | None = None, upgrading: str | None = None) -> sessions.TokenBundle:
    """Sign a website visitor in: anonymous (level 0) or vouched for by the website (level 1).

    A claimed identity without the website's valid HMAC is refused outright: there is
    no half-trusted visitor. Rate limited per client IP (and per claimed identity).

    ``upgrading`` (the ``Authorization`` header of an identified sign-in): the anonymous
    visitor of that access token becomes the known one - their open conversation is handed
    over, and the anonymous session ends (its sockets close; the widget reconnects).
    """
    keys = [("ip", ip)] if ip else []
    if body.user is not None:
        keys.append(("account", f"visitor#{body.tenant}#{body.user.id}"))
    if keys:
        ratelimit.check(svc.store, svc.settings, keys)
    tenant = svc.tenants.get(body.tenant)
    if not tenant.allows_origin(origin):
        raise Forbidden("this origin is not allowed for the tenant")
    if body.user is None:
        principal = Principal(
            tenant=tenant.id,
            user_id=anonymous_visitor_id(),
            role=Role.VISITOR,
            anon=True,
            name="Visitor",
            method="anonymous",
        )
    else:
        user = body.user
        if not user.hash or not verify_visitor_hash(tenant.identity_secret, user.id, user.hash):
            audit.record(
                svc.store,
                tenant=tenant.id,
                kind="sign_in_failed",
                retention_days=svc.settings.audit_retention_days,
                subject=known_visitor_id(user.id),
                reason="invalid_identity",
            )
            raise InvalidIdentity()
        principal = Principal(
            tenant=tenant.id,
            user_id=known_visitor_id(user.id),
            role=Role.VISITOR,
            anon=False,
            name=user.name or "Visitor",
            method="identified",
            email=user.email,
        )
        if upgrading:
            _upgrade_anonymous(svc, upgrading, tenant=tenant.id, to_user=principal.user_id)
    return sessions.sign_in(svc, principal, device=device)


def _upgrade_anonymous(svc: Services, authorization: str, *, tenant: str, to_user: str) -> None:
    """Carry an anonymous visitor's open conversation over to the identified visitor.

    Only the holder of the anonymous session's live access token can do this, only within
    its tenant, and only for an anonymous session (an identified visitor never becomes
    someone else this way). Anything else: the sign-in goes on without a hand-over.
    """
    from switchboard.errors import Conflict, SessionRevoked, SwitchboardError

    try:
        caller = sessions.authenticate(svc, authorization)
    except (SessionRevoked, SwitchboardError):
        return
    if caller.tenant != tenant or not caller.session.anon or caller.user_id == to_user:
        return
    channel_id = svc.store.open_support_channel_id(tenant, caller.user_id)
    channel = svc.store.get_channel(channel_id) if channel_id else None
    if channel is not None and channel.status != "closed":
        try:
            svc.store.hand_over_support_channel(channel, from_user=caller.user_id, to_user=to_user)
        except Conflict:  # the known visitor has an open conversation already: theirs stays theirs
            return
    sessions.end_user_sessions(svc, tenant, caller.user_id, reason="identified")


def internal(svc: Services, body: InternalLogin, *, device: str | None, ip: str | None = None) -> sessions.TokenBundle:
    """Sign an operator or admin in with email and password.

    Unknown tenant, unknown email and wrong password take the same path - two reads and
    one argon2 verification - and give the same answer. Attempts are rate limited per
    account and per client IP: the counters are written while the credentials are read,
    and the limit is enforced before the password is checked. With MFA on, a correct
    password answers ``mfa_required`` (see :mod:`switchboard.mfa`).
    """
    keys = [("account", f"signin#{body.tenant}#{body.email.lower()}")]
    if ip:
        keys.append(("ip", ip))
    with ratelimit.counting(svc.store, svc.settings, keys) as attempt:
        tenant = svc.tenants.find(body.tenant)
        operator = svc.store.get_operator_by_email(body.tenant if tenant else "-", body.email)
        attempt.enforce()  # before the password is checked: a refused attempt learns nothing
    ok = passwords.verify_password(operator.password_hash if operator else None, body.password)
    if not ok or operator is None or tenant is None:
        if tenant is not None:
            audit.record(
                svc.store,
                tenant=tenant.id,
                kind="sign_in_failed",
                retention_days=svc.settings.audit_retention_days,
                subject=operator.id if operator else None,
                reason="invalid_credentials",
            )
        raise InvalidCredentials()
    if operator.blocked:
        audit.record(
            svc.store,
            tenant=tenant.id,
            kind="sign_in_failed",
            retention_days=svc.settings.audit_retention_days,
            subject=operator.id,
            reason="blocked",
        )
        raise Forbidden("this account is blocked")
    if operator.password_hash and passwords.needs_rehash(operator.password_hash):
        svc.store.set_password_hash(tenant.id, operator.id, passwords.hash_password(body.password))
    if operator.totp_enabled:
        from switchboard import mfa

        raise mfa.begin_challenge(svc, operator)
    principal = Principal(
        tenant=tenant.id,
        user_id=operator.id,
        role=Role(operator.role),
        anon=False,
        name=operator.name,
        method="password",
        email=operator.email,
    )
    return sessions.sign_in(svc, principal, device=device)
