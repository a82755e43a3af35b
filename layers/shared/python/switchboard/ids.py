"""Time-ordered ids: sorting them as strings sorts them by creation time."""

from __future__ import annotations

import secrets
import time

__all__ = ["now_ms", "time_ordered_id"]


def now_ms() -> int:
    return int(time.time() * 1000)


def time_ordered_id(ms: int | None = None) -> str:
    """13-digit epoch milliseconds, a dash, 10 random hex digits (unique within one ms)."""
    return f"{(ms if ms is not None else now_ms()):013d}-{secrets.token_hex(5)}"
