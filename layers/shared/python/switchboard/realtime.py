"""Pushing frames to live WebSocket connections through API Gateway's management API.

A post that fails with GoneException (410) means the client left without a clean
``$disconnect`` (which API Gateway delivers best-effort): that connection's records are
removed and delivery to the others goes on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from switchboard.observability import logger
from switchboard.storage import Store

__all__ = ["MAX_FRAME_BYTES", "Realtime", "event_frame"]

MAX_FRAME_BYTES = 128 * 1024  # API Gateway's WebSocket message limit
_PARALLEL = 16


def event_frame(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "event": name, "data": data}


class Realtime:
    """Posts to connections; ``on_gone(connection_id)`` cleans up after a stale one."""

    def __init__(self, endpoint: str, store: Store, *, on_gone: Callable[[str], None] | None = None) -> None:
        self._endpoint = endpoint
        self._store = store
        self._on_gone = on_gone
        self._client_lock = threading.Lock()
        self._client: Any = None

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.client("apigatewaymanagementapi", endpoint_url=self._endpoint,
                                            config=Config(connect_timeout=2, read_timeout=3,
                                                          retries={"mode": "standard", "max_attempts": 2}))
            return self._client

    def send(self, connection_ids: Iterable[str], frame: dict[str, Any]) -> list[str]:
        """Post one frame to each connection; returns the connections found gone."""
        data = json.dumps(frame, separators=(",", ":")).encode()
        if len(data) > MAX_FRAME_BYTES:
            raise ValueError("frame larger than API Gateway's 128 KB limit")
        ids = list(dict.fromkeys(connection_ids))
        if len(ids) <= 1:
            gone = [cid for cid in ids if not self._post(cid, data)]
        else:
            with ThreadPoolExecutor(max_workers=min(_PARALLEL, len(ids))) as pool:
                gone = [cid for cid, ok in zip(ids, pool.map(lambda c: self._post(c, data), ids), strict=True)
                        if not ok]
        for cid in gone:
            self.forget(cid)
        return gone

    def _post(self, connection_id: str, data: bytes) -> bool:
        """True if delivered (or failed for a reason other than the connection being gone)."""
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=data)
            return True
        except self.client.exceptions.GoneException:
            return False
        except Exception:  # one unreachable connection must not stop delivery to the others
            logger.exception("post to connection failed", extra={"connection_id": connection_id})
            return True

    def disconnect(self, connection_id: str) -> None:
        """Close a connection from the server side and forget it."""
        try:
            self.client.delete_connection(ConnectionId=connection_id)
        except self.client.exceptions.GoneException:
            pass
        self.forget(connection_id)

    def forget(self, connection_id: str) -> None:
        if self._on_gone:
            self._on_gone(connection_id)
        else:
            self._store.delete_connection(connection_id)
