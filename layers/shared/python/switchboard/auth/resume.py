"""``POST /auth/resume`` (contract section 8): a follow-up mail's link signs its visitor back in
to that one conversation.

The link's token is ``<id>.<secret>`` (:mod:`switchboard.chat.followup_mail` makes it): the id
finds the record, only the secret's SHA-256 is stored, and one conditional delete spends it -
so it works once, within its 7 days, even when two tabs race. It signs in the conversation's
visitor and no one else: the user id is the record's (a level-0 visitor for an anonymous one,
level 1 for one the website had vouched for), the ``tenant`` must be the record's, and the
request's ``Origin`` must be one of the tenant's (the link is only good on the tenant's site).
A bad, spent or expired token is 401 ``invalid_identity`` and changes nothing.
"""

from __future__ import annotations

import hashlib
import time

from switchboard.auth import ratelimit, sessions
from switchboard.auth.postlogin import Principal
from switchboard.errors import Forbidden, InvalidIdentity
from switchboard.policy import Role
from switchboard.runtime import Services

__all__ = ["resume"]


def resume(svc: Services, *, tenant_id: str, token: str, origin: str | None, device: str | None,
           ip: str | None = None) -> sessions.TokenBundle:
    """The token response for the visitor of the link's conversation (single use)."""
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)])
    tenant = svc.tenants.get(tenant_id)
    if origin is None or not tenant.allows_origin(origin):  # a browser on the tenant's site, only
        raise Forbidden("this origin is not allowed for the tenant")
    resume_id, _, secret = token.partition(".")
    if not resume_id or not secret:
        raise InvalidIdentity("not a resume link")
    now = int(time.time())
    # the tenant is part of the condition: a link tried on another tenant is refused and left
    # whole, as a wrong secret leaves it (bad input changes nothing)
    record = svc.store.followups.take_resume(resume_id, hashlib.sha256(secret.encode()).hexdigest(),
                                             tenant=tenant.id, now=now)
    if record is None:
        raise InvalidIdentity("this link was used already, has expired, or is not one of ours")
    visitor = str(record["visitor"])
    ch = svc.store.channels.get(str(record.get("channel_id") or ""))
    if ch is None or ch.tenant != tenant.id or ch.visitor != visitor:
        # the conversation is gone (the visitor was erased: docs/privacy.md) - a link mailed
        # before must not bring the erased person back
        raise InvalidIdentity("this link's conversation no longer exists")
    principal = Principal(tenant=tenant.id, user_id=visitor, role=Role.VISITOR,
                          anon=visitor.startswith("anon-"), name="Visitor", method="resume")
    return sessions.sign_in(svc, principal, device=device)
