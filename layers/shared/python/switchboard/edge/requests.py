"""Request bodies of the HTTP API, as strict, frozen msgspec Structs.

Unknown fields, wrong types (``1`` for a string; ``"1"``, ``true`` or ``1.0`` for a number),
nulls where a value is required and out-of-range sizes fail validation (400
``validation_error``); nothing downstream sees an unchecked value. Decoding and the error
answer live in :mod:`switchboard.edge.validation`. msgspec, not pydantic: it imports in ~2-4 ms
where pydantic and its validators cost ~30-40 ms of every function's cold start.

Patterns are searched (``re.search``), so each is anchored ``^...\\Z``: ``$`` would let a
trailing newline through.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from msgspec import UNSET, Meta, Struct, UnsetType, field

from switchboard.chat.hours import ZONE_PATTERN
from switchboard.mail import ADDRESS_PATTERN
from switchboard.models import TENANT_ID_PATTERN
from switchboard.policy import ALL_SCOPES

if TYPE_CHECKING:
    from switchboard.auth.visitors import ClaimedVisitor

__all__ = [
    "BODIES", "QUERIES", "AuthorizeQuery", "CallbackQuery", "DeviceApproval", "DeviceAuthorization",
    "DeviceTokenRequest", "EventsQuery", "ExternalLogin", "FederatedUser", "InternalLogin", "InviteAcceptance",
    "MfaLogin", "OidcCompletion", "OperatorChange", "OperatorCreation", "PasswordChange", "PasswordForgotten",
    "PasswordReset", "PostLoginInvocation", "ProvidersQuery", "RefreshRequest", "ReportsQuery", "ResumeRequest",
    "RevokeBody", "RevokeScopes", "RevokeSession", "RevokeUser", "SearchQuery", "SecretRotation", "SessionsQuery",
    "TenantChange",
    "TokenExchange", "TotpCode", "VisitorIdentity",
]
__all__ += ["CannedChange", "CannedCreation"]  # issue 17

TenantId = Annotated[str, Meta(pattern=TENANT_ID_PATTERN)]
UserId = Annotated[str, Meta(pattern=r"^[a-z0-9@_-]{1,128}\Z")]
#: an address looked up or carried (sign-in, a reset request, the website's or the identity
#: provider's word): as lax as before, so no account already stored stops working
Email = Annotated[str, Meta(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\Z", max_length=254)]
#: an address we will mail (a new operator's): one plain address (switchboard.mail.ADDRESS)
MailAddress = Annotated[str, Meta(pattern=ADDRESS_PATTERN, max_length=254)]
Scope = Annotated[str, Meta(max_length=40)]


class Strict(Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Unknown fields refused, no attribute assignable; fields by name only. (Subclasses
    repeat ``frozen=True``: msgspec inherits it, mypy's dataclass check wants it said.)"""


#: a website attribute's name and value (contract section 8): a flat object, values text,
#: numbers or true/false; its canonical JSON at most 4 KB (auth/identity.py checks the total)
AttributeName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}\Z")]
AttributeValue = Annotated[str, Meta(max_length=1000)] | bool | int | float
Attributes = Annotated[dict[AttributeName, AttributeValue], Meta(max_length=50)]


class VisitorIdentity(Strict, frozen=True):
    id: Annotated[str, Meta(min_length=1, max_length=256)]
    name: Annotated[str, Meta(max_length=100)] | None = None
    email: Email | None = None
    hash: Annotated[str, Meta(max_length=128)] | None = None
    #: what the website says of the visitor (plan, orders...), signed by ``attributes_hash``
    #: (hex HMAC-SHA256 of ``id`` + "\n" + their canonical JSON) or shown to staff as unsigned
    attributes: Attributes | None = None
    attributes_hash: Annotated[str, Meta(max_length=128)] | None = None


