"""Live WebSocket connections: the chat's context per endpoint, and revocation reaching sockets.

The domain reaches sockets only through :class:`LiveConnections` (``Services.connections``):
ending a session or taking scopes away must reach the connections it opened before the caller
hears 200, and that is no business of the WebSocket edge's.
"""

from __future__ import annotations

from collections.abc import Callable

from switchboard.chat import actions
from switchboard.chat.context import ChatContext
from switchboard.chat.realtime import Realtime, event_frame
from switchboard.chat.s3 import ChatFiles
from switchboard.models import Tenant
from switchboard.policy import HANDLES_CHATS
from switchboard.settings import Settings
from switchboard.store import Store

__all__ = ["LiveConnections", "build_context"]


def build_context(settings: Settings, store: Store, tenants: Callable[[str], Tenant | None],
                  endpoint: str) -> ChatContext:
    """A chat context whose notifier posts through ``endpoint``'s management API; a post that
    finds a connection gone forgets it as ``$disconnect`` would (see
    :class:`~switchboard.chat.realtime.Realtime`)."""
    holder: list[ChatContext] = []
    notifier = Realtime(endpoint, on_gone=lambda cid: actions.handle_disconnect(holder[0], cid))
    ctx = ChatContext(store=store, notifier=notifier, archive_bucket=settings.archive_bucket or None,
                      attachments_bucket=settings.attachments_bucket or None,
                      max_attachment_bytes=settings.max_attachment_bytes,
                      files=ChatFiles(path_style=settings.s3_own_endpoint), tenants=tenants,
                      archive_retention_days=settings.archive_retention_days,
                      followup_delay_seconds=settings.followup_delay_seconds)
    holder.append(ctx)
    return ctx


class LiveConnections:
    """What revocation calls once the sessions are revoked in storage. ``context`` gives the
    chat context of the configured endpoint (made on first use)."""

    def __init__(self, context: Callable[[], ChatContext]) -> None:
        self._context = context

    def revoke(self, *, tenant: str, user_id: str, session_ids: set[str] | None,
               scopes: frozenset[str] | None = None) -> int:
        """Reach the user's live connections (of ``session_ids`` only, unless None); returns
        how many it reached.

        Session or user revocation: each affected connection gets ``auth.revoked`` and is then
        closed through the management API, and its records are removed (a staff member's
        channels go back to the queue). Scope revocation: the connection records lose the
        scopes (every action reads them), connections that lose ``chat:read`` stop watching,
        and each gets ``auth.revoked {"kind": "scopes", "scopes": [...]}``.
        """
        ctx = self._context()
        affected = [cid for cid, sid in ctx.store.connections.of_user(tenant, user_id)
                    if session_ids is None or sid in session_ids]
        if not affected:
            return 0
        if scopes is not None:
            ctx.store.connections.remove_scopes(tenant, user_id, affected, scopes)
            if "chat:read" in scopes:
                ctx.store.watchers.remove_all(affected)
            ctx.notifier.send(affected, event_frame("auth.revoked", {"kind": "scopes", "scopes": sorted(scopes)}))
            if scopes & HANDLES_CHATS:  # staff who can no longer handle their conversations hand them back
                actions.hand_back_if_away(ctx, tenant, user_id)
            return len(affected)
        kind = "session" if session_ids is not None else "user"
        gone = set(ctx.notifier.send(affected, event_frame("auth.revoked", {"kind": kind})))
        for cid in affected:
            if cid not in gone:
                ctx.notifier.disconnect(cid)
        return len(affected)
