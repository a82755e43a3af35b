"""Parameters of the WebSocket actions (contract section 4), as strict pydantic models.

A frame is ``{"action", "rid", ...params}``; the params are validated by the action's
model, so unknown fields, wrong types and out-of-range sizes are a ``validation_error``
reply and change nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "AssignParams", "AttachmentParams", "ChannelParams", "CreateTeamParams", "DeleteParams", "HistoryParams",
    "NoParams", "QueryParams", "ReadParams", "SendParams", "SupportOpenParams",
]

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9@_-]{1,128}$")]
#: ``attachments/<tenant>/<channel id>/<upload id>`` - what attachment.presign hands out
AttachmentKey = Annotated[
    str, StringConstraints(pattern=r"^attachments/[a-z0-9_-]{1,64}/[A-Za-z0-9@_-]{1,128}/[0-9a-f-]{1,40}$")]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)  # built on first use


class NoParams(Params):
    pass


class SupportOpenParams(Params):
    subject: Annotated[str, StringConstraints(max_length=200)] | None = None


class QueryFilter(Params):
    """Exactly one of ``{"member": "me"}``, ``{"status": "queued"}``, ``{"status": "open"}``."""

    member: Literal["me"] | None = None
    status: Literal["queued", "open"] | None = None

    @model_validator(mode="after")
    def _one_filter(self) -> QueryFilter:
        if (self.member is None) == (self.status is None):
            raise ValueError('give exactly one of "member" or "status"')
        return self


class QueryParams(Params):
    filter: QueryFilter = QueryFilter(member="me")
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=2048)] | None = None


class ChannelParams(Params):
    channel_id: Id


class HistoryParams(Params):
    channel_id: Id
    before: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class AssignParams(Params):
    channel_id: Id
    operator_id: Id | None = None


class CreateTeamParams(Params):
    type: Literal["team"]
    members: Annotated[list[Id], Field(min_length=1, max_length=50)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class Attachment(Params):
    """An upload made with ``attachment.presign`` (its key is checked against the channel)."""

    key: AttachmentKey
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    content_type: Annotated[str, StringConstraints(max_length=100)] | None = None
    size: Annotated[int, Field(ge=1)] | None = None


class SendParams(Params):
    channel_id: Id
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]  # characters (code points)
    client_id: ClientId
    attachments: Annotated[list[Attachment], Field(max_length=10)] = []

    def attachment_dicts(self) -> tuple[dict[str, Any], ...]:
        return tuple(a.model_dump(exclude_none=True) for a in self.attachments)


class DeleteParams(Params):
    channel_id: Id
    message_id: Id


class ReadParams(Params):
    channel_id: Id
    message_id: Id


class AttachmentParams(Params):
    channel_id: Id
    content_type: Annotated[str, StringConstraints(max_length=100)]
    size: Annotated[int, Field(ge=1)]
