"""What every chat action works with: :class:`ChatContext` in, :class:`Reply` out.

Apart from :mod:`switchboard.chat.actions` so that transcripts, attachments and the
connections' revocation use it without importing the actions (no import cycles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import msgspec

from switchboard.chat.s3 import ChatFiles
from switchboard.models import Tenant
from switchboard.store import Store

__all__ = ["DEFAULT_MAX_ATTACHMENT_BYTES", "ChatContext", "Notifier", "Reply"]

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


class Notifier(Protocol):
    """Reaches live connections (:class:`switchboard.chat.realtime.Realtime`)."""

    def send(self, connection_ids: Iterable[str], frame: dict[str, Any]) -> list[str]: ...
    def disconnect(self, connection_id: str) -> None: ...


class ChatContext(msgspec.Struct, frozen=True):
    """What chat actions need: storage, a way to reach connections, the S3 objects and their
    buckets, tenant settings. One per WebSocket API endpoint per container
    (:meth:`switchboard.runtime.Services.chat`)."""

    store: Store
    notifier: Notifier
    archive_bucket: str | None = None
    attachments_bucket: str | None = None
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    files: ChatFiles = msgspec.field(default_factory=ChatFiles)
    tenants: Callable[[str], Tenant | None] | None = None
    archive_retention_days: int = 365  # Settings.archive_retention_days
    followup_delay_seconds: int = 120  # Settings.followup_delay_seconds


class Reply(msgspec.Struct, frozen=True):
    """An action's answer to its caller, and what to do once the caller has it."""

    data: dict[str, Any]
    then: Callable[[], None] | None = None
