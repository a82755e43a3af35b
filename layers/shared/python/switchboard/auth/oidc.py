"""OpenID Connect single sign-on for staff (contract section 7).

The authorization code flow with PKCE (S256), ``state`` and ``nonce``, against any
standards-compliant provider a tenant configures (issuer, client id, scopes, allowed domains;
the client secret in Secrets Manager):

1. ``GET /auth/oidc/{provider}/authorize`` (:func:`authorize`) stores the flow's state record
   (nonce, PKCE verifier, ``return_to``, the hash of a browser binding) under the hash of a
   random ``state``, sets the binding as a cookie on the browser that started it, and sends
   that browser to the provider.
2. ``GET /auth/oidc/{provider}/callback`` (:func:`callback`) consumes the state record (once),
   checks the cookie names it, exchanges the code server-side (``requests``, timeouts; the
   browser never sees the provider's tokens), verifies the ID token (pyjwt's ``PyJWKClient``
   with the provider's JWKS: RS256, PS256, ES256 only; ``iss``, ``aud``, ``azp``, ``exp``,
   ``iat``, ``nonce``), links it to the person's record (:mod:`switchboard.auth.linking`) and
   sends the browser back to ``return_to#code=<one-time code>``. A refusal goes back as
   ``return_to#error=<code>``; nothing is created.
3. ``POST /auth/oidc/complete`` (:func:`complete`) swaps the one-time code (once, within 60 s)
   for our tokens: our tokens never travel in a URL.

**Second factor.** A staff member with TOTP on who signs in by SSO is not asked for our code:
the identity provider owns the credentials and the second factor of SSO identities (as
Google Workspace, Entra ID and Okta enforce theirs), and a second prompt of our own would
train people to type codes wherever asked. TOTP keeps guarding the password way in. A tenant
that wants SSO to need MFA enforces it at its provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import msgspec

from switchboard.auth import linking, ratelimit, sessions
from switchboard.auth.postlogin import Principal
from switchboard.errors import (
    InvalidIdentity,
    InvalidToken,
    NotFound,
    SignInRefused,
    StandingChanged,
    Unavailable,
    ValidationFailed,
)
from switchboard.models import IdentityProvider, Tenant
from switchboard.observability import logger
from switchboard.runtime import Services
from switchboard.tokens import opaque

if TYPE_CHECKING:
    from jwt import PyJWKClient

__all__ = ["ALGORITHMS", "Authorization", "authorize", "binding_cookie", "callback", "complete", "email_verified",
           "providers", "verify_id_token"]

#: the ID token algorithms accepted: asymmetric only (never ``none``, never HS* - a shared
#: secret would let anyone holding the client secret mint identities)
ALGORITHMS = ("RS256", "PS256", "ES256")
STATE_SECONDS = 600  # a person has 10 minutes at their provider's sign-in page
CODE_SECONDS = 60
CODE_PREFIX = "sbo1"
DISCOVERY_SECONDS = 3600
SECRET_SECONDS = 300
LEEWAY = 30  # clock skew between us and the provider
MAX_TOKEN_AGE = 600  # an ID token issued longer ago than this is not this sign-in's
HTTP_TIMEOUT = (3.05, 5.0)  # connect, read: a slow provider answers 503, not a Lambda timeout
COOKIE_PREFIX = "sb_sso_"

_lock = threading.Lock()
_discovery: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks: dict[str, PyJWKClient] = {}
_secrets: dict[str, tuple[float, str]] = {}


def reset() -> None:
    """Forget the per-container caches (tests, the local stack)."""
    with _lock:
        _discovery.clear()
        _jwks.clear()
        _secrets.clear()


class Authorization(msgspec.Struct, frozen=True):
    """Where to send the browser, and the cookie binding the flow to it."""

    location: str
    cookie_name: str
    cookie_value: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def binding_cookie(state: str) -> str:
    """The cookie's name for one flow: several flows (tabs) in one browser do not overwrite each other."""
    return COOKIE_PREFIX + _digest(state)[:16]


