"""Post-login for sign-ins done elsewhere: an Auth0 Action's signed HTTPS call, and a
Cognito user pool's Pre Token Generation trigger.

Both end in :func:`switchboard.auth.sessions.federated_sign_in`: the tenant's post-login rules
run (extra claims, denied e-mail domains), a session is recorded - so revoking it works as
for our own sign-ins - and a chat token is minted and handed back as a namespaced claim.

**Auth0 (``POST /hooks/post-login``).** The Action signs the raw body with the tenant's
hook secret: ``Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
"<t>.<raw body>")>`` (the scheme Stripe and others use). Refused: no or malformed header,
a timestamp more than 5 minutes away, a wrong MAC (compared in constant time), and the
same signed request a second time (each signature is remembered until it would be stale
anyway). The tenant named in the body picks the secret; nothing else in the body is
trusted before the MAC checks out.

**Cognito.** The trigger's user pool belongs to one tenant (``COGNITO_TENANT``). Cognito
groups ``switchboard-admin`` / ``switchboard-operator`` make a user staff; everyone else is
a known (level 1) visitor. The trigger's three event versions, as AWS documents them (the
"Pre token generation Lambda trigger" page of the Cognito developer guide):

* ``V1_0`` (``version`` "1"): the ID token only; the answer is ``claimsOverrideDetails``
  with string values (V1 takes no others).
* ``V2_0`` and ``V3_0`` (``version`` "2", "3"): the ID and the access token; the answer is
  ``claimsAndScopeOverrideDetails`` with ``idTokenGeneration`` and ``accessTokenGeneration``.
  For a user's sign-in the two versions are identical.
* ``V3_0`` alone is also sent for a **machine-to-machine** client's token request (OAuth client
  credentials, ``triggerSource`` ``TokenGeneration_ClientCredentials``): there is no user, so
  no ``userName`` and no user attributes, and only an access token. A machine has no chat, so
  it gets no chat token and no session: the event goes back with a null override (Cognito then
  issues its token unchanged) and nothing is stored. Raising would make Cognito fail that
  client's token request, for a trigger that has nothing to say about machines.

A sign-in the tenant's rules deny raises, and Cognito refuses the sign-in.

**Staff land on their record.** A Cognito user in a staff group, or an Auth0 user the Action
names ``operator`` or ``admin``, signs in as the operator record they are linked to (the
``cognito`` / ``auth0`` identity, by its subject), or the one invited with their verified email
(the identity is then linked); otherwise the sign-in is refused and nothing is created
(:mod:`switchboard.auth.linking`). The record decides the role and the name; the group or the
Action's ``role`` only says "this is staff". So federated staff are listed, assignable while
offline, blockable and removable like everyone, and their sessions stand on the record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import msgspec

from switchboard.auth import linking, ratelimit, sessions
from switchboard.auth.identity import chat_safe_id
from switchboard.auth.postlogin import Principal
from switchboard.errors import InvalidToken
from switchboard.observability import logger
from switchboard.policy import Role
from switchboard.runtime import Services

__all__ = ["SIGNATURE_HEADER", "FederatedUser", "cognito_trigger", "direct_sign_in", "sign", "signed_post_login",
           "verify_signature", "verify_signature_any"]

SIGNATURE_HEADER = "switchboard-signature"
#: the V3_0 trigger source of an OAuth client-credentials (machine-to-machine) token request
MACHINE_TRIGGER = "TokenGeneration_ClientCredentials"
STAFF_GROUPS = {"switchboard-admin": Role.ADMIN, "switchboard-operator": Role.OPERATOR}
STAFF_ROLES = frozenset({Role.ADMIN, Role.OPERATOR})


class FederatedUser(msgspec.Struct, frozen=True, kw_only=True):
    """Someone another identity provider signed in, as its hook or a direct invocation names them."""

    tenant: str
    user_id: str
    role: Role = Role.VISITOR
    email: str | None = None
    name: str | None = None
    #: whether the provider verified ``email``: staff are linked by a verified email only
    email_verified: bool = False

    def principal(self, *, method: str) -> Principal:
        """Who signs in: the provider's id made chat-safe, named by name, else e-mail."""
        return Principal(tenant=self.tenant, user_id=chat_safe_id(self.user_id), role=self.role, anon=False,
                         name=self.name or self.email or "User", method=method, email=self.email)


