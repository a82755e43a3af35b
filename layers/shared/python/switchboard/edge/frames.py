"""Parameters of the WebSocket actions (contract section 4), as strict, frozen msgspec Structs.

A frame is ``{"action", "rid", ...params}``; the params are validated by the action's
Struct (:func:`switchboard.edge.validation.convert`, strict), so unknown fields, wrong types
and out-of-range sizes are a ``validation_error`` reply and change nothing. Patterns are
anchored ``^...\\Z`` (msgspec searches them; ``$`` would let a trailing newline through).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from switchboard.chat.hours import ZONE_PATTERN, real_zone
from switchboard.mail import ADDRESS_PATTERN

__all__ = [
    "AssignParams",
    "AttachmentOpenParams",
    "AttachmentParams",
    "ChannelParams",
    "CreateTeamParams",
    "DeleteParams",
    "HistoryParams",
    "LabelParams",
    "NoParams",
    "PresenceParams",
    "QueryParams",
    "RateParams",
    "ReadParams",
    "SendParams",
    "SupportOpenParams",
    "VisitorContext",
    "VisitorContextParams",
    "VisitorEmailParams",
]

Id = Annotated[str, Meta(pattern=r"^[A-Za-z0-9@_-]{1,128}\Z")]
#: ``attachments/<tenant>/<channel id>/<upload id>`` - what attachment.presign hands out
#: ``attachments/<tenant>/<channel id>/<uploader's user id>/<id>`` (keys made before uploads
#: were filed under their uploader have no user segment: still opened, never sent again)
AttachmentKey = Annotated[
    str, Meta(pattern=r"^attachments/[a-z0-9_-]{1,64}/[A-Za-z0-9@_-]{1,128}/([a-z0-9@_-]{1,128}/)?[0-9a-f-]{1,40}\Z")]
ClientId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9._:-]{1,64}\Z")]


class Params(Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Unknown fields refused, no attribute assignable; fields by name only. (Subclasses
    repeat ``frozen=True``: msgspec inherits it, mypy's dataclass check wants it said.)"""


class NoParams(Params, frozen=True):
    pass


