"""Request bodies of the HTTP API, as strict pydantic models.

Unknown fields, wrong types and out-of-range sizes fail validation (400
``validation_error``); nothing downstream sees an unchecked value.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from switchboard.policy import ALL_SCOPES

__all__ = [
    "EventsQuery", "ExternalLogin", "InternalLogin", "InviteAcceptance", "MfaLogin", "OperatorChange",
    "OperatorCreation", "PasswordChange", "RefreshRequest", "TotpCode", "VisitorIdentity", "revoke_request",
]

TenantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9@_-]{1,128}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}$", max_length=254)]


def _known_scope(value: str) -> str:
    if value not in ALL_SCOPES:
        raise ValueError("unknown scope")
    return value


Scope = Annotated[str, StringConstraints(max_length=40), AfterValidator(_known_scope)]


class Strict(BaseModel):
    # defer_build: a model's validator is built on its first use, so a function pays only
    # for the models it parses (building all of them at import cost ~35 ms of cold start)
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class VisitorIdentity(Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    name: Annotated[str, StringConstraints(max_length=100)] | None = None
    email: Email | None = None
    hash: Annotated[str, StringConstraints(max_length=128)] | None = None


class ExternalLogin(Strict):
    tenant: TenantId
    user: VisitorIdentity | None = None


class InternalLogin(Strict):
    tenant: TenantId
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class RefreshRequest(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class RevokeSession(Strict):
    kind: Literal["session"]
    session_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class RevokeUser(Strict):
    kind: Literal["user"]
    user_id: UserId | None = None


class RevokeScopes(Strict):
    kind: Literal["scopes"]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(ALL_SCOPES))]
    user_id: UserId | None = None

    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes)


RevokeBody = Annotated[RevokeSession | RevokeUser | RevokeScopes, Field(discriminator="kind")]


@cache
def revoke_request() -> TypeAdapter[RevokeBody]:
    """One ``validate_json`` picks the kind (a tagged union on ``kind``); built on first use."""
    return TypeAdapter(RevokeBody)


class FederatedUser(Strict):
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    email: Email | None = None
    name: Annotated[str, StringConstraints(max_length=100)] | None = None
    role: Literal["visitor", "operator", "admin"] = "visitor"


class PostLoginInvocation(Strict):
    """A direct (IAM-authorised) invocation of the PostLogin function, and the body of the
    Auth0 hook: ``{"tenant", "user": {"user_id", "email"?, "name"?, "role"?}}``."""

    tenant: TenantId
    user: FederatedUser


# -- second factor, passwords, invitations ------------------------------------------------------------
TotpDigits = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
#: NIST SP 800-63B: at least 8 characters, long passphrases welcome; 1024 bounds argon2's input
NewPassword = Annotated[str, StringConstraints(min_length=10, max_length=1024)]


class MfaLogin(Strict):
    mfa_token: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    code: TotpDigits


class TotpCode(Strict):
    code: TotpDigits


class PasswordChange(Strict):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    new_password: NewPassword


class InviteAcceptance(Strict):
    invite_token: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    password: NewPassword


# -- tenant administration ---------------------------------------------------------------------------------
StaffRole = Literal["operator", "admin"]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class OperatorCreation(Strict):
    """``POST /admin/operators``: with ``password`` the account is ready; without, the answer
    carries a one-time ``invite_token`` for the new operator to set their own."""

    email: Email
    name: DisplayName
    role: StaffRole = "operator"
    password: NewPassword | None = None


class OperatorChange(Strict):
    role: StaffRole | None = None
    name: DisplayName | None = None
    blocked: bool | None = None


class EventsQuery(Strict):
    """``GET /admin/events?limit=&cursor=`` (query strings are text: numbers are coerced)."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True, defer_build=True)
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
