"""Website visitors sign in: anonymous, or vouched for by the website's backend (HMAC).

Apart from :mod:`switchboard.auth.logins` (operators' passwords) so that the visitors' function
never loads argon2.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from switchboard.admin import audit
from switchboard.auth import ratelimit, sessions
from switchboard.auth.identity import (
    MAX_ATTRIBUTES_BYTES,
    anonymous_visitor_id,
    canonical_attributes,
    known_visitor_id,
    verify_attributes_hash,
    verify_visitor_hash,
)
from switchboard.auth.postlogin import Principal
from switchboard.errors import Forbidden, InvalidIdentity, ValidationFailed
from switchboard.policy import Role
from switchboard.runtime import Services

__all__ = ["ClaimedVisitor", "external", "keep_attributes", "upgrade_anonymous"]


class ClaimedVisitor(msgspec.Struct, frozen=True, kw_only=True):
    """Who the website says its visitor is; ``hash`` its HMAC of ``id`` (nothing else is vouched for)."""

    id: str
    name: str | None = None
    email: str | None = None
    hash: str | None = None
    #: contract section 8: what the website says of the visitor, and its HMAC of them
    attributes: dict[str, Any] | None = None
    attributes_hash: str | None = None


def external(svc: Services, *, tenant_id: str, visitor: ClaimedVisitor | None, origin: str | None,
             device: str | None, ip: str | None = None, upgrading: str | None = None) -> sessions.TokenBundle:
    """Sign a website visitor in: anonymous (level 0) or vouched for by the website (level 1).

    A claimed identity without the website's valid HMAC is refused outright: there is
    no half-trusted visitor. The HMAC may be made with the tenant's identity secret or with a
    previous one still inside its rotation grace (``admin/tenant.rotate_secret``). When the tenant
    is set to ``verified_visitors_only``, an anonymous sign-in is refused as well (401
    ``invalid_identity``). Rate limited per client IP; failed HMACs are also counted per
    claimed identity, and only failures are: a valid HMAC is never refused for what others
    tried with that id (so nobody can lock a customer out by failing in their name).

    ``upgrading`` (the ``Authorization`` header of an identified sign-in): once the sign-in
    has succeeded, the anonymous visitor of that access token becomes the known one - their
    open conversation is handed over, and the anonymous session ends (its sockets close; the
    widget reconnects). A refused sign-in hands nothing over.
    """
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)])
    tenant = svc.tenants.get(tenant_id)
    if not tenant.allows_origin(origin):
        raise Forbidden("this origin is not allowed for the tenant")
    if visitor is None:
        if tenant.verified_visitors_only:  # the tenant's setting: only visitors its website vouches for
            raise InvalidIdentity("this tenant signs in only visitors its website vouches for")
        principal = Principal(
            tenant=tenant.id,
            user_id=anonymous_visitor_id(),
            role=Role.VISITOR,
            anon=True,
            name="Visitor",
            method="anonymous",
        )
    else:
        user = visitor
        check_attributes_size(user.attributes)
        secrets = svc.tenant_secrets(tenant, "identity", int(time.time()))
        if not user.hash or not any(verify_visitor_hash(secret, user.id, user.hash) for secret in secrets) or (
                user.attributes_hash is not None and not any(
                    verify_attributes_hash(secret, user.id, user.attributes or {}, user.attributes_hash)
                    for secret in secrets)):
            ratelimit.check(svc.store, svc.settings, [("account", f"visitor#{tenant.id}#{user.id}")])
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
            email=user.email,  # not vouched for: Principal.email_vouched
        )
    bundle = sessions.sign_in(svc, principal, device=device)
    if upgrading and not principal.anon:
        upgrade_anonymous(svc, upgrading, tenant=tenant.id, to_user=principal.user_id)
    if visitor is not None and visitor.attributes is not None:
        # signed only by a valid attributes_hash (a wrong one was refused above with the sign-in)
        keep_attributes(svc, tenant.id, principal.user_id, visitor.attributes,
                        signed=visitor.attributes_hash is not None)
    return bundle


def check_attributes_size(attributes: dict[str, Any] | None) -> None:
    """At most 4 KB of canonical JSON (contract section 8); each value's own bounds are the
    request model's."""
    if attributes is not None and len(canonical_attributes(attributes).encode()) > MAX_ATTRIBUTES_BYTES:
        raise ValidationFailed(f"user.attributes: at most {MAX_ATTRIBUTES_BYTES} bytes of JSON")


def keep_attributes(svc: Services, tenant: str, user_id: str, attributes: dict[str, Any], *, signed: bool) -> None:
    """Store this sign-in's attributes as the visitor's (the whole set, replacing the last one,
    so signed and unsigned values never mix), and on their open conversation, if any, so that
    the staff looking at it see them at their next read (support.open copies them onto a new one)."""
    now = int(time.time() * 1000)
    svc.store.visitors.put_attributes(tenant, user_id, attributes, signed=signed, at=now)
    channel_id = svc.store.channels.open_support_id(tenant, user_id)
    channel = svc.store.channels.get(channel_id) if channel_id else None
    if channel is not None and channel.status != "closed" and channel.visitor == user_id:
        svc.store.channels.set_visitor_fields(channel, {"attributes": attributes, "attributes_signed": signed})


def upgrade_anonymous(svc: Services, authorization: str, *, tenant: str, to_user: str) -> None:
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
    channel_id = svc.store.channels.open_support_id(tenant, caller.user_id)
    channel = svc.store.channels.get(channel_id) if channel_id else None
    if channel is not None and channel.status != "closed":
        try:
            svc.store.channels.hand_over(channel, from_user=caller.user_id, to_user=to_user)
        except Conflict:  # the known visitor has an open conversation already: theirs stays theirs
            return
    sessions.end_user_sessions(svc, tenant, caller.user_id, reason="identified")