class ExternalLogin(Strict, frozen=True):
    tenant: TenantId
    user: VisitorIdentity | None = None

    def claimed_visitor(self) -> ClaimedVisitor | None:
        """Who the website says this is (None: an anonymous visitor), as the domain takes it."""
        if self.user is None:
            return None
        from switchboard.auth.visitors import ClaimedVisitor  # the visitors' function loads it anyway

        u = self.user
        return ClaimedVisitor(id=u.id, name=u.name, email=u.email, hash=u.hash, attributes=u.attributes,
                              attributes_hash=u.attributes_hash)


class InternalLogin(Strict, frozen=True):
    tenant: TenantId
    email: Email
    password: Annotated[str, Meta(min_length=1, max_length=1024)]
    #: the ``device_token`` an earlier sign-in of this account on this device answered
    #: (additive to the contract's body; see logins.py): lifts the account-wide ceiling
    device_token: Annotated[str, Meta(max_length=2048)] | None = None


class TokenExchange(Strict, frozen=True):
    """``POST /auth/exchange`` (RFC 8693's shape): the website's own JWT for a level-1 visitor."""

    tenant: TenantId
    subject_token: Annotated[str, Meta(min_length=1, max_length=8192)]
    subject_token_type: Literal["urn:ietf:params:oauth:token-type:jwt"]
    #: ``{"attributes": {...}}``: attributes the token does not cover (stored as unsigned); signed
    #: ones travel in the token's ``attributes`` claim (docs/integrations.md)
    user: ExchangeUser | None = None


class ExchangeUser(Strict, frozen=True):
    attributes: Attributes


class ResumeRequest(Strict, frozen=True):
    """``POST /auth/resume``: a follow-up mail's link (``?resume=<id>.<secret>``)."""

    tenant: TenantId
    token: Annotated[str, Meta(pattern=r"^[0-9a-f]{16}\.[A-Za-z0-9_-]{20,100}\Z")]


class RefreshRequest(Strict, frozen=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=2048)]


# -- revocation: a tagged union on "kind" ----------------------------------------------------------
class RevokeSession(Strict, frozen=True, tag_field="kind", tag="session"):
    session_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None

    def revocation(self) -> dict[str, Any]:
        """The keyword arguments of :func:`switchboard.auth.sessions.revoke`."""
        return {"kind": "session", "session_id": self.session_id}


class RevokeUser(Strict, frozen=True, tag_field="kind", tag="user"):
    user_id: UserId | None = None

    def revocation(self) -> dict[str, Any]:
        """The keyword arguments of :func:`switchboard.auth.sessions.revoke`."""
        return {"kind": "user", "user_id": self.user_id}


class RevokeScopes(Strict, frozen=True, tag_field="kind", tag="scopes"):
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=len(ALL_SCOPES))]
    user_id: UserId | None = None

    def __post_init__(self) -> None:
        if not ALL_SCOPES.issuperset(self.scopes):  # msgspec answers a ValueError as a ValidationError
            raise ValueError("`scopes` holds an unknown scope")

    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes)

    def revocation(self) -> dict[str, Any]:
        """The keyword arguments of :func:`switchboard.auth.sessions.revoke`."""
        return {"kind": "scopes", "user_id": self.user_id, "scopes": self.scope_set()}


#: ``POST /auth/revoke``: one decode picks the kind by ``kind`` (missing or unknown: 400)
RevokeBody = RevokeSession | RevokeUser | RevokeScopes


class FederatedUser(Strict, frozen=True):
    user_id: Annotated[str, Meta(min_length=1, max_length=256)]
    email: Email | None = None
    #: whether the provider verified ``email`` (Auth0's ``event.user.email_verified``): staff are
    #: linked to an invited record by a verified email only
    email_verified: bool = False
    name: Annotated[str, Meta(max_length=100)] | None = None
    role: Literal["visitor", "operator", "admin"] = "visitor"


