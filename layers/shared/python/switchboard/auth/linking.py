"""One record per staff member, any number of ways in (contract section 7).

A federated sign-in of staff - SSO (``oidc:<provider>``), Cognito, Auth0 - lands on the
person's operator record:

1. the identity already linked (one read of its pointer: (provider, subject) -> person);
2. else the record invited with that email, if the provider says the email is verified
   (one read of the email pointer: email -> person); the identity is linked to it;
3. else, for an SSO provider whose ``allowed_domains`` holds the email's domain, a new
   operator record is made with the identity linked;
4. else it is refused and nothing is written (:class:`SignInRefused` ``not_invited``).

Links and creations are transactions with conditional pointer writes
(:mod:`switchboard.store.identities`): two first sign-ins of one person at once link or create
one record; the one that loses reads again and finds it.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import msgspec
from msgspec.structs import replace

from switchboard.admin import audit
from switchboard.auth import sessions
from switchboard.auth.identity import new_operator_id
from switchboard.errors import Conflict, Forbidden, NotFound, SignInRefused, Unavailable
from switchboard.models import Identity, IdentityProvider, Operator
from switchboard.runtime import Services

__all__ = ["IDENTITY_ID", "Claimed", "list_identities", "resolve", "unlink"]

#: an identity's id: ``password`` or ``i-`` and 16 hex digits (a path segment: nothing else is looked up)
IDENTITY_ID = r"^(?:password|i-[0-9a-f]{16})\Z"
#: how many times a link or creation that lost a race reads again before answering 503
ATTEMPTS = 3
PASSWORD_METHODS = frozenset({"password", "password+totp", "invitation"})


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    """Who an identity provider vouches for, once its token or hook is verified."""

    tenant: str
    kind: str  # "oidc" | "cognito" | "auth0"
    subject: str
    provider: str | None = None
    email: str | None = None
    email_verified: bool = False
    name: str | None = None

    @property
    def kind_name(self) -> str:
        return f"{self.kind}:{self.provider}" if self.provider else self.kind


def resolve(svc: Services, claimed: Claimed, *, admits: IdentityProvider | None = None,
            now: int | None = None) -> tuple[Operator, Identity]:
    """The staff record this sign-in lands on and the identity it came through (linking it
    first when it is new); :class:`SignInRefused` when the tenant does not let it in."""
    now = int(now if now is not None else time.time())
    for _ in range(ATTEMPTS):
        user_id = svc.store.identities.find(claimed.tenant, claimed.kind_name, claimed.subject)
        if user_id is not None:
            op = svc.store.staff.get(claimed.tenant, user_id)
            identity = next((i for i in (op.linked.values() if op else ())
                             if i.kind_name == claimed.kind_name and i.subject == claimed.subject), None)
            if op is None or identity is None:  # removed between the two reads: as if never linked
                raise SignInRefused("not_invited", "nobody in this tenant has this identity")
            if op.blocked:
                raise SignInRefused("access_denied", "this account is blocked")
            return op, identity
        if not claimed.email:
            raise SignInRefused("not_invited", "the provider named no email to find an invitation by")
        if not claimed.email_verified:
            # an unverified address proves nothing: linking by it would let anyone who can type a
            # colleague's address into a provider's profile become that colleague
            raise SignInRefused("email_not_verified", "the provider has not verified this email")
        identity = Identity(id=f"i-{secrets.token_hex(8)}", kind=claimed.kind, subject=claimed.subject,
                            linked_at=now, provider=claimed.provider, email=claimed.email.lower())
        op = svc.store.staff.get_by_email(claimed.tenant, claimed.email)
        try:
            if op is not None:
                if op.blocked:
                    raise SignInRefused("access_denied", "this account is blocked")
                svc.store.identities.link(op, identity)
                _record(svc, op, "identity_linked", identity)
                return replace(op, identities={**op.linked, identity.id: identity}), identity
            if admits is not None and admits.admits(claimed.email):
                op = Operator(tenant=claimed.tenant, id=new_operator_id(), email=claimed.email.lower(),
                              name=(claimed.name or claimed.email.split("@")[0])[:100], role="operator",
                              password_hash=None, created_at=now, identities={identity.id: identity})
                svc.store.identities.create_with(op, identity)
                _record(svc, op, "operator_created", identity)
                return op, identity
        except Conflict:  # another sign-in linked or created first (or an admin changed the record)
            continue
        raise SignInRefused("not_invited", "nobody in this tenant was invited with this email")
    raise Unavailable("the account is being changed by someone else; try again")


def _record(svc: Services, op: Operator, kind: str, identity: Identity) -> None:
    audit.record(svc.store, tenant=op.tenant, kind=kind, retention_days=svc.settings.audit_retention_days,
                 actor=op.id, subject=op.id, identity=identity.kind_name, identity_id=identity.id)


def _own_record(svc: Services, caller: sessions.Caller) -> Operator:
    op = svc.store.staff.get(caller.tenant, caller.user_id) if caller.session.on_record else None
    if op is None:
        raise Forbidden("only staff members with a record have linked identities")
    return op


def list_identities(svc: Services, caller: sessions.Caller) -> dict[str, Any]:
    """``GET /auth/identities``: the caller's ways in - the password (if set), then each
    linked identity, oldest first."""
    op = _own_record(svc, caller)
    out: list[dict[str, Any]] = []
    if op.password_hash is not None:
        out.append({"id": "password", "kind": "password", "email": op.email, "linked_at": op.created_at})
    out += [i.to_json() for i in sorted(op.linked.values(), key=lambda i: (i.linked_at, i.id))]
    return {"identities": out}


def unlink(svc: Services, caller: sessions.Caller, identity_id: str) -> dict[str, Any]:
    """``DELETE /auth/identities/{id}``: one way in less, never the last (409 ``conflict``,
    decided by the stored record in the write's own condition, so two unlinks at once cannot
    leave none). The sessions opened through it end (those of the password: ``password``,
    ``password+totp``, ``invitation``), the caller's own too if it was one of them."""
    op = _own_record(svc, caller)
    if identity_id == "password":
        if op.password_hash is None:
            raise NotFound("no such identity")
        methods = PASSWORD_METHODS
    elif identity_id in op.linked:
        methods = frozenset({op.linked[identity_id].kind_name})
    else:
        raise NotFound("no such identity")
    try:
        svc.store.identities.unlink(op, identity_id)
    except Conflict:
        raise Conflict("the last way to sign in cannot be removed") from None
    ended = sessions.end_user_sessions(svc, op.tenant, op.id, reason="identity_unlinked",
                                       only=lambda s: s.method in methods)
    audit.record(svc.store, tenant=op.tenant, kind="identity_unlinked",
                 retention_days=svc.settings.audit_retention_days, actor=op.id, subject=op.id,
                 session_id=caller.session.id, identity_id=identity_id, revoked_sessions=len(ended))
    return {"unlinked": identity_id, "revoked_sessions": len(ended)}