def providers(svc: Services, tenant_id: str) -> dict[str, Any]:
    """``GET /auth/providers``: how staff of the tenant may sign in (never a secret)."""
    tenant = svc.tenants.find(tenant_id)
    if tenant is None:
        raise NotFound("no such tenant")
    return {"password": True, "providers": [p.to_json() for p in tenant.identity_providers]}


def _tenant_and_provider(svc: Services, tenant_id: str, provider_id: str) -> tuple[Tenant, IdentityProvider]:
    tenant = svc.tenants.find(tenant_id)
    provider = tenant.provider(provider_id) if tenant else None
    if tenant is None or provider is None:
        raise NotFound("no such identity provider")
    return tenant, provider


# -- the provider's metadata, keys and our client secret (cached per container) ------------------------
def discover(issuer: str) -> dict[str, Any]:
    """The provider's OpenID configuration (OIDC Discovery 1.0), fetched once an hour per
    container. Its ``issuer`` must be exactly the configured one (Discovery 4.3)."""
    now = time.monotonic()
    with _lock:
        cached = _discovery.get(issuer)
    if cached and now - cached[0] < DISCOVERY_SECONDS:
        return cached[1]
    import requests

    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        resp = requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False)
        resp.raise_for_status()
        meta = resp.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OIDC discovery failed", extra={"issuer": issuer, "error": type(exc).__name__})
        raise Unavailable("the identity provider cannot be reached") from None
    if not isinstance(meta, dict) or meta.get("issuer") != issuer or not all(
            isinstance(meta.get(k), str) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
        logger.warning("OIDC discovery document refused", extra={"issuer": issuer})
        raise Unavailable("the identity provider's configuration is not usable")
    with _lock:
        _discovery[issuer] = (now, meta)
    return meta


def _jwk_client(jwks_uri: str) -> PyJWKClient:
    from jwt import PyJWKClient

    with _lock:
        client = _jwks.get(jwks_uri)
        if client is None:
            # keys cached for 5 minutes; a kid not in the cache fetches the set again (rotation)
            client = _jwks[jwks_uri] = PyJWKClient(jwks_uri, cache_keys=True, lifespan=300, timeout=5)
        return client


def _client_secret(provider: IdentityProvider) -> str:
    """The client secret, from Secrets Manager (never the table, never a log line)."""
    if not provider.secret_id:
        raise Unavailable("the identity provider has no client secret configured")
    now = time.monotonic()
    with _lock:
        cached = _secrets.get(provider.secret_id)
    if cached and now - cached[0] < SECRET_SECONDS:
        return cached[1]
    from botocore.exceptions import ClientError

    from switchboard.aws import client

    try:
        secret = str(client("secretsmanager").get_secret_value(SecretId=provider.secret_id)["SecretString"])
    except ClientError as exc:
        logger.warning("the client secret could not be read", extra={"provider": provider.id,
                                                                       "error": exc.response["Error"]["Code"]})
        raise Unavailable("the identity provider's client secret cannot be read") from None
    with _lock:
        _secrets[provider.secret_id] = (now, secret)
    return secret


# -- 1. authorize -------------------------------------------------------------------------------------
def authorize(svc: Services, *, tenant_id: str, provider_id: str, return_to: str, redirect_uri: str,
              ip: str | None = None, now: int | None = None) -> Authorization:
    """Start a sign-in: the provider's authorization URL and the browser binding cookie.
    ``return_to`` must be on one of the tenant's allowed origins (else 400, nothing stored).
    Each start stores a state record (10 minutes), so starts count against the caller's
    address like every other unauthenticated write: a script cannot fill the table with them."""
    now = int(now if now is not None else time.time())
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)], now=now)
    tenant = svc.tenants.find(tenant_id)
    if tenant is not None and not tenant.allows_return_to(return_to):
        raise ValidationFailed("return_to is not on one of the tenant's allowed origins")
    tenant, provider = _tenant_and_provider(svc, tenant_id, provider_id)
    meta = discover(provider.issuer)
    state, nonce, verifier, binding = (secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                                       secrets.token_urlsafe(64), secrets.token_urlsafe(32))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    svc.store.identities.put_state(_digest(state), {
        "tenant": tenant.id, "provider": provider.id, "nonce": nonce, "verifier": verifier,
        "return_to": return_to, "redirect_uri": redirect_uri, "binding": _digest(binding)},
        expires_at=now + STATE_SECONDS)
    endpoint = meta["authorization_endpoint"]
    query = urlencode({"response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
                       "scope": " ".join(provider.scopes), "state": state, "nonce": nonce,
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    return Authorization(location=f"{endpoint}{'&' if '?' in endpoint else '?'}{query}",
                         cookie_name=binding_cookie(state), cookie_value=binding)


# -- 2. callback --------------------------------------------------------------------------------------
def callback(svc: Services, *, provider_id: str, state: str | None, code: str | None, error: str | None,
             iss: str | None, cookies: dict[str, str], ip: str | None = None, now: int | None = None) -> str:
    """Finish the provider's side: the URL to send the browser to (``return_to#code=`` or
    ``return_to#error=``). A state never issued, used already or expired is 401
    ``invalid_token``: there is no ``return_to`` to go back to."""
    now = int(now if now is not None else time.time())
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)], now=now)
    record = svc.store.identities.take_state(_digest(state), now=now) if state else None
    if record is None or record["provider"] != provider_id:
        raise InvalidToken("the sign-in state is unknown, used or expired")
    assert state is not None
    return_to = str(record["return_to"])
    binding = cookies.get(binding_cookie(state), "")
    if not hmac.compare_digest(_digest(binding), str(record["binding"])):
        # another browser than the one that started the flow (a link someone was sent)
        return f"{return_to}#error=invalid_state"
    if error or not code:
        return f"{return_to}#error=access_denied"
    try:
        tenant, provider = _tenant_and_provider(svc, record["tenant"], provider_id)
        if iss is not None and iss != provider.issuer:  # RFC 9207: the answer of another provider (mix-up)
            raise InvalidIdentity("the authorization response names another issuer")
        meta = discover(provider.issuer)
        id_token = _exchange(meta, provider, code=code, verifier=str(record["verifier"]),
                             redirect_uri=str(record["redirect_uri"]))
        claims = verify_id_token(meta, provider, id_token, nonce=str(record["nonce"]), now=now)
        claimed = linking.Claimed(tenant=tenant.id, kind="oidc", provider=provider.id, subject=str(claims["sub"]),
                                  email=claims.get("email") if isinstance(claims.get("email"), str) else None,
                                  email_verified=email_verified(claims),
                                  name=claims.get("name") if isinstance(claims.get("name"), str) else None)
        op, identity = linking.resolve(svc, claimed, admits=provider, now=now)
    except SignInRefused as refused:
        logger.info("SSO sign-in refused", extra={"provider": provider_id, "reason": refused.reason})
        return f"{return_to}#error={refused.reason}"
    except (InvalidIdentity, NotFound) as err:
        logger.info("SSO sign-in refused", extra={"provider": provider_id, "reason": err.detail})
        return f"{return_to}#error=invalid_identity"
    except Unavailable:
        return f"{return_to}#error=temporarily_unavailable"
    one_time, digest = opaque.make(CODE_PREFIX, [tenant.id])
    svc.store.identities.put_code(digest, {"tenant": tenant.id, "user_id": op.id, "provider": provider.id,
                                           "identity": identity.id}, expires_at=now + CODE_SECONDS)
    return f"{return_to}#code={one_time}"