#: a page's address: http(s) only (never ``javascript:`` or ``data:``: staff click it), no spaces
#: or control characters, at most 2048 characters (what browsers and proxies reliably carry)
PageUrl = Annotated[str, Meta(pattern=r"^https?://[^\s\x00-\x1f\x7f]{1,2040}\Z", max_length=2048)]
#: a BCP 47 language tag as browsers give it (``en``, ``es-419``, ``zh-Hant-TW``)
Locale = Annotated[str, Meta(pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,4}\Z", max_length=35)]
Email = Annotated[str, Meta(pattern=ADDRESS_PATTERN, max_length=254)]  # one plain address (switchboard.mail)
#: a pre-chat answer: text (checked against the tenant's field: a select's options, an email's
#: form) or a checkbox's true/false
PrechatValue = Annotated[str, Meta(max_length=1000)] | bool


#: an IANA time zone's name as browsers give it; the pattern (chat/hours.py's, shared with the
#: tenant's ``hours.time_zone``) keeps out paths and tz-directory files, then
#: :func:`switchboard.chat.hours.real_zone` asks zoneinfo whether it exists
TimeZone = Annotated[str, Meta(pattern=ZONE_PATTERN, max_length=64)]


class VisitorContext(Params, frozen=True):
    """Where the visitor is (contract section 8): every field optional, each bounded.
    ``time_zone`` is our extension (docs/chat-policy.md): the browser's IANA zone, so staff
    see the visitor's local time."""

    url: PageUrl | None = None
    title: Annotated[str, Meta(max_length=300)] | None = None
    referrer: PageUrl | None = None
    locale: Locale | None = None
    time_zone: TimeZone | None = None

    def __post_init__(self) -> None:  # a ValueError here is a ValidationError of the decode
        if self.time_zone is not None and not real_zone(self.time_zone):
            raise ValueError("time_zone: not a time zone of the IANA database")


class SupportOpenParams(Params, frozen=True):
    subject: Annotated[str, Meta(max_length=200)] | None = None
    context: VisitorContext | None = None
    #: field id -> answer; checked against the tenant's configured fields (chat/visitors.py)
    prechat: Annotated[dict[Annotated[str, Meta(pattern=r"^[a-z0-9_-]{1,40}\Z")], PrechatValue],
                       Meta(max_length=20)] | None = None
    email: Email | None = None


class VisitorEmailParams(Params, frozen=True):
    channel_id: Id
    email: Email


class VisitorContextParams(Params, frozen=True):
    channel_id: Id
    context: VisitorContext


class RateParams(Params, frozen=True):
    channel_id: Id
    score: Annotated[int, Meta(ge=1, le=5)]
    comment: Annotated[str, Meta(max_length=1000)] | None = None


class QueryFilter(Params, frozen=True):
    """Exactly one of ``{"member": "me"}``, ``{"status": "queued" | "open" | "closed"}``,
    ``{"visitor": id}``, ``{"label": l}``, ``{"assignee": id}`` (the last four: staff)."""

    member: Literal["me"] | None = None
    status: Literal["queued", "open", "closed"] | None = None
    visitor: Id | None = None
    label: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    assignee: Id | None = None

    def __post_init__(self) -> None:  # a ValueError here is a ValidationError of the decode
        given = [f for f in (self.member, self.status, self.visitor, self.label, self.assignee) if f is not None]
        if len(given) != 1:
            raise ValueError('give exactly one of "member", "status", "visitor", "label" or "assignee"')


class QueryParams(Params, frozen=True):
    filter: QueryFilter = QueryFilter(member="me")
    limit: Annotated[int, Meta(ge=1, le=100)] = 20
    cursor: Annotated[str, Meta(max_length=2048)] | None = None


class ChannelParams(Params, frozen=True):
    channel_id: Id


class HistoryParams(Params, frozen=True):
    channel_id: Id
    before: Id | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50


class AssignParams(Params, frozen=True):
    channel_id: Id
    operator_id: Id | None = None
    #: a handover's note to the colleague (stored as a private note of the channel)
    note: Annotated[str, Meta(min_length=1, max_length=500)] | None = None


class CreateTeamParams(Params, frozen=True):
    type: Literal["team"]
    members: Annotated[list[Id], Meta(min_length=1, max_length=50)]
    name: Annotated[str, Meta(min_length=1, max_length=100)]


class Attachment(Params, frozen=True):
    """An upload made with ``attachment.presign`` (its key is checked against the channel)."""

    key: AttachmentKey
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    content_type: Annotated[str, Meta(max_length=100)] | None = None
    size: Annotated[int, Meta(ge=1)] | None = None


class SendParams(Params, frozen=True):
    channel_id: Id
    text: Annotated[str, Meta(min_length=1, max_length=4000)]  # characters (code points)
    client_id: ClientId
    attachments: Annotated[list[Attachment], Meta(max_length=10)] = []
    #: a private note among staff (contract section 8)
    internal: bool = False

    def attachment_dicts(self) -> tuple[dict[str, Any], ...]:
        """Each attachment as a dict, without the fields it left out (``None``)."""
        return tuple({k: v for k, v in msgspec.structs.asdict(a).items() if v is not None} for a in self.attachments)


class DeleteParams(Params, frozen=True):
    channel_id: Id
    message_id: Id


class ReadParams(Params, frozen=True):
    channel_id: Id
    message_id: Id


class AttachmentParams(Params, frozen=True):
    channel_id: Id
    content_type: Annotated[str, Meta(max_length=100)]
    size: Annotated[int, Meta(ge=1)]


class AttachmentOpenParams(Params, frozen=True):
    """``attachment.open``: a short-lived download link for one attachment of one message."""

    channel_id: Id
    message_id: Id
    key: AttachmentKey


#: a label as sent: normalised by the domain (chat/labels.py) to at most 32 characters
LabelText = Annotated[str, Meta(min_length=1, max_length=64)]


class LabelParams(Params, frozen=True):
    """``channel.label``: labels to add and to remove (at least one of the two)."""

    channel_id: Id
    add: Annotated[list[LabelText], Meta(max_length=10)] = []
    remove: Annotated[list[LabelText], Meta(max_length=10)] = []

    def __post_init__(self) -> None:
        if not self.add and not self.remove:
            raise ValueError('give "add" or "remove"')


class PresenceParams(Params, frozen=True):
    """``presence.set``: whether the caller takes new chats."""

    status: Literal["online", "away"]
