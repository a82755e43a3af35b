"""Follow-up mail (contract section 8): a staff reply the visitor was not there to see reaches
them by email, with a single-use link back into the same conversation.

The flow (docs/architecture.md, "Follow-up mail"):

1. ``message.send`` by staff in a support channel whose visitor left an email marks the
   conversation due in ``followup_delay_seconds`` (120 s; the template's FollowupDelaySeconds):
   one UpdateItem, after the sender has their reply (:func:`schedule`). Replies before it is due
   join the same batch: its due time stays the first reply's. (Apart from the mailing, in
   :mod:`switchboard.chat.followup_mail`, which needs the services the actions must not import.)
2. The ``FollowupMail`` function runs every minute (a ``Schedule`` event) and calls
   :func:`switchboard.chat.followup_mail.send_due`: one Query of GSI2 ``FU#due`` for what is
   due now - never a Scan, so it costs what is due, not what exists. For each: a visitor with a
   live connection now sees the replies in the widget (nothing mailed); else the staff replies
   since the batch began - never a message flagged ``internal`` (a staff note), never a
   deleted one - go in one mail with a resume link (``POST /auth/resume``:
   :mod:`switchboard.auth.resume`), and the batch is done. A reply that came while it was
   mailed starts the next batch.
"""

from __future__ import annotations

from switchboard.chat.context import ChatContext
from switchboard.models import Channel, Connection, Message
from switchboard.policy import STAFF_ROLES

__all__ = ["RESUME_SECONDS", "owed", "schedule"]

#: how long a follow-up mail's link works (contract: 7 days)
RESUME_SECONDS = 7 * 86400


def owed(ch: Channel, conn: Connection) -> bool:
    """Whether a message ``conn`` just sent in ``ch`` may owe its visitor a follow-up mail."""
    return ch.type == "support" and conn.role in STAFF_ROLES and bool(ch.visitor_email) and bool(ch.visitor)


def schedule(ctx: ChatContext, ch: Channel, message: Message) -> None:
    """Mark ``ch`` due for a follow-up ``followup_delay_seconds`` after ``message`` (or join the
    batch already waiting). Kept until the link's life has passed at most (``ttl``)."""
    due = message.created_at + ctx.followup_delay_seconds * 1000
    ctx.store.followups.schedule(ch, reply_ms=message.created_at, due_ms=due,
                                 ttl=message.created_at // 1000 + RESUME_SECONDS)