def _exchange(meta: dict[str, Any], provider: IdentityProvider, *, code: str, verifier: str,
              redirect_uri: str) -> str:
    """The code for the ID token, server to server (RFC 6749 4.1.3 with PKCE's verifier)."""
    import requests

    secret = _client_secret(provider)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth = None
    if "client_secret_basic" in methods:
        # RFC 6749 2.3.1: id and secret are form-urlencoded before HTTP Basic
        auth = (quote(provider.client_id, safe=""), quote(secret, safe=""))
    else:
        form |= {"client_id": provider.client_id, "client_secret": secret}
    try:
        resp = requests.post(meta["token_endpoint"], data=form, auth=auth, timeout=HTTP_TIMEOUT,
                             allow_redirects=False, headers={"Accept": "application/json"})
    except requests.RequestException:
        raise Unavailable("the identity provider cannot be reached") from None
    if resp.status_code >= 500:
        raise Unavailable("the identity provider failed")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
        # the provider's error code only: its description may echo what was sent
        logger.info("the code exchange was refused", extra={"status": resp.status_code,
                                                            "error": body.get("error") if isinstance(body, dict)
                                                            else None})
        raise InvalidIdentity("the identity provider refused the code")
    return str(body["id_token"])


def verify_id_token(meta: dict[str, Any], provider: IdentityProvider, id_token: str, *, nonce: str,
                    now: int | None = None) -> dict[str, Any]:
    """The ID token's claims, checked (OIDC Core 3.1.3.7): signed by a key of the provider's
    JWKS with an allowed algorithm; ``iss`` the provider's, ``aud`` holding our client id
    (and ``azp``, when present or when there are several audiences, ours); ``exp`` not
    passed, ``iat`` neither in the future nor stale; ``nonce`` the one this flow sent.
    :class:`InvalidIdentity` otherwise."""
    import jwt

    now = int(now if now is not None else time.time())
    try:
        header = jwt.get_unverified_header(id_token)
        if header.get("alg") not in ALGORITHMS:  # before any key is looked up: none, HS*, ...
            raise InvalidIdentity("the ID token's algorithm is not allowed")
        key = _jwk_client(str(meta["jwks_uri"])).get_signing_key_from_jwt(id_token)
        claims: dict[str, Any] = jwt.decode(
            id_token, key.key, algorithms=list(ALGORITHMS), audience=provider.client_id, issuer=provider.issuer,
            leeway=LEEWAY, options={"require": ["iss", "aud", "exp", "iat", "sub"]})
    except jwt.PyJWKClientConnectionError:
        raise Unavailable("the identity provider's keys cannot be fetched") from None
    except jwt.PyJWTError as exc:
        raise InvalidIdentity(f"the ID token is not valid ({type(exc).__name__})") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (azp is not None or len(audiences) > 1) and azp != provider.client_id:
        raise InvalidIdentity("the ID token was issued to another client (azp)")
    if not isinstance(claims["iat"], int | float) or claims["iat"] < now - MAX_TOKEN_AGE:
        raise InvalidIdentity("the ID token is too old")
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise InvalidIdentity("the ID token's nonce is not this sign-in's")
    if not isinstance(claims["sub"], str) or not claims["sub"] or len(claims["sub"]) > 255:
        raise InvalidIdentity("the ID token's subject is not usable")
    return claims


