"""The WebSocket actions' dispatch table: action name -> its params Struct -> the domain call.

The frame's params are validated by the Struct (:mod:`switchboard.edge.frames`, strict); the
domain action (:mod:`switchboard.chat.actions`) takes plain keyword arguments and knows no
frame. A new action is a Struct in frames.py, a function in chat/actions.py and a row here (and
its route and function in template.yaml).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from switchboard.chat import actions, visitors
from switchboard.chat.context import ChatContext, Reply
from switchboard.edge.frames import (
    AssignParams,
    AttachmentOpenParams,
    AttachmentParams,
    ChannelParams,
    CreateTeamParams,
    DeleteParams,
    HistoryParams,
    LabelParams,
    Params,
    PresenceParams,
    QueryParams,
    RateParams,
    ReadParams,
    SendParams,
    SupportOpenParams,
    VisitorContextParams,
    VisitorEmailParams,
)
from switchboard.models import Connection

__all__ = ["ACTIONS", "Action"]

#: what runs an action: the caller's context and connection, and its validated params
Action = Callable[[ChatContext, Connection, Any], Reply]


def _support_open(ctx: ChatContext, conn: Connection, p: SupportOpenParams) -> Reply:
    return actions.support_open(
        ctx, conn, subject=p.subject, context=msgspec.structs.asdict(p.context) if p.context else None,
        prechat=dict(p.prechat) if p.prechat is not None else None, email=p.email)


def _channel_query(ctx: ChatContext, conn: Connection, p: QueryParams) -> Reply:
    # {"member": "me"} is status None: the caller's own channels
    f = p.filter
    return actions.channel_query(ctx, conn, status=f.status, visitor=f.visitor, label=f.label, assignee=f.assignee,
                                 limit=p.limit, cursor=p.cursor)


def _channel_watch(ctx: ChatContext, conn: Connection, p: ChannelParams) -> Reply:
    return actions.channel_watch(ctx, conn, channel_id=p.channel_id)


def _channel_history(ctx: ChatContext, conn: Connection, p: HistoryParams) -> Reply:
    return actions.channel_history(ctx, conn, channel_id=p.channel_id, before=p.before, limit=p.limit)


def _channel_assign(ctx: ChatContext, conn: Connection, p: AssignParams) -> Reply:
    return actions.channel_assign(ctx, conn, channel_id=p.channel_id, operator_id=p.operator_id, note=p.note)


def _channel_create(ctx: ChatContext, conn: Connection, p: CreateTeamParams) -> Reply:
    return actions.channel_create(ctx, conn, members=p.members, name=p.name)


def _channel_close(ctx: ChatContext, conn: Connection, p: ChannelParams) -> Reply:
    return actions.channel_close(ctx, conn, channel_id=p.channel_id)


def _message_send(ctx: ChatContext, conn: Connection, p: SendParams) -> Reply:
    return actions.message_send(ctx, conn, channel_id=p.channel_id, text=p.text, client_id=p.client_id,
                                attachments=p.attachment_dicts(), internal=p.internal)


def _message_delete(ctx: ChatContext, conn: Connection, p: DeleteParams) -> Reply:
    return actions.message_delete(ctx, conn, channel_id=p.channel_id, message_id=p.message_id)


def _typing(ctx: ChatContext, conn: Connection, p: ChannelParams) -> Reply:
    return actions.typing(ctx, conn, channel_id=p.channel_id)


def _read(ctx: ChatContext, conn: Connection, p: ReadParams) -> Reply:
    return actions.read(ctx, conn, channel_id=p.channel_id, message_id=p.message_id)


def _attachment_presign(ctx: ChatContext, conn: Connection, p: AttachmentParams) -> Reply:
    return actions.attachment_presign(ctx, conn, channel_id=p.channel_id, content_type=p.content_type, size=p.size)


def _attachment_open(ctx: ChatContext, conn: Connection, p: AttachmentOpenParams) -> Reply:
    return actions.attachment_open(ctx, conn, channel_id=p.channel_id, message_id=p.message_id, key=p.key)


def _channel_label(ctx: ChatContext, conn: Connection, p: LabelParams) -> Reply:
    return actions.channel_label(ctx, conn, channel_id=p.channel_id, add=p.add, remove=p.remove)


def _presence_set(ctx: ChatContext, conn: Connection, p: PresenceParams) -> Reply:
    return actions.presence_set(ctx, conn, status=p.status)
def _visitor_email(ctx: ChatContext, conn: Connection, p: VisitorEmailParams) -> Reply:
    return visitors.visitor_email(ctx, conn, channel_id=p.channel_id, email=p.email,
                                  announce=lambda ch: actions.announce(ctx, ch, caller=conn.id))


def _visitor_context(ctx: ChatContext, conn: Connection, p: VisitorContextParams) -> Reply:
    return visitors.visitor_context(ctx, conn, channel_id=p.channel_id, context=msgspec.structs.asdict(p.context),
                                    announce=lambda ch: actions.announce(ctx, ch, caller=conn.id))


def _channel_rate(ctx: ChatContext, conn: Connection, p: RateParams) -> Reply:
    return visitors.channel_rate(ctx, conn, channel_id=p.channel_id, score=p.score, comment=p.comment,
                                 announce=lambda ch: actions.announce(ctx, ch, caller=conn.id))


#: action name -> (params model, what runs it)
ACTIONS: dict[str, tuple[type[Params], Action]] = {
    "support.open": (SupportOpenParams, _support_open),
    "channel.query": (QueryParams, _channel_query),
    "channel.watch": (ChannelParams, _channel_watch),
    "channel.history": (HistoryParams, _channel_history),
    "channel.assign": (AssignParams, _channel_assign),
    "channel.create": (CreateTeamParams, _channel_create),
    "channel.close": (ChannelParams, _channel_close),
    "message.send": (SendParams, _message_send),
    "message.delete": (DeleteParams, _message_delete),
    "typing": (ChannelParams, _typing),
    "read": (ReadParams, _read),
    "attachment.presign": (AttachmentParams, _attachment_presign),
    "attachment.open": (AttachmentOpenParams, _attachment_open),
    "channel.label": (LabelParams, _channel_label),
    "presence.set": (PresenceParams, _presence_set),
    "visitor.email": (VisitorEmailParams, _visitor_email),
    "visitor.context": (VisitorContextParams, _visitor_context),
    "channel.rate": (RateParams, _channel_rate),
}
