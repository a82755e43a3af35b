"""Token exchange for website visitors: the website's own JWT in, a level-1 visitor session out.

``POST /auth/exchange`` (RFC 8693's request shape, ``subject_token_type``
``urn:ietf:params:oauth:token-type:jwt``) is Serverpod's custom authentication handler as a
setting: a tenant lists the issuers it trusts (``trusted_issuers``: issuer, JWKS URI, audience,
which claim is the user id and which the name), and a token of one of them signs its user in
as an identified visitor, as the HMAC form of ``POST /auth/external`` does.

Verification is pyjwt's (``PyJWKClient`` for the issuer's keys; this module adds no crypto):

* the issuer is found by the token's ``iss``, compared exactly with the tenant's list; an
  issuer the tenant does not list is refused before any key is fetched;
* the algorithm is allow-listed: RS256, PS256, ES256 - never ``none`` and never HS*, so a
  token "signed" with the issuer's *public* key as an HMAC secret (algorithm confusion) is
  refused whatever key material is around;
* ``iss`` and ``aud`` must be the configured ones, ``exp`` is required, ``nbf`` and ``iat`` may
  not be in the future (5 s of leeway for clocks);
* the user claim must be a non-empty string (or an integer, read as its decimal form).

Every refusal is 401 ``invalid_identity`` (an issuer whose keys cannot be fetched: 503
``unavailable``, retry later). Keys are cached per container (``PyJWKClient`` per JWKS URI,
5 minutes); a token naming a ``kid`` not in the cached set refetches the set at most once every
30 s per JWKS URI, so forged kids cannot turn us into a flood of requests at the website.
"""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING, Any

from switchboard.admin import audit
from switchboard.auth import ratelimit, sessions
from switchboard.auth.identity import exchanged_visitor_id
from switchboard.auth.postlogin import Principal
from switchboard.container import per_container
from switchboard.errors import Forbidden, InvalidIdentity, Unavailable, ValidationFailed
from switchboard.models import Tenant, TrustedIssuer
from switchboard.policy import Role
from switchboard.runtime import Services

_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")

if TYPE_CHECKING:
    from jwt import PyJWKClient

__all__ = ["ALGORITHMS", "JWT_TOKEN_TYPE", "exchange", "forget_keys", "verify"]

JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
#: asymmetric only: never "none", never HS* (an HMAC "signed" with the issuer's public key)
ALGORITHMS = ("RS256", "PS256", "ES256")
LEEWAY = 5
JWKS_TIMEOUT = 3  # seconds; a Lambda answering a browser fails fast rather than hang
JWKS_LIFESPAN = 300
REFETCH_INTERVAL = 30
MAX_NAME = 100

_clients_lock = threading.Lock()


@per_container
def _cached_clients() -> dict[str, tuple[PyJWKClient, list[float]]]:
    """The container's JWKS clients by URI (each local container its own, as in Lambda)."""
    return {}


def forget_keys() -> None:
    """Forget every cached JWKS (tests and the local stack's per-run reset)."""
    with _clients_lock:
        _cached_clients().clear()


def _client(jwks_uri: str) -> tuple[PyJWKClient, list[float]]:
    from jwt import PyJWKClient

    with _clients_lock:
        _clients = _cached_clients()
        found = _clients.get(jwks_uri)
        if found is None:
            if len(_clients) > 100:
                _clients.clear()
            found = _clients[jwks_uri] = (PyJWKClient(jwks_uri, cache_keys=False, cache_jwk_set=True,
                                                      lifespan=JWKS_LIFESPAN, timeout=JWKS_TIMEOUT), [0.0])
        return found


def _signing_key(issuer: TrustedIssuer, kid: str | None) -> Any:
    """The issuer's public key for ``kid``: from the cached set, or a refetched one (rarely)."""
    from jwt import PyJWKClientConnectionError, PyJWKClientError

    client, last_refetch = _client(issuer.jwks_uri)
    try:
        keys = client.get_signing_keys()
        match = [k for k in keys if k.key_id == kid] if kid is not None else keys[:1] if len(keys) == 1 else []
        now = time.monotonic()
        if not match and now - last_refetch[0] >= REFETCH_INTERVAL:
            last_refetch[0] = now
            keys = client.get_signing_keys(refresh=True)
            match = [k for k in keys if k.key_id == kid] if kid is not None else keys[:1] if len(keys) == 1 else []
    except PyJWKClientConnectionError as exc:
        from switchboard.observability import logger

        logger.warning("a trusted issuer's JWKS could not be fetched", extra={"issuer": issuer.issuer})
        raise Unavailable("the issuer's keys could not be fetched; try again") from exc
    except PyJWKClientError as exc:  # no usable key in the set
        raise InvalidIdentity("the token's signing key is not the issuer's") from exc
    if not match:
        raise InvalidIdentity("the token's signing key is not the issuer's")
    return match[0].key


