"""Access and chat tokens (contract section 2): ES256 JWTs, minted and verified here only.

Verification is deliberately narrow: one algorithm, a ``typ`` per token kind, required
``exp``/``iat``/``iss``/``aud``/``sub``, and the custom claims each kind must carry. An
access token is never a chat token: the ``typ`` and the ``aud`` both differ, and both are
checked. The JWS layer is :mod:`switchboard.tokens.jws` (why not PyJWT: see there); the claim
rules below follow RFC 7519 4.1 and RFC 8725, as PyJWT's would with
``require=[exp, iat, iss, aud, sub]`` and ``strict_aud``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Protocol, TypeGuard

import msgspec

from switchboard.errors import InvalidToken, Unavailable
from switchboard.tokens import jws
from switchboard.tokens.keys import KeyRing

__all__ = [
    "ACCESS_AUDIENCE",
    "ACCESS_TYP",
    "BACKOFFICE_CLIENT",
    "CHAT_AUDIENCE",
    "CHAT_TYP",
    "CLIENT_BY_METHOD",
    "DEVICE_TTL",
    "DEVICE_TYP",
    "WIDGET_CLIENT",
    "AccessClaims",
    "ChatClaims",
    "TokenService",
    "client_id_for",
]

ACCESS_TYP, ACCESS_AUDIENCE = "at+jwt", "switchboard-api"
CHAT_TYP, CHAT_AUDIENCE = "chat+jwt", "switchboard-chat"
#: RFC 9068 2.2 ``client_id``: the OAuth client the access token was issued to. Switchboard has no
#: client registration; the client is told by how the session was signed in, which a refresh keeps
WIDGET_CLIENT, BACKOFFICE_CLIENT = "switchboard-widget", "switchboard-backoffice"
CLIENT_BY_METHOD = {
    "anonymous": WIDGET_CLIENT,  # POST /auth/external: the chat widget on a tenant's site
    "identified": WIDGET_CLIENT,
    "exchange": WIDGET_CLIENT,  # POST /auth/exchange: the widget hands over the website's own token
    "resume": WIDGET_CLIENT,  # POST /auth/resume: a follow-up mail's link, opened in the widget
    "password": BACKOFFICE_CLIENT,  # POST /auth/internal, /auth/mfa, /auth/invite: the back office
    "password+totp": BACKOFFICE_CLIENT,
    "password+recovery_code": BACKOFFICE_CLIENT,  # POST /auth/mfa with a TOTP recovery code
    "invitation": BACKOFFICE_CLIENT,
    "device": "switchboard-cli",  # POST /auth/device/token: the command line, approved by an admin (RFC 8628)
    # sign-ins done by an identity provider: the provider that asked (these sessions get a chat
    # token only today - the provider issues its own access token - but the name is fixed now)
    "auth0": "auth0",
    "cognito": "cognito",
    "federated": "switchboard-post-login",  # PostLoginFunction invoked directly (IAM)
}
DEVICE_TYP, DEVICE_AUDIENCE = "device+jwt", "switchboard-device"
#: how long a device stays known without signing in again (each sign-in issues a fresh token)
DEVICE_TTL = 90 * 24 * 3600
LEEWAY_SECONDS = 5  # clock skew between Lambda hosts; keeps a just-minted token valid everywhere
RESERVED_CLAIMS = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "tid",
        "sid",
        "role",
        "lvl",
        "scope",
        "anon",
        "name",
        "azp",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "cnf",
        "client_id",
        "typ",
    }
)


def client_id_for(method: str) -> str:
    """The ``client_id`` of an access token for a session signed in by ``method``. An unknown
    method is a bug (a new sign-in path without its client), refused rather than guessed."""
    if method.startswith("oidc:"):  # SSO into the back office (POST /auth/oidc/complete)
        return BACKOFFICE_CLIENT
    try:
        return CLIENT_BY_METHOD[method]
    except KeyError:
        raise ValueError(f"no client_id for sign-in method {method!r}") from None


class KeySource(Protocol):
    def ring(self) -> KeyRing: ...
    def refresh(self) -> KeyRing | None: ...


class AccessClaims(msgspec.Struct, frozen=True):
    sub: str
    tid: str
    sid: str
    role: str
    lvl: int
    scopes: frozenset[str]
    anon: bool
    jti: str
    exp: int
    custom: dict[str, Any] = msgspec.field(default_factory=dict)


class ChatClaims(msgspec.Struct, frozen=True):
    sub: str
    tid: str
    sid: str
    role: str
    lvl: int
    scopes: frozenset[str]
    name: str
    exp: int


def _normalise_typ(value: object) -> str:
    """RFC 8725 3.11: compare media types case-insensitively, with or without ``application/``."""
    if not isinstance(value, str):
        return ""
    value = value.lower()
    return value.removeprefix("application/")


class TokenService:
    """Mints and verifies Switchboard's JWTs: verifies with ``keys``, signs with
    ``signing_keys`` (the same source if not given). A deployed function that only verifies
    is given the verification set alone, and cannot sign."""

    def __init__(self, keys: KeySource, *, issuer: str, access_ttl: int, chat_ttl: int,
                 signing_keys: KeySource | None = None) -> None:
        self._keys = keys
        self._signing = signing_keys or keys
        self._issuer = issuer
        self.access_ttl = access_ttl
        self.chat_ttl = chat_ttl

    # -- minting ---------------------------------------------------------------
    def ready(self) -> None:
        """Load the signing key now (:class:`Unavailable` if there is none): for callers that
        must not spend anything - a refresh token - and then fail to mint."""
        self._signer()

    def _signer(self) -> Any:
        signer = self._signing.ring().signer
        if signer is None:
            raise Unavailable("no signing key yet: the key secret has not been rotated in")
        return signer

    def _sign(self, payload: dict[str, Any], typ: str) -> str:
        signer = self._signer()
        return jws.sign({"typ": typ, "kid": signer.kid}, payload, signer.private_key)

    def mint_access(
        self,
        *,
        sub: str,
        tid: str,
        sid: str,
        role: str,
        lvl: int,
        scopes: tuple[str, ...] | frozenset[str],
        anon: bool,
        client_id: str,
        custom: dict[str, Any] | None = None,
        now: int | None = None,
    ) -> str:
        """An RFC 9068 JWT access token (``typ`` ``at+jwt``; ``iss exp aud sub client_id iat
        jti`` as it requires) with Switchboard's own claims; ``client_id``: see
        :func:`client_id_for`."""
        iat = int(now if now is not None else time.time())
        payload: dict[str, Any] = dict(custom or {})
        payload.update(
            {
                "iss": self._issuer,
                "aud": ACCESS_AUDIENCE,
                "client_id": client_id,
                "sub": sub,
                "tid": tid,
                "sid": sid,
                "role": role,
                "lvl": lvl,
                "scope": " ".join(sorted(scopes)),
                "anon": anon,
                "jti": secrets.token_urlsafe(16),
                "iat": iat,
                "nbf": iat,
                "exp": iat + self.access_ttl,
            }
        )
        return self._sign(payload, ACCESS_TYP)

    def mint_chat(
        self,
        *,
        sub: str,
        tid: str,
        sid: str,
        role: str,
        lvl: int,
        scopes: tuple[str, ...] | frozenset[str],
        name: str,
        now: int | None = None,
    ) -> str:
        iat = int(now if now is not None else time.time())
        payload = {
            "iss": self._issuer,
            "aud": CHAT_AUDIENCE,
            "sub": sub,
            "tid": tid,
            "sid": sid,
            "role": role,
            "lvl": lvl,
            "scope": " ".join(sorted(scopes)),
            "name": name,
            "iat": iat,
            "nbf": iat,
            "exp": iat + self.chat_ttl,
        }
        return self._sign(payload, CHAT_TYP)

    def mint_device(self, *, tid: str, sub: str, email: str, now: int | None = None) -> str:
        """A device token (OWASP's "device cookie"): proof that this device signed in as this
        account before, bound to the account's tenant and email (what a sign-in names before
        anything is read). Not a credential: it grants nothing, it only lets the device's next
        password sign-in pass the account-wide ceiling for unknown devices (logins.py)."""
        iat = int(now if now is not None else time.time())
        payload = {"iss": self._issuer, "aud": DEVICE_AUDIENCE, "sub": sub, "tid": tid, "email": email.lower(),
                   "jti": secrets.token_urlsafe(16), "iat": iat, "nbf": iat, "exp": iat + DEVICE_TTL}
        return self._sign(payload, DEVICE_TYP)

    def device_id(self, token: str, *, tenant: str, email: str) -> str | None:
        """The id of a device token we signed, unexpired, for this tenant and email (any case);
        None for anything else - a stale or foreign token makes the device unknown, not the
        request wrong (a shared browser may hold another colleague's)."""
        try:
            # checked with the signing set: only functions that mint device tokens (sign-in)
            # read them, and their IAM policy reads that secret, not the public-only one
            claims = self._signed_claims(token, DEVICE_TYP, keys=self._signing)
            _check_times(claims, int(time.time()))
        except (InvalidToken, Unavailable):
            return None
        jti = claims.get("jti")
        if (claims.get("iss") != self._issuer or claims.get("aud") != DEVICE_AUDIENCE or claims.get("tid") != tenant
                or claims.get("email") != email.lower() or not isinstance(jti, str)):
            return None
        return jti

    # -- verifying -------------------------------------------------------------
    def verify_access(self, token: str) -> AccessClaims:
        c = self._verify(token, ACCESS_TYP, ACCESS_AUDIENCE)
        if not isinstance(c.get("anon"), bool) or not isinstance(c.get("jti"), str):
            raise InvalidToken("token lacks required claims")
        custom = {k: v for k, v in c.items() if k not in RESERVED_CLAIMS}
        return AccessClaims(
            sub=c["sub"],
            tid=c["tid"],
            sid=c["sid"],
            role=c["role"],
            lvl=c["lvl"],
            scopes=frozenset(c["scope"].split()),
            anon=c["anon"],
            jti=c["jti"],
            exp=c["exp"],
            custom=custom,
        )

    def verify_chat(self, token: str) -> ChatClaims:
        c = self._verify(token, CHAT_TYP, CHAT_AUDIENCE)
        if not isinstance(c.get("name"), str):
            raise InvalidToken("token lacks required claims")
        return ChatClaims(
            sub=c["sub"],
            tid=c["tid"],
            sid=c["sid"],
            role=c["role"],
            lvl=c["lvl"],
            scopes=frozenset(c["scope"].split()),
            name=c["name"],
            exp=c["exp"],
        )

    def signed_tenant(self, token: str) -> str | None:
        """The ``tid`` of an access token we signed, expired or not; None for anything else.

        For the CORS answer only (:func:`switchboard.edge.httpapi.cors_headers`): which tenant's
        origins may read the answer. An unverified ``tid`` would let a token edited to name
        another tenant pick that tenant's ``Access-Control-Allow-Origin``. An expired token
        still names its tenant truly, and the page must be able to read its 401 to refresh.
        """
        try:
            claims = self._signed_claims(token, ACCESS_TYP)
        except (InvalidToken, Unavailable):
            return None
        if claims.get("iss") != self._issuer or claims.get("aud") != ACCESS_AUDIENCE:
            return None
        tid = claims.get("tid")
        return tid if isinstance(tid, str) else None

    def _verify(self, token: str, typ: str, audience: str) -> dict[str, Any]:
        claims = self._signed_claims(token, typ)
        _check_times(claims, int(time.time()))
        if claims.get("iss") != self._issuer:
            raise InvalidToken("token from another issuer" if "iss" in claims else "token lacks required claims")
        if claims.get("aud") != audience:  # one string: an audience list is refused (strict)
            raise InvalidToken("token is for another audience" if "aud" in claims else "token lacks required claims")
        for name, kind in (("sub", str), ("tid", str), ("sid", str), ("role", str), ("scope", str)):
            if not isinstance(claims.get(name), kind):
                raise InvalidToken("token lacks required claims")
        if not _is_int(claims.get("lvl")):
            raise InvalidToken("token lacks required claims")
        return claims

    def _signed_claims(self, token: str, typ: str, *, keys: KeySource | None = None) -> dict[str, Any]:
        """The claims of ``token`` if its ``typ`` is ``typ`` and one of our keys (``keys``,
        else the verification set) signed it (times, issuer and audience are the caller's to
        check)."""
        source = keys or self._keys
        try:
            parsed = jws.parse(token)  # alg is ES256 or this raised
        except jws.MalformedToken as exc:
            raise InvalidToken(str(exc)) from exc
        header = parsed.header
        if _normalise_typ(header.get("typ")) != typ:
            raise InvalidToken("wrong token type")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("token has no key id")
        key = source.ring().public.get(kid)
        if key is None:
            fresh = source.refresh()
            key = fresh.public.get(kid) if fresh else None
            if key is None:
                raise InvalidToken("unknown signing key")
        if not jws.verify_signature(parsed, key):
            raise InvalidToken("invalid token")
        try:
            return parsed.claims()  # only signed bytes reach the JSON parser
        except jws.MalformedToken as exc:
            raise InvalidToken(str(exc)) from exc


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_times(claims: dict[str, Any], now: int) -> None:
    """``exp`` and ``iat`` are required integers (NumericDate, RFC 7519 2); ``nbf`` when
    present. ``LEEWAY_SECONDS`` absorbs clock skew both ways."""
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)
    if not _is_int(exp) or not _is_int(iat) or not _is_int(nbf):
        raise InvalidToken("token lacks required claims")
    if exp <= now - LEEWAY_SECONDS:
        raise InvalidToken("token expired")
    if iat > now + LEEWAY_SECONDS or nbf > now + LEEWAY_SECONDS:
        raise InvalidToken("token not valid yet")
