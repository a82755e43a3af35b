"""The one error hierarchy. Each leaf knows its HTTP status and stable problem ``code``.

Handlers never catch ``Exception`` for business cases: they let these propagate to
:mod:`switchboard.edge.httpapi`, which renders them once as RFC 9457 problem+json.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from switchboard.models import Session

__all__ = [
    "AccessDenied",
    "AuthorizationPending",
    "Conflict",
    "DeviceGrantError",
    "ExpiredToken",
    "Forbidden",
    "InvalidCredentials",
    "InvalidIdentity",
    "InvalidMfa",
    "InvalidToken",
    "MfaRequired",
    "NotFound",
    "RateLimited",
    "RotationRefused",
    "SessionRevoked",
    "SignInRefused",
    "SlowDown",
    "StandingChanged",
    "SwitchboardError",
    "TokenReused",
    "Unavailable",
    "ValidationFailed",
]


class SwitchboardError(Exception):
    """Root of every error the product answers with. ``detail`` must never hold a secret."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def headers(self) -> dict[str, str]:
        return {}


class ValidationFailed(SwitchboardError):
    status, code, title = 400, "validation_error", "The request is not valid"


class InvalidCredentials(SwitchboardError):
    status, code, title = 401, "invalid_credentials", "Email or password is wrong"


class InvalidIdentity(SwitchboardError):
    status, code, title = 401, "invalid_identity", "The visitor's identity could not be verified"


class MfaRequired(SwitchboardError):
    status, code, title = 401, "mfa_required", "A second factor is required"


class InvalidMfa(SwitchboardError):
    status, code, title = 401, "invalid_mfa", "The second factor is wrong or expired"


class InvalidToken(SwitchboardError):
    status, code, title = 401, "invalid_token", "The token is missing, malformed, expired or not ours"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class TokenReused(SwitchboardError):
    status, code, title = 401, "token_reused", "This refresh token was already used; the session is revoked"


class SessionRevoked(SwitchboardError):
    status, code, title = 401, "session_revoked", "The session has ended"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(SwitchboardError):
    status, code, title = 403, "forbidden", "Not allowed"


class SignInRefused(Forbidden):
    """A federated sign-in (SSO, Cognito, Auth0) the tenant does not let in. ``reason`` is the
    SSO callback's ``#error=`` code: ``not_invited`` (no record with that verified email, no
    linked identity, and no allowed domain), ``email_not_verified``, ``access_denied`` (blocked)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class NotFound(SwitchboardError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(SwitchboardError):
    status, code, title = 409, "conflict", "The resource changed or is in the wrong state"


class RateLimited(SwitchboardError):
    status, code, title = 429, "rate_limited", "Too many attempts"

    def __init__(self, detail: str | None = None, *, retry_after: int, policy: str, limit: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.policy = policy
        self.limit = limit

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after), "RateLimit-Policy": self.policy, "RateLimit": self.limit}


class DeviceGrantError(SwitchboardError):
    """RFC 8628 §3.5's answers to a device's poll: 400, with OAuth's ``error`` beside ``code``
    (an OAuth client reads ``error``)."""

    status = 400

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, error=self.code, **extra)


class AuthorizationPending(DeviceGrantError):
    code, title = "authorization_pending", "The sign-in has not been approved yet; poll again after the interval"


class SlowDown(DeviceGrantError):
    code, title = "slow_down", "Polling too fast: wait the (now longer) interval between polls"


class ExpiredToken(DeviceGrantError):
    code, title = "expired_token", "The device code has expired; start again"


class AccessDenied(DeviceGrantError):
    code, title = "access_denied", "The sign-in was denied"


class Unavailable(SwitchboardError):
    status, code, title = 503, "unavailable", "Temporarily unavailable"


# -- signals between the store and its callers (never answered as such: not SwitchboardErrors) --
class StandingChanged(Exception):
    """The operator a session stands on is gone, blocked, has another role, or (at sign-in)
    another password than the one just checked: the write that needed it did not happen."""


class AssigneeUnavailable(Exception):
    """The operator a new channel was to be born assigned to went away or reached their
    ``max_chats`` between the presence read that picked them and the creation's transaction,
    whose condition refused it: nothing was written; pick again or queue it."""


class RotationRefused(Exception):
    """The conditional rotation failed; ``session`` is the item as it was (None if absent)."""

    def __init__(self, session: Session | None) -> None:
        super().__init__("refresh rotation refused")
        self.session = session