def sign(secret: str, body: bytes, *, now: int | None = None) -> str:
    """The header value a caller sends (what the Auth0 Action computes)."""
    t = int(now if now is not None else time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(secret: str, header: str | None, body: bytes, *, tolerance: int,
                     now: int | None = None) -> tuple[int, str]:
    """(timestamp, mac) of a valid signature; :class:`InvalidToken` otherwise."""
    if not header or not secret:
        raise InvalidToken("missing or unusable Switchboard-Signature")
    parts: dict[str, list[str]] = {}
    for piece in header.split(","):
        name, _, value = piece.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        raise InvalidToken("malformed Switchboard-Signature") from None
    now = int(now if now is not None else time.time())
    if abs(now - t) > tolerance:
        raise InvalidToken("the signature is too old or from the future")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    for candidate in parts.get("v1", []):  # several v1 values are allowed while a secret rotates
        if hmac.compare_digest(expected.encode(), candidate.strip().lower().encode()):
            return t, expected
    raise InvalidToken("the signature does not match")


def verify_signature_any(secrets: list[str], header: str | None, body: bytes, *, tolerance: int,
                         now: int | None = None) -> tuple[int, str]:
    """:func:`verify_signature` with each of the tenant's hook secrets that verify now (the
    current one, then those inside their rotation grace); the first that matches wins."""
    refusal: InvalidToken = InvalidToken("missing or unusable Switchboard-Signature")
    for secret in secrets:
        try:
            return verify_signature(secret, header, body, tolerance=tolerance, now=now)
        except InvalidToken as exc:
            refusal = exc
    raise refusal


def signed_post_login(svc: Services, *, body: bytes, signature: str | None, ip: str | None,
                      read: Callable[[bytes], FederatedUser], now: int | None = None) -> dict[str, Any]:
    """``POST /hooks/post-login``: ``{"chat_token", "claims"}`` for a correctly signed call.

    ``read`` turns the raw body into who signs in (the edge's request model: a 400
    ``validation_error`` for a malformed one). The MAC covers the raw bytes and the tenant they
    name picks the secret, so the body is read here, in order: after the client IP's rate limit
    (malformed calls count too), before any secret is looked up."""
    now = int(now if now is not None else time.time())
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)], now=now)
    user = read(body)  # 400 validation_error, before any secret is looked up
    tenant = svc.tenants.find(user.tenant)
    tolerance = svc.settings.hook_tolerance_seconds
    t, mac = verify_signature_any(svc.tenant_secrets(tenant, "hook", now) if tenant else [], signature, body,
                                  tolerance=tolerance, now=now)
    assert tenant is not None  # no tenant, no secret: verify_signature_any refuses
    if not svc.store.counters.first_time(f"hook#{tenant.id}#{mac}", expires_at=t + tolerance + 60):
        raise InvalidToken("this signed request was already used")
    ratelimit.check(svc.store, svc.settings, [("account", f"hook#{tenant.id}#{user.user_id}")], now=now)
    if user.role in STAFF_ROLES:
        grant = _staff_sign_in(svc, linking.Claimed(tenant=tenant.id, kind="auth0", subject=user.user_id,
                                                    email=user.email, email_verified=user.email_verified,
                                                    name=user.name), device="auth0", now=now)
    else:
        grant = sessions.federated_sign_in(svc, user.principal(method="auth0"), device="auth0", now=now)
    return {"chat_token": grant.chat_token, "claims": grant.claims}


