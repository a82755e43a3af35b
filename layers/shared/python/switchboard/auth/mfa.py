"""Operators' second factor: TOTP (RFC 6238) with pyotp.

* **Enrolment** keeps a fresh secret aside (``totp_pending``) and turns MFA on only when
  one valid code proves the authenticator app holds it. The secret is shown once, at
  enrolment, and never returned or logged again.
* **Sign-in** with MFA on: the password step answers 401 ``mfa_required`` with an
  ``mfa_token`` (opaque, single use, 5 minutes, at most 5 wrong codes); ``POST /auth/mfa``
  exchanges it and a code for tokens.
* **Codes**: 6 digits, 30 s steps, one step of clock drift either way, compared in
  constant time. A code is accepted once: the accepted time step is stored and only a
  later step passes next time (one conditional write, so two requests racing with the
  same code cannot both win). Wrong codes count toward the account's rate limit.
* Turning MFA on or off revokes the user's other sessions: on, because they were opened
  with the password alone - the reason to turn it on may be that someone else knows it;
  off (which needs a current code), because the account just got weaker.
* **At rest** the secret is sealed under a KMS key of its own (:mod:`switchboard.tokens.sealing`),
  bound to its operator; it is opened only to check a code.
* **Recovery codes**: confirming TOTP answers 10 single-use codes (``XXXX-XXXX-XXXX-XXXX``, 16
  characters of an alphabet without 0/O, 1/I: 80 bits each), shown once and stored only as
  SHA-256 digests bound to the operator (``RC#<digest>`` items: 80 random bits need no slow
  hash). ``POST /auth/mfa`` takes ``recovery_code`` in place of ``code``: the same challenge,
  the same rate limits and 5 wrong tries; a code works once (a conditional delete). Turning
  MFA off, by the operator or an admin, deletes them; enrolling again gives new ones.
"""

from __future__ import annotations

import hmac
import io
import secrets
import time
from typing import Any

from switchboard.admin import audit
from switchboard.auth import ratelimit
from switchboard.errors import Forbidden, InvalidMfa, MfaRequired, NotFound, SwitchboardError, ValidationFailed
from switchboard.models import Operator
from switchboard.runtime import Services
from switchboard.tokens import opaque
from switchboard.tokens.sealing import SealBroken, totp_context

__all__ = ["RECOVERY_ALPHABET", "begin_challenge", "confirm", "disable", "enroll", "exchange", "matching_step",
           "new_recovery_codes", "recovery_digest"]

STEP_SECONDS = 30
DRIFT_STEPS = 1
CHALLENGE_SECONDS = 300
CHALLENGE_ATTEMPTS = 5
MFA_PREFIX = "sbm1"
STAFF = frozenset({"operator", "admin"})
RECOVERY_CODES = 10
#: 32 characters, none that reads as another (no 0/O, 1/I): 5 bits each, 16 of them = 80 bits
RECOVERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
RECOVERY_LENGTH = 16


def new_recovery_codes() -> list[str]:
    """Ten fresh recovery codes, as shown: ``XXXX-XXXX-XXXX-XXXX``."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append("-".join(raw[i:i + 4] for i in range(0, RECOVERY_LENGTH, 4)))
    return codes


def recovery_digest(tenant: str, user_id: str, code: str) -> str | None:
    """What is stored of a recovery code: SHA-256 of the operator and the code as typed, in any
    case, with or without its dashes and spaces (None: not of the form, no code at all). Bound
    to the operator, so a digest copied to another operator's partition opens nothing."""
    import hashlib

    normal = "".join(c for c in code.upper() if c not in "- ")
    if len(normal) != RECOVERY_LENGTH or any(c not in RECOVERY_ALPHABET for c in normal):
        return None
    return hashlib.sha256(f"{tenant}\n{user_id}\n{normal}".encode()).hexdigest()


def matching_step(secret: str, code: str, *, now: int | None = None) -> int | None:
    """The time step whose code ``code`` is (now, or one step either side), else None."""
    import pyotp

    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now if now is not None else time.time()) // STEP_SECONDS
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # compare every candidate (no early exit), in constant time
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            found = step
    return found