def email_verified(claims: dict[str, Any]) -> bool:
    """Whether the provider vouches for the email: ``email_verified`` true (OIDC Core 5.1), or
    Microsoft Entra ID's optional claim ``xms_edov`` true (its tokens carry no ``email_verified``;
    ``xms_edov`` says the email's domain is verified as owned by the user's organisation). A
    string ``"true"`` is not true: the claim is a JSON boolean."""
    return claims.get("email_verified") is True or claims.get("xms_edov") is True


# -- 3. complete --------------------------------------------------------------------------------------
def complete(svc: Services, *, code: str, device: str | None, ip: str | None = None,
             now: int | None = None) -> sessions.TokenBundle:
    """``POST /auth/oidc/complete``: the one-time code (once, within 60 s) for a session whose
    ``method`` is ``oidc:<provider>``; 401 ``invalid_token`` for anything else."""
    now = int(now if now is not None else time.time())
    if ip:
        ratelimit.check(svc.store, svc.settings, [("ip", ip)], now=now)
    (tenant_id,), secret = opaque.parse(code, CODE_PREFIX, 1)
    record = svc.store.identities.take_code(opaque.digest(secret), now=now)
    if record is None or record["tenant"] != tenant_id:
        raise InvalidToken("the code is unknown, used or expired")
    op = svc.store.staff.get(tenant_id, str(record["user_id"]))
    if op is None or op.blocked:
        raise InvalidToken("the code is unknown, used or expired")
    principal = Principal.for_operator(op, method=f"oidc:{record['provider']}")
    try:
        return sessions.sign_in(svc, principal, device=device, now=now, operator=op,
                                identity=str(record["identity"]))
    except StandingChanged:  # blocked, removed, re-roled or unlinked since the callback
        raise InvalidToken("the code is unknown, used or expired") from None
