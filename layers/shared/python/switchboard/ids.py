"""Time-ordered ids: sorting them as strings sorts them by creation time."""

from __future__ import annotations

import secrets
import threading
import time

__all__ = ["now_ms", "time_ordered_id"]

_lock = threading.Lock()
_last = [0, 0]  # [milliseconds, sequence] of the last id made in this process


def now_ms() -> int:
    return int(time.time() * 1000)


def time_ordered_id(ms: int | None = None) -> str:
    """``<13-digit epoch ms>-<4 hex sequence><8 random hex>`` (26 characters, chat-safe).

    Across processes, ids of different milliseconds sort by time. Within one process they
    are strictly increasing, even within one millisecond or if the clock steps back: the
    sequence counts up and the millisecond never goes below the last one used.
    """
    with _lock:
        stamp = max(ms if ms is not None else now_ms(), _last[0])
        seq = _last[1] + 1 if stamp == _last[0] else 0
        if seq > 0xFFFF:  # 65,536 ids in one millisecond: borrow the next one
            stamp, seq = stamp + 1, 0
        _last[0], _last[1] = stamp, seq
    return f"{stamp:013d}-{seq:04x}{secrets.token_hex(4)}"
