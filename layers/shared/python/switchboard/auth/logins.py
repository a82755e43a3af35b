"""Operators and admins sign in with email and password.

Website visitors sign in through :mod:`switchboard.auth.visitors`.

**Who may lock whom out.** Knowing a colleague's email must not be enough to keep them out,
so password attempts are counted as Auth0's brute-force protection counts them, without its
lock-out, plus OWASP's device cookies ("Slow down online guessing attacks with device
cookies"):

* per account *and* source: the account from one client address (IPv6: its /64), or from one
  known device - ``account`` quota, 10/min, 100/h. A stranger's failures from their address
  refuse that address only;
* per address, across accounts - ``ip`` quota, 60/min, 1000/h;
* per account from every *unknown* device together - ``untrusted`` quota, 30/min, 300/h: the
  ceiling that slows a guesser spread over many addresses. A device is known when it
  presents the ``device_token`` its last successful sign-in of this account answered
  (:meth:`TokenService.mint_device`: signed, bound to tenant and email, 90 days, renewed at
  each sign-in). A known device never counts against, nor is refused by, the ceiling: a
  stranger can at worst make the owner use a device they signed in from before.

Measured in ``bench/lockout_bench.py`` (figures in docs/architecture.md, "Rate limits").
The device token travels in the JSON body and the token response, not in a cookie: the
back office is on another origin than the API, and a cookie there would need credentialed
CORS (``Access-Control-Allow-Credentials``) and third-party cookies, which browsers block.
"""

from __future__ import annotations

from switchboard.admin import audit
from switchboard.auth import passwords, ratelimit, sessions
from switchboard.errors import InvalidCredentials, StandingChanged
from switchboard.models import Operator
from switchboard.runtime import Services

__all__ = ["internal"]


def internal(svc: Services, *, tenant_id: str, email: str, password: str, device_token: str | None = None,
             device: str | None, ip: str | None = None) -> sessions.TokenBundle:
    """Sign an operator or admin in with email and password.

    Unknown tenant, unknown email and wrong password take the same path - two reads and
    one argon2 verification - and give the same answer. Attempts are rate limited per
    account and source, per client IP, and per account from unknown devices (module
    docstring): the counters are written while the credentials are read, and the limit is
    enforced before the password is checked. With MFA on, a correct password answers
    ``mfa_required`` (see :mod:`switchboard.auth.mfa`).
    """
    with ratelimit.counting(svc.store, svc.settings, _attempt_keys(svc, tenant_id, email, device_token, ip)) as attempt:
        tenant = svc.tenants.find(tenant_id)
        operator = svc.store.staff.get_by_email(tenant_id if tenant else "-", email)
        attempt.enforce()  # before the password is checked: a refused attempt learns nothing
    ok = passwords.verify_password(operator.password_hash if operator else None, password)
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
    try:
        return _open_session(svc, tenant.id, operator, password, device=device)
    except StandingChanged:
        # the record changed during the argon2 check: another sign-in rehashed the password, or
        # an admin or a password change got there. Check once more against it as it is now
        # (a second argon2 verification, on this rare path only); what changed again is refused
        operator = svc.store.staff.get(tenant.id, operator.id)
        if operator is None or not passwords.verify_password(operator.password_hash, password):
            raise InvalidCredentials() from None
        try:
            return _open_session(svc, tenant.id, operator, password, device=device)
        except StandingChanged:
            raise InvalidCredentials("the account changed during sign-in") from None


def _attempt_keys(svc: Services, tenant_id: str, email: str, device_token: str | None,
                  ip: str | None) -> list[tuple[str, str]]:
    """The rate-limit keys one password attempt counts under (module docstring): a known
    device's own key; or, from an unknown device, the account from this address and the
    account's ceiling for unknown devices; and the address in both cases."""
    account = f"signin#{tenant_id}#{email.lower()}"
    device = svc.tokens.device_id(device_token, tenant=tenant_id, email=email) if device_token else None
    if device is not None:
        keys = [("account", f"{account}#device#{device}")]
    else:
        source = f"{account}#ip#{ratelimit.client_bucket(ip)}" if ip else account
        keys = [("account", source), ("untrusted", account)]
    if ip:
        keys.append(("ip", ip))
    return keys


def _open_session(svc: Services, tenant: str, operator: Operator, password: str, *,
                  device: str | None) -> sessions.TokenBundle:
    """The checks after a correct password: blocked, a rehash due, a second factor; then the
    session, opened only if the operator's record is still as read (:class:`StandingChanged`)."""
    if operator.blocked:
        # A blocked account answers its correct password exactly as a wrong one (401
        # invalid_credentials, same body, same work: the argon2 check is done, one audit write
        # follows). "Blocked" would tell whoever typed it that the password is right, and a
        # blocked account is the one nobody watches any more (a departed colleague, whose
        # password may open other sites too). The blocked person needs nothing from this
        # answer: only their admin can unblock them, and the admin sees the attempt in the
        # audit log as sign_in_failed, reason "blocked".
        audit.record(
            svc.store,
            tenant=tenant,
            kind="sign_in_failed",
            retention_days=svc.settings.audit_retention_days,
            subject=operator.id,
            reason="blocked",
        )
        raise InvalidCredentials()
    if operator.password_hash and passwords.needs_rehash(operator.password_hash):
        from msgspec.structs import replace

        rehashed = passwords.hash_password(password)
        svc.store.staff.set_password_hash(tenant, operator.id, rehashed, replacing=operator.password_hash)
        operator = replace(operator, password_hash=rehashed)
    if operator.totp_enabled:
        from switchboard.auth import mfa

        raise mfa.begin_challenge(svc, operator)
    return sessions.sign_in_operator(svc, operator, method="password", device=device)