class PostLoginInvocation(Strict, frozen=True):
    """A direct (IAM-authorised) invocation of the PostLogin function, and the body of the
    Auth0 hook: ``{"tenant", "user": {"user_id", "email"?, "name"?, "role"?}}``."""

    tenant: TenantId
    user: FederatedUser


# -- second factor, passwords, invitations ------------------------------------------------------------
TotpDigits = Annotated[str, Meta(pattern=r"^[0-9]{6}\Z")]
#: NIST SP 800-63B: at least 8 characters, long passphrases welcome; 1024 bounds argon2's input
NewPassword = Annotated[str, Meta(min_length=10, max_length=1024)]


class MfaLogin(Strict, frozen=True):
    """``POST /auth/mfa``: the ``mfa_token`` and either a TOTP ``code`` or a ``recovery_code``."""

    mfa_token: Annotated[str, Meta(min_length=1, max_length=1024)]
    code: TotpDigits | None = None
    #: one of the 10 single-use codes shown when TOTP was confirmed (``XXXX-XXXX-XXXX-XXXX``)
    recovery_code: Annotated[str, Meta(pattern=r"^[A-Za-z0-9 -]{16,24}\Z")] | None = None

    def __post_init__(self) -> None:
        if (self.code is None) == (self.recovery_code is None):  # msgspec answers it as a ValidationError
            raise ValueError("send either `code` or `recovery_code`")


class TotpCode(Strict, frozen=True):
    code: TotpDigits


class PasswordChange(Strict, frozen=True):
    current_password: Annotated[str, Meta(min_length=1, max_length=1024)]
    new_password: NewPassword


class PasswordForgotten(Strict, frozen=True):
    """``POST /auth/password/forgot``: mail a reset link (answered 202 whatever the email)."""

    tenant: TenantId
    email: Email


class PasswordReset(Strict, frozen=True):
    """``POST /auth/password/reset``: the mailed link's token and the new password."""

    token: Annotated[str, Meta(min_length=1, max_length=1024)]
    password: NewPassword


class InviteAcceptance(Strict, frozen=True):
    invite_token: Annotated[str, Meta(min_length=1, max_length=1024)]
    password: NewPassword


class DeviceAuthorization(Strict, frozen=True):
    """``POST /auth/device`` (RFC 8628 §3.1): optionally the tenant whose admin is to approve."""

    tenant: TenantId | None = None


class DeviceTokenRequest(Strict, frozen=True):
    """``POST /auth/device/token`` (RFC 8628 §3.4, as JSON)."""

    grant_type: Literal["urn:ietf:params:oauth:grant-type:device_code"]
    device_code: Annotated[str, Meta(min_length=1, max_length=1024)]


class DeviceApproval(Strict, frozen=True):
    """``POST /auth/device/approve``: the user code the CLI shows, approved (default) or denied."""

    user_code: Annotated[str, Meta(min_length=1, max_length=32)]
    action: Literal["approve", "deny"] = "approve"


# -- tenant administration ---------------------------------------------------------------------------------
StaffRole = Literal["operator", "admin"]
DisplayName = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+\Z")]  # one line: see LINE


class OperatorCreation(Strict, frozen=True):
    """``POST /admin/operators``: with ``password`` the account is ready; without, the answer
    carries a one-time ``invite_token`` for the new operator to set their own."""

    email: MailAddress
    name: DisplayName
    role: StaffRole = "operator"
    password: NewPassword | None = None


class OperatorChange(Strict, frozen=True):
    role: StaffRole | None = None
    name: DisplayName | None = None
    blocked: bool | None = None
    #: ``false`` resets the operator's second factor (a lost phone, an authenticator someone
    #: else enrolled); nobody turns it on for someone else: enrolment needs their authenticator
    mfa_enabled: Literal[False] | None = None
    #: the most open chats auto-assignment and handovers give them (contract section 8);
    #: ``null`` clears it back to the tenant's default (no cap), absent leaves it as it is
    max_chats: Annotated[int, Meta(ge=1, le=50)] | UnsetType | None = UNSET


