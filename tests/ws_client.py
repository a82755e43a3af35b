"""A small chat client for end-to-end tests: real WebSockets (the `websockets` library),
replies matched to requests by ``rid``, events queued by name."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection


class ChatClient:
    _rids = itertools.count(1)

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seen: list[dict[str, Any]] = []
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, base: str, token: str, origin: str | None = None) -> ChatClient:
        ws = await websockets.connect(f"{base}/?token={token}", origin=origin, max_size=None)  # type: ignore[arg-type]
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.seen.append(frame)
                if frame.get("type") == "reply" and frame.get("rid") in self._waiting:
                    self._waiting.pop(frame["rid"]).set_result(frame)
                else:
                    await self.events.put(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def request(self, action: str, timeout: float = 10.0, **params: Any) -> dict[str, Any]:
        """Send ``{"action", "rid", **params}``; the reply frame."""
        rid = f"r{next(self._rids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        await self.ws.send(json.dumps({"action": action, "rid": rid, **params}))
        return await asyncio.wait_for(fut, timeout)

    async def ok(self, action: str, **params: Any) -> dict[str, Any]:
        reply = await self.request(action, **params)
        assert reply["ok"], reply
        return dict(reply["data"])

    async def send_raw(self, text: str) -> dict[str, Any]:
        """Send a frame as is; the next reply-shaped frame (error replies to malformed frames have no rid)."""
        await self.ws.send(text)
        return await self.next_frame(lambda f: f.get("type") == "reply")

    async def next_frame(self, match: Any, timeout: float = 10.0) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                frame = await self.events.get()
                if match(frame):
                    return frame

        return await asyncio.wait_for(wait(), timeout)

    async def event(self, name: str, timeout: float = 10.0, **where: Any) -> dict[str, Any]:
        """The next event called ``name`` whose data has the given values (others are skipped)."""
        def match(frame: dict[str, Any]) -> bool:
            data = frame.get("data") or {}
            return frame.get("type") == "event" and frame.get("event") == name and all(
                _dig(data, k) == v for k, v in where.items())

        frame = await self.next_frame(match, timeout)
        return dict(frame["data"])

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


def _dig(data: dict[str, Any], path: str) -> Any:
    for part in path.split("__"):
        data = data.get(part) if isinstance(data, dict) else None  # type: ignore[assignment]
    return data
