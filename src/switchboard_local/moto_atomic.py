"""moto, made to answer one request at a time, as each AWS request is atomic.

The local stack runs its functions' invocations side by side (:mod:`switchboard_local.invoker`),
so moto's in-memory backends are called from several threads at once. moto is a model, not a
database: a conditional ``PutItem`` checks its condition and then writes, and a second thread
can write in between, so two conditional writes could both win - where DynamoDB keeps exactly
one winner. And this package's own corrections (:mod:`switchboard_local.moto_speed`) swap
moto's ``deepcopy`` for the span of one transaction.

:func:`one_request_at_a_time` holds one lock around every moto request (``call_action`` of
every service's response class: the in-process calls and moto's server alike), so each is
atomic and requests never interleave. It costs nothing the interpreter's lock did not already
cost: a moto request is pure Python, which runs one thread at a time anyway. What still runs in
parallel is everything around it - the handlers' own code, and their waits on the network
(the @connections posts). ``tests/local/test_concurrency.py`` holds the stack to it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["one_request_at_a_time"]

_lock = threading.RLock()  # re-entrant: a moto action may call another service's backend


@contextmanager
def one_request_at_a_time() -> Iterator[None]:
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler

    patched: list[tuple[type[Any], Any]] = []
    for cls in (BaseResponse, DynamoHandler):  # DynamoHandler overrides call_action
        original = cls.__dict__["call_action"]

        @functools.wraps(original)
        def call_action(self: Any, _original: Any = original) -> Any:
            with _lock:
                return _original(self)

        cls.call_action = call_action  # type: ignore[method-assign]
        patched.append((cls, original))
    try:
        yield
    finally:
        for cls, original in patched:
            setattr(cls, "call_action", original)  # noqa: B010
