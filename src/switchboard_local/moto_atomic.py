"""moto, made to answer one request at a time, as each AWS request is atomic.

The local stack runs its functions' invocations side by side (:mod:`switchboard_local.invoker`),
so moto's in-memory backends are called from several threads at once. moto is a model, not a
database: a conditional ``PutItem`` checks its condition and then writes, and a second thread
can write in between, so two conditional writes could both win - where DynamoDB keeps exactly
one winner. And this package's own corrections (:mod:`switchboard_local.moto_speed`) swap
moto's ``deepcopy`` for the span of one transaction.

:func:`one_request_at_a_time` holds one lock around every moto request (``call_action`` of
every service's response class, and S3's own entry points, ``bucket_response`` and
``key_response``: the in-process calls and the S3 port's server alike), so each is
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
    from moto.s3.responses import S3Response

    patched: list[tuple[type[Any], str, Any]] = []
    # DynamoHandler overrides call_action; S3 answers through its own entry points (never call_action)
    for cls, name in ((BaseResponse, "call_action"), (DynamoHandler, "call_action"),
                      (S3Response, "bucket_response"), (S3Response, "key_response")):
        original = cls.__dict__[name]

        @functools.wraps(original)
        def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _lock:
                return _original(self, *args, **kwargs)

        setattr(cls, name, atomic)
        patched.append((cls, name, original))
    try:
        yield
    finally:
        for cls, name, original in patched:
            setattr(cls, name, original)