def _operator(svc: Services, tenant: str, user_id: str) -> Operator:
    op = svc.store.staff.get(tenant, user_id)
    if op is None:
        raise NotFound("no such operator")
    return op


def _secret(svc: Services, op: Operator, stored: str) -> str | None:
    """The operator's TOTP secret out of its sealed form; None if it does not open (an
    altered or moved record): every code is then wrong, as the caller is told."""
    try:
        return svc.sealer.open(stored, context=totp_context(op.tenant, op.id))
    except SealBroken:
        from switchboard.observability import logger

        logger.warning("a sealed TOTP secret did not open", extra={"tenant": op.tenant, "user_id": op.id})
        return None


def _check(svc: Services, op: Operator, stored: str, code: str, *, now: int | None = None) -> int | None:
    """The time step ``code`` is for, against the operator's sealed secret ``stored``."""
    secret = _secret(svc, op, stored)
    return matching_step(secret, code, now=now) if secret is not None else None


def _staff(caller: Any) -> None:
    if caller.session.role not in STAFF:
        raise Forbidden("only operators and admins have a second factor")


def _qr_svg(uri: str) -> str:
    import segno

    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, title="TOTP QR code")
    return out.getvalue().decode()


def enroll(svc: Services, caller: Any) -> dict[str, Any]:
    """A fresh secret for the caller's authenticator app: ``secret``, ``otpauth_uri``, ``qr_svg``."""
    import pyotp

    _staff(caller)
    op = _operator(svc, caller.tenant, caller.user_id)
    if op.totp_enabled:
        raise ValidationFailed("MFA is already on; turn it off first to enrol a new authenticator")
    secret = pyotp.random_base32(length=32)  # 160 bits from the secrets module (RFC 4226's advice)
    svc.store.staff.set_totp_pending(op.tenant, op.id, svc.sealer.seal(secret, context=totp_context(op.tenant, op.id)))
    tenant = svc.tenants.get(op.tenant)
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=op.email, issuer_name=tenant.name)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": _qr_svg(uri)}


def _limit(svc: Services, *, ip: str | None, account: tuple[str, str] | None) -> None:
    """Count an MFA attempt under the client IP and (``(tenant, user id)``) the account."""
    keys = [("account", "mfa#{}#{}".format(*account))] if account else []
    if ip:
        keys.append(("ip", ip))
    if keys:
        ratelimit.check(svc.store, svc.settings, keys)


def confirm(svc: Services, caller: Any, code: str, *, ip: str | None = None) -> dict[str, Any]:
    """Turn MFA on once a code from the pending secret is valid, and end the user's other
    sessions: they were opened with the password alone."""
    from switchboard.auth import sessions

    _staff(caller)
    _limit(svc, ip=ip, account=(caller.tenant, caller.user_id))
    op = _operator(svc, caller.tenant, caller.user_id)
    if op.totp_enabled:
        raise ValidationFailed("MFA is already on")
    if not op.totp_pending:
        raise ValidationFailed("enrol first: POST /auth/totp/enroll")
    step = _check(svc, op, op.totp_pending, code)
    if step is None:
        raise InvalidMfa()
    # the codes are stored before MFA goes on: never MFA on without them (codes of an enrolment
    # that then fails open nothing - they need a challenge, which needs MFA on - and the next
    # confirmation replaces them)
    codes = new_recovery_codes()
    svc.store.recovery.replace_codes(op.tenant, op.id,
                                     [d for c in codes if (d := recovery_digest(op.tenant, op.id, c))])
    if not svc.store.staff.enable_totp(op.tenant, op.id, op.totp_pending, step):
        raise InvalidMfa()
    ended = sessions.end_user_sessions(svc, op.tenant, op.id, keep=caller.session.id, reason="mfa_enabled")
    audit.record(svc.store, tenant=op.tenant, kind="mfa_enabled", retention_days=svc.settings.audit_retention_days,
                 actor=op.id, subject=op.id, session_id=caller.session.id, revoked_sessions=len(ended))
    return {"mfa_enabled": True, "revoked_sessions": len(ended), "recovery_codes": codes}