def _staff_sign_in(svc: Services, claimed: linking.Claimed, *, device: str, now: int | None = None,
                   ) -> sessions.ChatGrant:
    """A staff member signed in by Cognito or Auth0: on their record (linked or invited), as
    the record says (role, name); :class:`~switchboard.errors.SignInRefused` (403) otherwise."""
    from switchboard.errors import SignInRefused, StandingChanged

    op, identity = linking.resolve(svc, claimed, now=now)
    try:
        return sessions.federated_sign_in(svc, Principal.for_operator(op, method=claimed.kind), device=device,
                                          now=now, operator=op, identity=identity.id)
    except StandingChanged:  # blocked, removed or unlinked meanwhile
        raise SignInRefused("access_denied", "this account changed during the sign-in") from None


def direct_sign_in(svc: Services, user: FederatedUser) -> dict[str, Any]:
    """A direct (IAM-authorised) invocation of the PostLogin function: whoever may invoke it
    vouches for the user. ``{"chat_token", "claims", "session_id"}``."""
    grant = sessions.federated_sign_in(svc, user.principal(method="federated"))
    return {"chat_token": grant.chat_token, "claims": grant.claims, "session_id": grant.session.id}


def cognito_trigger(svc: Services, event: dict[str, Any]) -> dict[str, Any]:
    """Answer a Pre Token Generation trigger event (V1, V2 or V3) with the claims added; a
    machine-to-machine client's (V3, client credentials) with no change at all."""
    if event.get("triggerSource") == MACHINE_TRIGGER:
        return _unchanged_for_a_machine(event)
    tenant = svc.settings.cognito_tenant
    if not tenant:
        raise RuntimeError("COGNITO_TENANT is not set: which tenant does this user pool sign in?")
    request = event.get("request") or {}
    attributes = request.get("userAttributes") or {}
    sub = attributes.get("sub") or event.get("userName")
    if not sub:
        raise ValueError("the trigger event names no user")
    groups = (request.get("groupConfiguration") or {}).get("groupsToOverride") or []
    role = next((STAFF_GROUPS[g] for g in ("switchboard-admin", "switchboard-operator") if g in groups),
                Role.VISITOR)
    email = attributes.get("email")  # verified or not, a denied domain stays denied
    if role in STAFF_ROLES:
        grant = _staff_sign_in(svc, linking.Claimed(
            tenant=tenant, kind="cognito", subject=str(sub), email=email, name=attributes.get("name"),
            email_verified=str(attributes.get("email_verified", "")).lower() == "true"), device="cognito")
    else:
        principal = Principal(tenant=tenant, user_id=chat_safe_id(f"cognito|{sub}"), role=role, anon=False,
                              name=attributes.get("name") or attributes.get("email") or "User", method="cognito",
                              email=email)
        grant = sessions.federated_sign_in(svc, principal, device="cognito")
    response = event.setdefault("response", {})
    if str(event.get("version", "1")) == "1":
        response["claimsOverrideDetails"] = {
            "claimsToAddOrOverride": {k: v if isinstance(v, str) else json.dumps(v) for k, v in grant.claims.items()}}
    else:
        response["claimsAndScopeOverrideDetails"] = {
            "idTokenGeneration": {"claimsToAddOrOverride": dict(grant.claims)},
            "accessTokenGeneration": {"claimsToAddOrOverride": dict(grant.claims)},
        }
    return event


def _unchanged_for_a_machine(event: dict[str, Any]) -> dict[str, Any]:
    """The client-credentials event as Cognito expects it back when nothing changes: the
    override null (V2/V3 shape; V1 is never sent for machines, but is answered alike)."""
    logger.info("pre token generation for a machine client: no chat token",
                extra={"client_id": (event.get("callerContext") or {}).get("clientId")})
    response = event.get("response")
    if not isinstance(response, dict):
        response = event["response"] = {}
    v1 = str(event.get("version", "1")) == "1"
    response["claimsOverrideDetails" if v1 else "claimsAndScopeOverrideDetails"] = None
    return event
