"""Forgotten passwords: a single-use, 30-minute reset link by mail, and the reset itself.

``POST /auth/password/forgot {"tenant","email"}`` always answers 202 and does the same work
whatever the email is - a known operator, an unknown address, a blocked or invited (never
signed-in) account, an unknown tenant:

* the rate counters (the address, the account's email), the tenant (cached), the email
  pointer and the operator (two reads for an unknown email too: ``Staff.get_by_email``);
* one PutItem of a reset item: the operator's, or for anyone else the same item under the user
  ``-`` (no operator has that id; it expires with the same TTL and can never reset anything:
  the reset's transaction needs the operator's item);
* one SES ``SendEmail`` of the same template: to the operator, or for anyone else to SES's
  mailbox simulator (``success@simulator.amazonses.com``: accepted and dropped by SES, not
  counted against the sending quota or reputation).

So neither the status, the body nor the work (hence the time) tells whether the email is an
operator's: a test compares the AWS calls made for a known and an unknown email, one by one.
Nothing is sent in a background thread (a Lambda is frozen once it answers).

``POST /auth/password/reset {"token","password"}`` spends the link and sets the password
(argon2id) in one transaction, then ends every session of that person (their live sockets
are closed: :func:`~switchboard.auth.sessions.end_user_sessions`), drops their other reset
links and pending MFA challenges. It does not sign in: a second factor, if on, is still asked
at the next sign-in. A used, expired, forged or edited link is 401 ``invalid_token``.

The link is ``<back office URL>#reset=<token>``: in the fragment, which browsers send to no
server (no access log or ``Referer`` holds it). The token is opaque (``sbp1.<tenant, user,
reset id>.<256 random bits>``), only its SHA-256 is stored.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from typing import Any

from switchboard.admin import audit
from switchboard.auth import passwords, ratelimit, sessions
from switchboard.errors import InvalidToken, Unavailable
from switchboard.runtime import Services
from switchboard.tokens import opaque

__all__ = ["RESET_PREFIX", "RESET_SECONDS", "SIMULATOR", "forgot", "reset"]

RESET_PREFIX = "sbp1"
RESET_SECONDS = 30 * 60
#: SES's mailbox simulator: where the mail for an address that is no operator's goes
SIMULATOR = "success@simulator.amazonses.com"
NOBODY = "-"
_LOCATOR_PART = re.compile(r"[A-Za-z0-9@_-]{1,128}\Z")


def forgot(svc: Services, *, tenant_id: str, email: str, ip: str | None = None, now: int | None = None) -> None:
    """Mail a reset link to the operator of ``email`` - or, for any other address, do the same
    work without reaching anyone (module docstring). Rate limited per client address and per
    email (any email: counting only operators' would tell them apart by the 429)."""
    now = int(now if now is not None else time.time())
    keys = [("account", f"forgot#{tenant_id}#{email.lower()}"), *([("ip", ip)] if ip else [])]
    with ratelimit.counting(svc.store, svc.settings, keys, now=now) as attempt:
        tenant = svc.tenants.find(tenant_id)
        op = svc.store.staff.get_by_email(tenant_id if tenant else NOBODY, email)
        attempt.enforce()
    # a person whose ways in are only their company's identity provider (SSO, Cognito, Auth0: no
    # password, or theirs unlinked) is not mailed a link: a reset would add a way in around the
    # provider's MFA and offboarding. They get the same decoy work as an unknown address
    reachable = tenant is not None and op is not None and op.active and op.password_hash is not None
    user_id = op.id if reachable and op is not None else NOBODY
    reset_id = secrets.token_urlsafe(12)
    token, token_hash = opaque.make(RESET_PREFIX, [tenant.id if tenant else NOBODY, user_id, reset_id])
    svc.store.recovery.put_reset(tenant.id if tenant else NOBODY, user_id, reset_id, token_hash,
                                 expires_at=now + RESET_SECONDS)
    params = {"name": op.name if reachable and op is not None else "there",
              "tenant_name": tenant.name if tenant else "Switchboard", "minutes": RESET_SECONDS // 60,
              "link": f"{svc.settings.backoffice_url}#reset={token}"}
    try:
        svc.mailer.send(to=op.email if reachable and op is not None else SIMULATOR, template="password_reset",
                        params=params)
    except Unavailable:
        # the answer stays 202 (a 503 for operators only would tell them apart); the log says so,
        # without the address or the link
        from switchboard.observability import logger

        logger.warning("a password reset mail could not be sent", extra={"tenant": tenant_id})


def _parse(token: str) -> tuple[str, str, str, str]:
    try:
        (tenant, user_id, reset_id), secret = opaque.parse(token, RESET_PREFIX, 3)
    except InvalidToken:
        raise InvalidToken("the reset link is not valid") from None
    # the locator is not secret and not signed: only ids of the forms Switchboard issues reach storage
    if not all(_LOCATOR_PART.match(part) for part in (tenant, user_id, reset_id)):
        raise InvalidToken("the reset link is not valid")
    return tenant, user_id, reset_id, secret


def reset(svc: Services, *, token: str, password: str, ip: str | None = None,
          now: int | None = None) -> dict[str, Any]:
    """Set a new password with a reset link; every session of that person ends."""
    now = int(now if now is not None else time.time())
    tenant, user_id, reset_id, secret = _parse(token)
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)], now=now)
    presented = opaque.digest(secret)
    stored = svc.store.recovery.get_reset(tenant, user_id, reset_id)
    # checked before the argon2 hash is made: a forged link costs one read, not a hash
    if stored is None or stored["expires_at"] <= now or not hmac.compare_digest(stored["hash"], presented):
        raise InvalidToken("the reset link is not valid, was used, or has expired")
    # the account's count: only holders of a real link (a forged one names anyone)
    ratelimit.check(svc.store, svc.settings, [("account", f"reset#{tenant}#{user_id}")], now=now)
    if not svc.store.recovery.use_reset(tenant, user_id, reset_id, presented, now=now,
                                        password_hash=passwords.hash_password(password)):
        raise InvalidToken("the reset link is not valid, was used, or has expired")
    svc.store.recovery.drop_resets(tenant, user_id)
    svc.store.staff.delete_mfa_challenges(tenant, user_id)  # an mfa_token got with the old password
    ended = sessions.end_user_sessions(svc, tenant, user_id, reason="password_reset", now=now)
    audit.record(svc.store, tenant=tenant, kind="password_reset", retention_days=svc.settings.audit_retention_days,
                 actor=user_id, subject=user_id, revoked_sessions=len(ended))
    return {"reset": True, "revoked_sessions": len(ended)}
