"""Audit events: who signed in, failed, refreshed, reused a token, revoked what.

Events never hold secrets: no passwords, tokens or hashes, only ids and outcomes.
"""

from __future__ import annotations

import time
from typing import Any

from switchboard.ids import time_ordered_id
from switchboard.models import AuditEvent
from switchboard.store import Store

__all__ = ["KINDS", "event", "event_id", "expires_at", "record"]

KINDS = frozenset(
    {
        "sign_in",
        "sign_in_failed",
        "refresh",
        "token_reused",
        "revoke",
        "mfa_enabled",
        "mfa_disabled",
        "operator_created",
        "operator_changed",
        "operator_removed",
        "password_changed",
        "tenant_changed",
        "secret_rotated",
        "identity_linked",
        "identity_unlinked",
        "password_reset",
        "device_approved",
        "device_denied",
        # issue 17: canned replies
        "canned_created",
        "canned_changed",
        "canned_removed",
        "visitor_exported",
        "visitor_erased",
    }
)


def event_id(now_ms: int | None = None) -> str:
    """A time-ordered id (see :mod:`switchboard.ids`)."""
    return time_ordered_id(now_ms)


def event(
    *,
    tenant: str,
    kind: str,
    actor: str | None = None,
    subject: str | None = None,
    session_id: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """An event, not yet stored: for callers that write it together with what it records
    (a sign-in's session and its ``sign_in`` event are one transaction)."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit event kind {kind!r}")
    now_ms = int(time.time() * 1000)
    return AuditEvent(
        tenant=tenant,
        id=event_id(now_ms),
        kind=kind,
        at=now_ms // 1000,
        actor=actor,
        subject=subject,
        session_id=session_id,
        detail={k: v for k, v in detail.items() if v is not None},
    )


def expires_at(e: AuditEvent, retention_days: int) -> int:
    """The event's TTL: DynamoDB deletes it ``retention_days`` after it happened."""
    return e.at + retention_days * 86400


def record(
    store: Store,
    *,
    tenant: str,
    kind: str,
    retention_days: int,
    actor: str | None = None,
    subject: str | None = None,
    session_id: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Build an event and store it (one PutItem)."""
    e = event(tenant=tenant, kind=kind, actor=actor, subject=subject, session_id=session_id, **detail)
    store.events.put(e, ttl=expires_at(e, retention_days))
    return e
