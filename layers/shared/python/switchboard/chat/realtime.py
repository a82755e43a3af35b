"""Pushing frames to live WebSocket connections through API Gateway's management API.

A post that fails with GoneException (410) means the client left without a clean
``$disconnect`` (which API Gateway delivers best-effort): that connection's records are
removed (``on_gone``) and delivery to the others goes on.

Size: API Gateway carries messages of up to 128 KB, cut into frames of 32 KB. Everything
the server sends is kept within one 32 KB frame (:data:`MAX_FRAME_BYTES`): replies and
events are sized to fit (history pages shrink, message size is bounded at ``message.send``),
and :func:`encode` refuses anything larger rather than have API Gateway drop it.
"""

from __future__ import annotations

import contextvars
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from switchboard.observability import logger

__all__ = ["MAX_FRAME_BYTES", "MAX_MESSAGE_BYTES", "FrameTooLarge", "Realtime", "encode", "event_frame", "reply_frame"]

MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's WebSocket message limit
MAX_FRAME_BYTES = 32 * 1024  # API Gateway's WebSocket frame size: what the server keeps each message within
_PARALLEL = 16


class FrameTooLarge(ValueError):
    """A frame the server built is over :data:`MAX_FRAME_BYTES` (a bug: callers size their data)."""


def encode(frame: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (non-ASCII stays as is: an emoji is 4 bytes, not a 12-byte escape pair)."""
    data = json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"frame of {len(data)} bytes exceeds {MAX_FRAME_BYTES}")
    return data


def size_of(value: Any) -> int:
    """Bytes ``value`` takes inside an encoded frame."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def event_frame(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "event": name, "data": data}


def reply_frame(rid: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "reply", "rid": rid, "ok": True, "data": data}


class Realtime:
    """Posts to connections; ``on_gone(connection_id)`` cleans up after a stale one."""

    def __init__(self, endpoint: str, *, on_gone: Callable[[str], None]) -> None:
        self._endpoint = endpoint
        self._on_gone = on_gone
        self._client_lock = threading.Lock()
        self._client: Any = None

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def client(self) -> Any:
        """One management API client per container (boto3 clients are thread-safe)."""
        with self._client_lock:
            if self._client is None:
                from botocore.config import Config

                from switchboard import aws

                self._client = aws.client("apigatewaymanagementapi", endpoint_url=self._endpoint,
                                          config=Config(connect_timeout=2, read_timeout=3,
                                                        retries={"mode": "standard", "max_attempts": 2}))
            return self._client

    def send(self, connection_ids: Iterable[str], frame: dict[str, Any]) -> list[str]:
        """Post one frame to each connection (in parallel); returns the connections found gone,
        whose records have been removed by then."""
        data = encode(frame)
        ids = list(dict.fromkeys(connection_ids))
        if len(ids) <= 1:
            gone = [cid for cid in ids if not self._post(cid, data)]
        else:
            with ThreadPoolExecutor(max_workers=min(_PARALLEL, len(ids))) as pool:
                # each post in a copy of the caller's context: what the caller's context holds
                # (the local stack's container and IAM check) follows the work to the thread
                posts = [pool.submit(contextvars.copy_context().run, self._post, cid, data) for cid in ids]
                delivered = [post.result() for post in posts]
            gone = [cid for cid, ok in zip(ids, delivered, strict=True) if not ok]
        for cid in gone:
            self._on_gone(cid)
        return gone

    def _post(self, connection_id: str, data: bytes) -> bool:
        """False if the connection is gone; True otherwise (delivered, or failed for another
        reason - logged - which must not stop delivery to the others)."""
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=data)
            return True
        except self.client.exceptions.GoneException:
            return False
        except (ClientError, BotoCoreError):
            logger.exception("post to connection failed", extra={"connection_id": connection_id})
            return True

    def disconnect(self, connection_id: str) -> None:
        """Close a connection from the server side and forget it (gone already is fine)."""
        try:
            self.client.delete_connection(ConnectionId=connection_id)
        except self.client.exceptions.GoneException:
            pass
        except (ClientError, BotoCoreError):
            logger.exception("closing a connection failed", extra={"connection_id": connection_id})
        self._on_gone(connection_id)