def disable(svc: Services, caller: Any, code: str, *, ip: str | None = None) -> dict[str, Any]:
    """Turn MFA off (a current code is needed) and end the user's other sessions."""
    from switchboard.auth import sessions

    _staff(caller)
    _limit(svc, ip=ip, account=(caller.tenant, caller.user_id))
    op = _operator(svc, caller.tenant, caller.user_id)
    if not op.totp_enabled or not op.totp_secret:
        raise ValidationFailed("MFA is not on")
    step = _check(svc, op, op.totp_secret, code)
    if step is None or not svc.store.staff.use_totp_step(op.tenant, op.id, step):
        raise InvalidMfa()
    svc.store.staff.disable_totp(op.tenant, op.id)
    svc.store.recovery.drop_codes(op.tenant, op.id)
    ended = sessions.end_user_sessions(svc, op.tenant, op.id, keep=caller.session.id, reason="mfa_disabled")
    audit.record(svc.store, tenant=op.tenant, kind="mfa_disabled", retention_days=svc.settings.audit_retention_days,
                 actor=op.id, subject=op.id, session_id=caller.session.id, revoked_sessions=len(ended))
    return {"mfa_enabled": False, "revoked_sessions": len(ended)}


def _password_digest(op: Operator) -> str:
    """What a challenge remembers of the password it was earned with: a password change (which
    also deletes pending challenges) makes every challenge earned before it worthless, even one
    a sign-in in flight writes after the change."""
    import hashlib

    return hashlib.sha256((op.password_hash or "").encode()).hexdigest()


def begin_challenge(svc: Services, op: Operator, *, now: int | None = None) -> MfaRequired:
    """After a correct password for an operator with MFA on: the ``mfa_required`` answer."""
    now = int(now if now is not None else time.time())
    challenge_id = secrets.token_urlsafe(12)
    token, token_hash = opaque.make(MFA_PREFIX, [op.tenant, op.id, challenge_id])
    svc.store.staff.put_mfa_challenge(op.tenant, op.id, challenge_id, token_hash, expires_at=now + CHALLENGE_SECONDS,
                                password=_password_digest(op))
    return MfaRequired("enter the code from your authenticator app", mfa_token=token,
                       expires_in=CHALLENGE_SECONDS)


def exchange(svc: Services, mfa_token: str, code: str | None, *, ip: str | None, device: str | None,
             recovery_code: str | None = None) -> Any:
    """``POST /auth/mfa``: a valid challenge and a fresh code - or one of the operator's unused
    recovery codes - give the session's tokens."""
    from switchboard.auth import sessions
    from switchboard.errors import InvalidToken, StandingChanged

    try:
        (tenant, user_id, challenge_id), secret = opaque.parse(mfa_token, MFA_PREFIX, 3)
    except InvalidToken:
        raise InvalidMfa("the mfa_token is not valid") from None
    # the account's count is kept by holders of a real challenge (who knew the password); a
    # forged token names any operator, so it is counted by its IP alone and cannot lock them out
    _limit(svc, ip=ip, account=None)
    now = int(time.time())
    challenge = svc.store.staff.get_mfa_challenge(tenant, user_id, challenge_id)
    token_hash = opaque.digest(secret)
    if (challenge is None or challenge["expires_at"] <= now
            or not hmac.compare_digest(challenge["hash"], token_hash)):
        raise InvalidMfa("the mfa_token is not valid or has expired; sign in again")
    _limit(svc, ip=None, account=(tenant, user_id))
    op = svc.store.staff.get(tenant, user_id)
    if (op is None or op.blocked or not op.totp_enabled or not op.totp_secret
            or not hmac.compare_digest(str(challenge.get("password", "")), _password_digest(op))):
        # gone, blocked, MFA off, or the password changed since this challenge was earned
        raise InvalidMfa("the mfa_token is not valid or has expired; sign in again")
    if recovery_code is not None:
        return _with_recovery_code(svc, op, challenge_id, token_hash, recovery_code, now=now, device=device)
    step = _check(svc, op, op.totp_secret, code or "", now=now)
    # a code used already (the one typed at enrolment, say) is a wrong code for this challenge,
    # which stays usable for the next code like after any wrong one; use_totp_step below still
    # settles two fresh codes of one step racing
    replayed = step is not None and step <= op.totp_last_step
    if step is None or replayed:
        if not svc.store.staff.count_mfa_failure(tenant, user_id, challenge_id, max_attempts=CHALLENGE_ATTEMPTS):
            svc.store.staff.consume_mfa_challenge(tenant, user_id, challenge_id, token_hash, now=now)
        audit.record(svc.store, tenant=tenant, kind="sign_in_failed", retention_days=svc.settings.audit_retention_days,
                     subject=user_id, reason="mfa_code_replayed" if replayed else "invalid_mfa")
        raise InvalidMfa("this code was used already; wait for the next one") if replayed else InvalidMfa()
    if not svc.store.staff.consume_mfa_challenge(tenant, user_id, challenge_id, token_hash, now=now):
        raise InvalidMfa("the mfa_token was used already; sign in again")
    if not svc.store.staff.use_totp_step(tenant, user_id, step):
        audit.record(svc.store, tenant=tenant, kind="sign_in_failed", retention_days=svc.settings.audit_retention_days,
                     subject=user_id, reason="mfa_code_replayed")
        raise InvalidMfa("this code was used already; wait for the next one")
    _seal_if_plain(svc, op, op.totp_secret)
    try:
        return sessions.sign_in_operator(svc, op, method="password+totp", device=device)
    except StandingChanged:  # blocked, removed or given a new password since it was read
        raise InvalidMfa("the account changed; sign in again") from None


