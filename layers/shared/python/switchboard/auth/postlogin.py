"""The post-login hook every sign-in goes through, like an Auth0 Action.

It decides the scopes of the new session, the namespaced custom claims of the access
token, and may deny the sign-in. Our own logins and refreshes call :func:`run`
in-process; the PostLogin function exposes the same logic to Cognito and Auth0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

from switchboard.errors import Forbidden, ValidationFailed
from switchboard.models import Operator, Tenant
from switchboard.policy import Role, default_scopes, level_of
from switchboard.tokens.access import RESERVED_CLAIMS

__all__ = ["Grants", "Principal", "run", "validate_claim_names"]


class Principal(msgspec.Struct, frozen=True):
    """Who is signing in, once their credentials have been checked."""

    tenant: str
    user_id: str
    role: Role
    anon: bool
    name: str
    method: str
    email: str | None = None

    @property
    def level(self) -> int:
        return level_of(self.role, anonymous=self.anon)

    @property
    def email_vouched(self) -> bool:
        """Whether someone vouches for ``email`` (a password account, an identity provider). A
        website visitor's (``identified``: the HMAC covers the id only) is whatever the page
        sends, so no rule is based on it - at sign-in or at any refresh of that session."""
        return self.method != "identified"

    @classmethod
    def for_operator(cls, op: Operator, *, method: str) -> Principal:
        """An operator or admin signing in (``method``: how their credentials were checked)."""
        return cls(tenant=op.tenant, user_id=op.id, role=Role(op.role), anon=False, name=op.name, method=method,
                   email=op.email)


class Grants(msgspec.Struct, frozen=True):
    scopes: tuple[str, ...]
    claims: dict[str, Any] = msgspec.field(default_factory=dict)


def validate_claim_names(claims: Mapping[str, Any]) -> None:
    """Custom claims must be namespaced URIs (``https://host/name``, as the contract writes
    them: https only - a namespace names a host its owner controls) and not reserved.

    Called when a tenant's hook configuration is saved, so a bad name is refused at
    configuration time rather than at someone's sign-in.
    """
    for name in claims:
        parts = urlsplit(name)
        if (
            name in RESERVED_CLAIMS
            or parts.scheme != "https"
            or not parts.netloc
            or parts.path in ("", "/")
        ):
            raise ValidationFailed(f"custom claim {name!r} must be a namespaced URI such as https://example.com/plan")


def run(tenant: Tenant, principal: Principal, *, namespace: str) -> Grants:
    """Apply the tenant's post-login rules to a sign-in; raises :class:`Forbidden` to deny."""
    if principal.email and principal.email_vouched and tenant.deny_email_domains:
        domain = principal.email.rsplit("@", 1)[-1].lower()
        if domain in tenant.deny_email_domains:
            raise Forbidden("sign-in denied by the tenant's post-login rules")
    scopes = default_scopes(principal.role, anonymous=principal.anon, visitor_attachments=tenant.visitor_attachments)
    claims: dict[str, Any] = {
        f"{namespace}/tenant": tenant.id,
        f"{namespace}/role": principal.role.value,
        f"{namespace}/level": principal.level,
    }
    claims.update(tenant.claims)
    return Grants(scopes=scopes, claims=claims)