class EventsQuery(Strict, frozen=True):
    """``GET /admin/events?limit=&cursor=`` (query strings are text: converted with
    ``strict=False``, so ``"20"`` is 20)."""

    limit: Annotated[int, Meta(ge=1, le=100)] = 50
    cursor: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


# -- single sign-on -----------------------------------------------------------------------------------------
Url = Annotated[str, Meta(min_length=1, max_length=2048)]
#: RFC 6749 writes these values in printable ASCII (VSCHAR, NQSCHAR); bounded so that the whole
#: callback URL, percent-encoded, stays within what API Gateway (10 KB) and any server take
_VSCHAR = r"^[\x20-\x7E]*\Z"
Code = Annotated[str, Meta(max_length=1024, pattern=_VSCHAR)]
State = Annotated[str, Meta(max_length=256, pattern=_VSCHAR)]
ShortValue = Annotated[str, Meta(max_length=256, pattern=_VSCHAR)]


class ProvidersQuery(Strict, frozen=True):
    """``GET /auth/providers?tenant=``."""

    tenant: TenantId


class AuthorizeQuery(Strict, frozen=True):
    """``GET /auth/oidc/{provider}/authorize?tenant=&return_to=``."""

    tenant: TenantId
    return_to: Url


class CallbackQuery(Struct, frozen=True, kw_only=True):
    """``GET /auth/oidc/{provider}/callback``: what the provider sends back. Unknown names are
    ignored here, unlike every other query: providers add their own (Google's ``authuser``,
    ``hd``, ``prompt``, ``scope``; ``session_state``), and refusing them would refuse the
    sign-in. Only these are read."""

    code: Code | None = None
    state: State | None = None
    error: ShortValue | None = None
    error_description: ShortValue | None = None
    iss: ShortValue | None = None


class OidcCompletion(Strict, frozen=True):
    """``POST /auth/oidc/complete``: the one-time code from the callback's ``#code=``."""

    code: Annotated[str, Meta(min_length=1, max_length=1024)]


class SessionsQuery(Strict, frozen=True):
    """``GET /auth/sessions?user_id=``: another user's sessions (an admin's question)."""

    user_id: UserId | None = None


#: one line people read (a name, a title, a label): no control characters - a CR/LF or an escape
#: in a name shown to visitors, in the back office or in a mail would be read as something else
LINE = r"^[^\x00-\x1f\x7f]+\Z"
#: text of several lines (a greeting, an away message, a canned reply): line breaks and tabs only
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+\Z"


# -- tenant settings (contract section 9) ---------------------------------------------------------------
#: a browser origin: scheme, host, optional port; no path, no trailing slash (what ``Origin`` sends)
Origin = Annotated[str, Meta(pattern=r"^https?://[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?\Z",
                             max_length=270)]