def verify(tenant: Tenant, token: str) -> tuple[TrustedIssuer, dict[str, Any]]:
    """The trusted issuer of ``token`` and its verified claims; :class:`InvalidIdentity` else."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise InvalidIdentity("the token is not a JWT") from None
    iss = unverified.get("iss")
    issuer = next((i for i in tenant.trusted_issuers if isinstance(iss, str) and i.issuer == iss), None)
    if issuer is None:
        raise InvalidIdentity("the token's issuer is not trusted by this tenant")
    if header.get("alg") not in ALGORITHMS:
        raise InvalidIdentity("the token's algorithm is not allowed")
    kid = header.get("kid")
    key = _signing_key(issuer, kid if isinstance(kid, str) else None)
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=list(ALGORITHMS), audience=issuer.audience, issuer=issuer.issuer,
            leeway=LEEWAY, options={"require": ["exp", "iss", "aud"], "verify_iat": True, "verify_nbf": True})
    except jwt.InvalidTokenError as exc:
        raise InvalidIdentity(_reason(exc)) from None
    return issuer, claims


def _reason(exc: Exception) -> str:
    """What to tell the caller (never the token or a claim's value)."""
    import jwt

    for kind, text in ((jwt.ExpiredSignatureError, "the token has expired"),
                       (jwt.InvalidAudienceError, "the token is not for this audience"),
                       (jwt.ImmatureSignatureError, "the token is not valid yet"),
                       (jwt.InvalidSignatureError, "the token's signature is not valid"),
                       (jwt.MissingRequiredClaimError, "the token lacks a required claim")):
        if isinstance(exc, kind):
            return text
    return "the token could not be verified"


def _user(issuer: TrustedIssuer, claims: dict[str, Any]) -> tuple[str, str | None]:
    raw = claims.get(issuer.user_claim)
    if isinstance(raw, bool) or not isinstance(raw, str | int) or raw == "" or len(str(raw)) > 256:
        raise InvalidIdentity(f"the token's {issuer.user_claim!r} claim is not a user id")
    name = claims.get(issuer.name_claim)
    return str(raw), (name.strip()[:MAX_NAME] or None) if isinstance(name, str) else None


def exchange(svc: Services, *, tenant_id: str, subject_token: str, origin: str | None, device: str | None,
             ip: str | None = None, upgrading: str | None = None,
             attributes: dict[str, Any] | None = None) -> sessions.TokenBundle:
    """Sign a website visitor in with the website's own JWT: a level-1 visitor, method
    ``exchange``, whose chat id is :func:`~switchboard.auth.identity.exchanged_visitor_id` of
    the issuer and the user claim. Rate limited per client IP, the Origin checked as for
    ``POST /auth/external``; ``upgrading`` (the anonymous session's ``Authorization``) carries
    the anonymous visitor's open conversation over, as the HMAC form does. A refused token is
    recorded as ``sign_in_failed`` (reason ``invalid_identity``, never the token).

    Attributes (contract section 8): the token's ``attributes`` claim (a flat object, as
    ``user.attributes``) is covered by the issuer's signature, so staff see it as signed;
    ``attributes`` from the request body are not, and are kept as unsigned. Both at once is a
    400: one set per sign-in, never mixed."""
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)])
    tenant = svc.tenants.get(tenant_id)
    if not tenant.allows_origin(origin):
        raise Forbidden("this origin is not allowed for the tenant")
    from switchboard.auth.visitors import check_attributes_size, keep_attributes

    check_attributes_size(attributes)
    try:
        issuer, claims = verify(tenant, subject_token)
        user, name = _user(issuer, claims)
        signed = _claimed_attributes(claims)
    except InvalidIdentity as refused:
        audit.record(svc.store, tenant=tenant.id, kind="sign_in_failed",
                     retention_days=svc.settings.audit_retention_days, reason="invalid_identity",
                     method="exchange", why=refused.detail)
        raise
    if signed is not None and attributes is not None:
        raise ValidationFailed("user.attributes: the token carries the attributes; send them in one place")
    principal = Principal(tenant=tenant.id, user_id=exchanged_visitor_id(issuer.issuer, user), role=Role.VISITOR,
                          anon=False, name=name or "Visitor", method="exchange")
    bundle = sessions.sign_in(svc, principal, device=device)
    if upgrading:
        from switchboard.auth.visitors import upgrade_anonymous

        upgrade_anonymous(svc, upgrading, tenant=tenant.id, to_user=principal.user_id)
    if signed is not None or attributes is not None:
        keep_attributes(svc, tenant.id, principal.user_id, signed if signed is not None else attributes or {},
                        signed=signed is not None)
    return bundle


def _claimed_attributes(claims: dict[str, Any]) -> dict[str, Any] | None:
    """The token's ``attributes`` claim, held to ``user.attributes``' rules (a flat object of
    text, numbers and true/false, at most 50 names and 4 KB); a malformed claim refuses the
    token (``invalid_identity``): the website signed something the contract does not allow."""
    raw = claims.get("attributes")
    if raw is None:
        return None
    from switchboard.auth.identity import MAX_ATTRIBUTES_BYTES, canonical_attributes

    ok = isinstance(raw, dict) and len(raw) <= 50 and all(
        isinstance(k, str) and _ATTRIBUTE_NAME.match(k)
        and (isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= 1000))
        for k, v in raw.items())
    if not ok or len(canonical_attributes(raw).encode()) > MAX_ATTRIBUTES_BYTES:
        raise InvalidIdentity("the token's attributes claim is not a flat object of at most 4 KB")
    return dict(raw)
