"""Device sign-in for the ``switchboard`` command line (RFC 8628, the device authorization grant).

1. The CLI asks ``POST /auth/device`` (optionally naming its tenant) and gets a ``device_code``
   (a secret it keeps), a ``user_code`` (for a person: 8 letters, ``BCDF-GHJK``), the
   ``verification_uri`` (the back office's page to approve it), ``expires_in`` (600 s) and
   ``interval`` (5 s).
2. An admin signed in to the back office approves the user code: ``POST /auth/device/approve
   {"user_code"}`` with their Bearer token (or denies it: ``"action": "deny"``).
3. The CLI polls ``POST /auth/device/token {"grant_type":
   "urn:ietf:params:oauth:grant-type:device_code", "device_code"}``: 400 ``authorization_pending``
   until then, ``slow_down`` when it polls faster than ``interval`` (which then grows by 5 s, RFC
   8628 §3.5), ``access_denied`` if denied, ``expired_token`` after ``expires_in``; once approved,
   the token response - once.

**Whose tokens.** The session is the approving admin's own: the device is signed in *as the
person who approved it*, as the Dart authenticator's device flow signs the approving user in on
the device. An admin cannot sign anyone else in this way, and an operator (not an admin) cannot
approve at all (403): the CLI's commands are tenant administration. The session's method is
``device`` (client ``switchboard-cli``); it stands on the admin's record like a password
session (blocking or demoting the admin ends it) and is listed in their ``/auth/sessions``.

**Secrets and guessing.** The device code is an opaque token (``sbd1.<id>.<256 random bits>``),
only its SHA-256 stored. The user code has 20^8 (~2^34.5) values from RFC 8628 §6.1's
consonant alphabet (no vowels: no words; no look-alikes), lives 10 minutes, and can only be
approved by a signed-in admin, whose wrong codes count against their account's rate limit
(10 a minute): guessing a live code is out of reach, and an approval names one code exactly.
Creating requests is rate limited per client address.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from typing import Any

from switchboard.admin import audit
from switchboard.auth import ratelimit, sessions
from switchboard.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    Forbidden,
    InvalidToken,
    NotFound,
    SlowDown,
    StandingChanged,
)
from switchboard.runtime import Services
from switchboard.tokens import opaque

__all__ = ["DEVICE_GRANT", "EXPIRES_IN", "INTERVAL", "USER_CODE_ALPHABET", "approve", "poll", "start"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_PREFIX = "sbd1"
EXPIRES_IN = 600
INTERVAL = 5
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: "the interval MUST be increased by 5 seconds"
#: RFC 8628 §6.1: 20 consonants, no vowels (no words), none that reads as another
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}\Z")


def _user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def normal_user_code(typed: str) -> str | None:
    """A user code as typed (any case, with or without its dash or spaces), or None if it cannot be one."""
    code = "".join(c for c in typed.upper() if c not in "- ")
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def start(svc: Services, *, tenant: str | None, ip: str | None = None, now: int | None = None) -> dict[str, Any]:
    """``POST /auth/device``: a new device authorization request."""
    now = int(now if now is not None else time.time())
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)], now=now)
    if tenant is not None:
        svc.tenants.get(tenant)  # 404 for a tenant that does not exist
    device_id = secrets.token_urlsafe(16)
    token, token_hash = opaque.make(DEVICE_PREFIX, [device_id])
    for _ in range(5):  # a taken code (2^-34 a draw per live code) is drawn again
        code = _user_code()
        if svc.store.devices.create(device_id, code_hash=token_hash, user_code=code, tenant=tenant, now=now,
                                    expires_at=now + EXPIRES_IN, interval=INTERVAL):
            break
    else:  # pragma: no cover - five collisions in a row
        from switchboard.errors import Unavailable

        raise Unavailable("no user code could be made; try again")
    base = svc.settings.backoffice_url
    return {"device_code": token, "user_code": shown(code), "verification_uri": f"{base}#/device",
            "verification_uri_complete": f"{base}#/device/{shown(code)}", "expires_in": EXPIRES_IN,
            "interval": INTERVAL}


def approve(svc: Services, caller: sessions.Caller, *, user_code: str, allow: bool = True,
            now: int | None = None) -> dict[str, Any]:
    """``POST /auth/device/approve``: the signed-in admin approves (or denies) the request of
    ``user_code``; approved, the device will be signed in as this admin."""
    now = int(now if now is not None else time.time())
    if caller.session.role != "admin":
        raise Forbidden("only an admin can approve a device sign-in")
    # every attempt counts against the admin's account: a wrong code is a guess
    ratelimit.check(svc.store, svc.settings, [("account", f"device#{caller.tenant}#{caller.user_id}")], now=now)
    code = normal_user_code(user_code)
    request = svc.store.devices.by_user_code(code) if code else None
    if (request is None or request.get("user_code") != code or request["expires_at"] <= now
            or request.get("tenant") not in (None, caller.tenant)):
        raise NotFound("no such code, or it has expired")
    device_id = request["device_id"]
    if not svc.store.devices.decide(device_id, status="approved" if allow else "denied", tenant=caller.tenant,
                                    user_id=caller.user_id, now=now):
        raise NotFound("no such code, or it was decided already")
    audit.record(svc.store, tenant=caller.tenant, kind="device_approved" if allow else "device_denied",
                 retention_days=svc.settings.audit_retention_days, actor=caller.user_id, subject=caller.user_id,
                 session_id=caller.session.id)
    return {"user_code": shown(code), "approved": allow}  # type: ignore[arg-type]


def poll(svc: Services, *, device_code: str, device: str | None, ip: str | None = None,
         now: int | None = None) -> sessions.TokenBundle:
    """``POST /auth/device/token``: RFC 8628 §3.4-3.5's answers, or the approving admin's tokens."""
    now = int(now if now is not None else time.time())
    try:
        (device_id,), secret = opaque.parse(device_code, DEVICE_PREFIX, 1)
    except InvalidToken:
        raise InvalidToken("the device_code is not valid") from None
    if not _DEVICE_ID.match(device_id):
        raise InvalidToken("the device_code is not valid")
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)], now=now)
    request = svc.store.devices.get(device_id)
    presented = opaque.digest(secret)
    if request is None or not hmac.compare_digest(request["hash"], presented):
        raise InvalidToken("the device_code is not valid")
    if request["status"] == "issued":
        raise InvalidToken("the device_code was used already")
    if request["expires_at"] <= now:
        raise ExpiredToken()
    if request["status"] == "denied":
        raise AccessDenied()
    interval = int(request["interval"])
    if now - int(request["last_poll"]) < interval:
        # too fast: from now on it is held to 5 s more (and this poll counts as its last)
        svc.store.devices.polled(device_id, now=now, last=int(request["last_poll"]), interval=interval + SLOW_DOWN_STEP)
        raise SlowDown(interval=interval + SLOW_DOWN_STEP)
    if not svc.store.devices.polled(device_id, now=now, last=int(request["last_poll"]), interval=interval):
        raise SlowDown(interval=interval + SLOW_DOWN_STEP)  # another poll of this code at the same moment
    if request["status"] == "pending":
        raise AuthorizationPending()
    op = svc.store.staff.get(request["approver_tenant"], request["approver"])
    if op is None or op.blocked or op.role != "admin":
        raise AccessDenied("the approving admin cannot sign in any more")
    if not svc.store.devices.spend(device_id, code_hash=presented):
        raise InvalidToken("the device_code was used already")
    try:
        return sessions.sign_in_operator(svc, op, method="device", device=device or "switchboard CLI")
    except StandingChanged:  # blocked, removed or demoted meanwhile
        raise AccessDenied("the approving admin cannot sign in any more") from None