HexColor = Annotated[str, Meta(pattern=r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?\Z")]
ClockTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]\Z|^24:00\Z")]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
IsoDate = Annotated[str, Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")]
FieldId = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,39}\Z")]
WebhookEvent = Literal["conversation.created", "conversation.assigned", "conversation.closed", "message.created",
                       "csat.submitted", "message.internal.created"]
#: a webhook's URL: https (http only on the local stack, checked in admin/tenant.py), no credentials
WebhookUrl = Annotated[str, Meta(pattern=r"^https?://[^\s@/?#]+(/[^\s#]*)?\Z", max_length=2048)]
WebhookSecret = Annotated[str, Meta(min_length=24, max_length=256, pattern=r"^[\x21-\x7e]+\Z")]


class WidgetSettings(Strict, frozen=True):
    """``widget`` of ``PATCH /admin/tenant``: each field optional, the others kept."""

    title: Annotated[str, Meta(min_length=1, max_length=60, pattern=LINE)] | UnsetType = UNSET
    color: HexColor | UnsetType = UNSET
    greeting: Annotated[str, Meta(min_length=1, max_length=280, pattern=LINES)] | UnsetType = UNSET
    position: Literal["left", "right"] | UnsetType = UNSET


class OpeningHours(Strict, frozen=True):
    day: Day
    from_: ClockTime = field(name="from")
    to: ClockTime


class BusinessHours(Strict, frozen=True):
    """``hours``: when the tenant answers (in ``time_zone``, an IANA name checked against the
    time zone database: the pattern here, the lookup in admin/tenant.py), and the days it does
    not (real dates, checked there too)."""

    time_zone: Annotated[str, Meta(pattern=ZONE_PATTERN, max_length=64)]
    weekly: Annotated[list[OpeningHours], Meta(max_length=28)]
    holidays: Annotated[list[IsoDate], Meta(max_length=366)] = field(default_factory=list)


class PrechatField(Strict, frozen=True):
    id: FieldId
    label: Annotated[str, Meta(min_length=1, max_length=100, pattern=LINE)]
    kind: Literal["text", "email", "phone", "textarea", "select", "checkbox"]
    required: bool = False
    #: the choices of a ``select`` (required there, refused elsewhere: admin/tenant.py)
    options: Annotated[list[Annotated[str, Meta(min_length=1, max_length=100, pattern=LINE)]],
                       Meta(max_length=50)] | None = None


class WebhookSetting(Strict, frozen=True):
    """A webhook: ``id`` names one already configured (its secret kept unless a new one is
    given); a new webhook needs its ``secret`` (Standard Webhooks: ``whsec_`` + base64)."""

    url: WebhookUrl
    events: Annotated[list[WebhookEvent], Meta(min_length=1, max_length=6)]
    id: FieldId | None = None
    secret: WebhookSecret | None = None


class TenantChange(Strict, frozen=True):
    """``PATCH /admin/tenant``: every field optional; a field sent replaces the stored one
    (``widget`` field by field); ``null`` clears ``hours``, ``away_message`` and
    ``message_retention_days``. An empty body is a 400 (it would change nothing)."""

    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=LINE)] | UnsetType = UNSET
    widget: WidgetSettings | UnsetType = UNSET
    allowed_origins: Annotated[list[Origin], Meta(max_length=50)] | UnsetType = UNSET
    visitor_attachments: bool | UnsetType = UNSET
    verified_visitors_only: bool | UnsetType = UNSET
    hours: BusinessHours | UnsetType | None = UNSET
    away_message: Annotated[str, Meta(min_length=1, max_length=1000, pattern=LINES)] | UnsetType | None = UNSET
    email_when_offline: Literal["off", "optional", "required"] | UnsetType = UNSET
    prechat: Annotated[list[PrechatField], Meta(max_length=20)] | UnsetType = UNSET
    message_retention_days: Annotated[int, Meta(ge=1, le=3650)] | UnsetType | None = UNSET
    webhooks: Annotated[list[WebhookSetting], Meta(max_length=10)] | UnsetType = UNSET
    #: the widget's languages offered, first the fallback; the catalogue's (chat.visitors.LOCALES);
    #: ``null`` clears the choice (every language the catalogue has)
    locales: Annotated[list[Literal["en", "es"]], Meta(min_length=1, max_length=10)] | UnsetType | None = UNSET

    def changes(self) -> dict[str, Any]:
        """The fields sent, as plain JSON values (what ``admin.tenant.change_settings`` takes)."""
        import msgspec

        changed: dict[str, Any] = msgspec.to_builtins(self)
        return changed


class SecretRotation(Strict, frozen=True):
    """``POST /admin/tenant/identity-secret`` and ``/hook-secret``: how long the secret being
    replaced keeps working (0: stops at once; at most 30 days)."""

    grace_seconds: Annotated[int, Meta(ge=0, le=30 * 86400)] = 86400