def _with_recovery_code(svc: Services, op: Operator, challenge_id: str, token_hash: str, code: str, *, now: int,
                        device: str | None) -> Any:
    """The second step with a recovery code: a wrong one counts against the challenge like a
    wrong TOTP code; a right one is spent (once: a conditional delete) with the challenge."""
    from switchboard.auth import sessions
    from switchboard.errors import StandingChanged

    digest = recovery_digest(op.tenant, op.id, code)
    if digest is None or not svc.store.recovery.has_code(op.tenant, op.id, digest):
        if not svc.store.staff.count_mfa_failure(op.tenant, op.id, challenge_id, max_attempts=CHALLENGE_ATTEMPTS):
            svc.store.staff.consume_mfa_challenge(op.tenant, op.id, challenge_id, token_hash, now=now)
        audit.record(svc.store, tenant=op.tenant, kind="sign_in_failed",
                     retention_days=svc.settings.audit_retention_days, subject=op.id, reason="invalid_recovery_code")
        raise InvalidMfa("the recovery code is wrong or was used already")
    if not svc.store.staff.consume_mfa_challenge(op.tenant, op.id, challenge_id, token_hash, now=now):
        raise InvalidMfa("the mfa_token was used already; sign in again")
    if not svc.store.recovery.use_code(op.tenant, op.id, digest):  # another request spent it meanwhile
        raise InvalidMfa("the recovery code is wrong or was used already")
    try:
        return sessions.sign_in_operator(svc, op, method="password+recovery_code", device=device)
    except StandingChanged:  # blocked, removed or given a new password since it was read
        raise InvalidMfa("the account changed; sign in again") from None


def _seal_if_plain(svc: Services, op: Operator, stored: str) -> None:
    """A secret stored before sealing existed is sealed at its operator's next MFA sign-in
    (a conditional write: a concurrent enrolment or disable wins)."""
    from switchboard.tokens.sealing import PREFIX

    if stored.startswith(PREFIX):
        return
    try:  # best effort: the sign-in needs no KMS for a plaintext secret, and the challenge is spent already
        sealed = svc.sealer.seal(stored, context=totp_context(op.tenant, op.id))
        svc.store.staff.replace_totp_secret(op.tenant, op.id, old=stored, new=sealed)
    except SwitchboardError:
        from switchboard.observability import logger

        logger.warning("a plaintext TOTP secret could not be sealed yet; next sign-in tries again",
                       extra={"tenant": op.tenant, "user_id": op.id})
