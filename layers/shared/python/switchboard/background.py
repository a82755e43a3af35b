"""AWS calls run beside the request's own work: the rate-limit counters, written while the
credentials or the connection are read, so a limit costs a write and no round trip.

One lazily made pool per container (a function that never counts starts no thread); boto3
clients are thread-safe and the threads only wait on the network.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any, TypeVar

__all__ = ["submit"]

T = TypeVar("T")


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="background")


def submit(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
    """Run ``fn(*args, **kwargs)`` on the pool, in a copy of the caller's context: context
    variables (the local stack's per-function IAM check among them) follow the work."""
    return _pool().submit(contextvars.copy_context().run, fn, *args, **kwargs)