class ReportsQuery(Strict, frozen=True):
    """``GET /admin/reports?from=&to=&operator=``: days in UTC, both included, at most 366."""

    from_: IsoDate = field(name="from")
    to: IsoDate
    operator: UserId | None = None


class SearchQuery(Strict, frozen=True):
    """``GET /admin/search?q=&from=&to=&cursor=``: ``q`` is matched as plain text (bound as a
    parameter, never SQL); ``cursor`` is the previous page's ``next``."""

    q: Annotated[str, Meta(min_length=2, max_length=200)]
    from_: IsoDate = field(name="from")
    to: IsoDate
    cursor: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


# -- canned replies (contract section 8) ------------------------------------------------------------
CannedTitle = Annotated[str, Meta(min_length=1, max_length=100, pattern=LINE)]
CannedText = Annotated[str, Meta(min_length=1, max_length=2000, pattern=LINES)]
Shortcut = Annotated[str, Meta(pattern=r"^[a-z0-9_-]{1,32}\Z")]


class CannedCreation(Strict, frozen=True):
    """``POST /admin/canned``: ``shortcut`` unique per tenant (409 when taken)."""

    title: CannedTitle
    text: CannedText
    shortcut: Shortcut


class CannedChange(Strict, frozen=True):
    """``PATCH /admin/canned/{id}``: any of the three."""

    title: CannedTitle | None = None
    text: CannedText | None = None
    shortcut: Shortcut | None = None


# -- which route reads which model ----------------------------------------------------------------------
#: The body each HTTP route reads, by API Gateway route key: the one place that says so.
#: ``Request.parse`` decodes with it, and the OpenAPI document (``switchboard openapi``) names
#: it, so the two cannot drift. (``POST /hooks/post-login`` is decoded in ``hooks``, which must
#: see the raw bytes first; a test holds what every handler decodes to this table.)
BODIES: Final[Mapping[str, Any]] = MappingProxyType({
    "POST /auth/external": ExternalLogin,
    "POST /auth/exchange": TokenExchange,
    "POST /auth/resume": ResumeRequest,
    "POST /auth/internal": InternalLogin,
    "POST /auth/mfa": MfaLogin,
    "POST /auth/refresh": RefreshRequest,
    "POST /auth/revoke": RevokeBody,
    "POST /auth/totp/confirm": TotpCode,
    "POST /auth/totp/disable": TotpCode,
    "POST /auth/password": PasswordChange,
    "POST /auth/invite": InviteAcceptance,
    "POST /auth/password/forgot": PasswordForgotten,
    "POST /auth/password/reset": PasswordReset,
    "POST /auth/device": DeviceAuthorization,
    "POST /auth/device/token": DeviceTokenRequest,
    "POST /auth/device/approve": DeviceApproval,
    "POST /hooks/post-login": PostLoginInvocation,
    "POST /admin/operators": OperatorCreation,
    "PATCH /admin/operators/{id}": OperatorChange,
    "POST /admin/canned": CannedCreation,
    "PATCH /admin/canned/{id}": CannedChange,
    "PATCH /admin/tenant": TenantChange,
    "POST /admin/tenant/identity-secret": SecretRotation,
    "POST /admin/tenant/hook-secret": SecretRotation,
    "POST /auth/oidc/complete": OidcCompletion,
})

#: The query string each HTTP route reads (``Request.parse_query``), as :data:`BODIES`.
QUERIES: Final[Mapping[str, Any]] = MappingProxyType({
    "GET /admin/events": EventsQuery,
    "GET /auth/sessions": SessionsQuery,
    "GET /admin/reports": ReportsQuery,
    "GET /admin/search": SearchQuery,
    "GET /auth/providers": ProvidersQuery,
    "GET /auth/oidc/{provider}/authorize": AuthorizeQuery,
    "GET /auth/oidc/{provider}/callback": CallbackQuery,
})
