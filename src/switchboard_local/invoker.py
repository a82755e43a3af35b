"""Invoke the template's functions in this process, as Lambda would: several at once.

Lambda runs each invocation in an execution environment (a "container") that serves one
invocation at a time; when invocations overlap it starts another container of the function,
up to the function's concurrency. This invoker does the same:

* Each function has a pool of containers. An invocation takes an idle one (the most recently
  used, as Lambda reuses its warmest) or starts a new one - loading the function's ``app.py``
  anew under its own module name, with its own made-once state (settings, service graph,
  clients, caches: :mod:`switchboard.container`) - so two containers share no module state
  of their own, as two Lambda containers share none.
* **Concurrency.** At most ``concurrency`` containers per function (``switchboard dev
  --concurrency``, default :data:`DEFAULT_CONCURRENCY`), fewer where the template sets
  ``ReservedConcurrentExecutions`` (0: every invocation refused, as AWS throttles them all).
  An invocation past that waits for a container to come free:
  Lambda would throttle it instead (a 429 ``TooManyRequestsException``, which API Gateway
  turns into an error for the caller), but a laptop is no account with 1,000 concurrent
  executions, and waiting keeps a load run measuring the stack rather than the throttle.
* Work a handler does after its reply (``message.send``'s fan-out) runs in its own container,
  so it delays no other invocation's reply.
* Events and results cross a JSON round trip (what Lambda's runtime API does), so a handler
  that returns something Lambda could not serialise fails here too.
* :meth:`Invoker.close` stops taking invocations (those waiting for a container are refused
  with :class:`InvocationRefused`, before their handler runs) and waits, bounded, for the
  running ones to finish: nothing is cut off half-written.

moto's state is shared by every container, as DynamoDB is: each moto request is atomic
(:mod:`switchboard_local.moto_atomic`), so conditional writes keep exactly one winner.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from switchboard_local.lambda_runtime import LambdaContext
from switchboard_local.template import Template

__all__ = ["DEFAULT_CONCURRENCY", "Container", "InvocationError", "InvocationRefused", "Invoker"]

#: containers per function unless the template or ``--concurrency`` says otherwise
DEFAULT_CONCURRENCY = 10


class InvocationError(Exception):
    """The handler raised: Lambda reports an unhandled error."""

    def __init__(self, function_id: str, error: BaseException) -> None:
        super().__init__(f"{function_id}: {type(error).__name__}: {error}")
        self.function_id = function_id
        self.error = error


class InvocationRefused(Exception):
    """The invoker is closing: the invocation was not started (nothing of it ran)."""


_numbers = itertools.count(1)


@dataclass
class Container:
    """One execution environment of one function: its own module and made-once state."""

    function_id: str
    number: int
    handler: Callable[[dict[str, Any], Any], Any]
    state: dict[Any, Any]
    started: float = field(default_factory=time.monotonic)
    invocations: int = 0


def _start_container(template: Template, function_id: str) -> Container:
    """Load ``functions/<dir>/app.py`` as a module of this container's own (Lambda's init phase),
    inside the container's scope, and wrap its handler so that its AWS calls are held to its
    template policy (:mod:`switchboard_local.iam`)."""
    from switchboard import container as layer_container

    from switchboard_local import iam

    fn = template.functions[function_id]
    number = next(_numbers)
    state: dict[Any, Any] = {}
    spec = importlib.util.spec_from_file_location(f"sbfn_{function_id}_{number}", fn.module_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {fn.module_path}")
    module = importlib.util.module_from_spec(spec)
    with layer_container.scope(state):
        spec.loader.exec_module(module)
    inner = getattr(module, fn.attribute)
    iam.enforce()

    def handler(event: Any, context: Any) -> Any:
        # the function may call only what its template policy allows (moto does not check IAM)
        with layer_container.scope(state), iam.running(template, function_id):
            return inner(event, context)

    return Container(function_id, number, handler, state)


class _Pool:
    """One function's containers: idle ones, and how many exist."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.idle: list[Container] = []
        self.size = 0
        self.busy = 0
        self.peak = 0


class Invoker:
    def __init__(self, template: Template, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.template = template
        self.concurrency = concurrency
        self._pools: dict[str, _Pool] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._running = 0
        self._slots: dict[str, asyncio.Semaphore] = {}
        # the gateways' invocations: a thread per container that may run at once (they wait on
        # the network - the @connections posts, moto's lock - more than they compute)
        self._executor: ThreadPoolExecutor | None = None

    # -- which function, how many containers ----------------------------------------------
    def resolve(self, name: str) -> str:
        """A function's logical id, given it or its name without the ``Function`` suffix."""
        functions = self.template.functions
        for candidate in (name, f"{name}Function"):
            if candidate in functions:
                return candidate
        raise KeyError(f"no function {name!r} in {self.template.path.name} (have: {', '.join(sorted(functions))})")

    def limit(self, function_id: str) -> int:
        """The most containers the function may run at once: ``concurrency``, or the template's
        ``ReservedConcurrentExecutions`` where that is lower."""
        reserved = self.template.resources[function_id].get("Properties", {}).get("ReservedConcurrentExecutions")
        # 0 is AWS's "never run this function" (every invocation throttled): refused here
        return min(self.concurrency, reserved) if isinstance(reserved, int) and reserved >= 0 else self.concurrency

    def _pool(self, function_id: str) -> _Pool:
        pool = self._pools.get(function_id)
        if pool is None:
            pool = self._pools[function_id] = _Pool(self.limit(function_id))
        return pool

    def stats(self) -> dict[str, dict[str, int]]:
        """Per function: containers started, the most busy at once, busy now."""
        with self._cond:
            return {fid: {"containers": p.size, "peak": p.peak, "busy": p.busy} for fid, p in self._pools.items()}

    # -- taking and giving back containers --------------------------------------------------
    def _take(self, function_id: str) -> Container:
        container: Container | None = None
        with self._cond:
            pool = self._pool(function_id)
            while True:
                if self._closing or pool.limit == 0:
                    raise InvocationRefused(function_id)
                if pool.idle:
                    container = pool.idle.pop()  # the warmest
                    break
                if pool.size < pool.limit:
                    pool.size += 1
                    break
                self._cond.wait()
            pool.busy += 1
            pool.peak = max(pool.peak, pool.busy)
            self._running += 1
        if container is None:
            try:
                container = _start_container(self.template, function_id)
            except BaseException:
                self._give_back(function_id, None)
                raise
        return container

    def _give_back(self, function_id: str, container: Container | None) -> None:
        with self._cond:
            pool = self._pools[function_id]
            pool.busy -= 1
            self._running -= 1
            if container is None:
                pool.size -= 1  # it never started
            else:
                pool.idle.append(container)
            self._cond.notify_all()

    # -- invoking ----------------------------------------------------------------------------
    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        """Run one invocation on a container of the function (waiting for one if all are busy);
        thread-safe. Raises :class:`InvocationError` if the handler raised, and
        :class:`InvocationRefused` if the invoker is closing."""
        function_id = self.resolve(function_id)
        payload = json.loads(json.dumps(event))
        fn = self.template.functions[function_id]
        context = LambdaContext(function_name=function_id, timeout_seconds=int(fn.timeout))
        container = self._take(function_id)
        try:
            container.invocations += 1
            result = container.handler(payload, context)
        except Exception as exc:  # a crashing handler is Lambda's "Unhandled" error, not ours
            raise InvocationError(function_id, exc) from exc
        finally:
            self._give_back(function_id, container)
        return json.loads(json.dumps(result))

    async def ainvoke(self, function_id: str, event: dict[str, Any]) -> Any:
        """:meth:`invoke` from the event loop: an invocation waits for its function's container on
        the loop (no thread is held while it waits), then runs on a thread of its own."""
        function_id = self.resolve(function_id)
        if self._closing or self.limit(function_id) == 0:
            raise InvocationRefused(function_id)
        slots = self._slots.get(function_id)
        if slots is None:
            slots = self._slots[function_id] = asyncio.Semaphore(self.limit(function_id))
        async with slots:
            if self._closing:
                raise InvocationRefused(function_id)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=max(32, 4 * self.concurrency),
                                                    thread_name_prefix="invoke")
            try:
                return await asyncio.get_running_loop().run_in_executor(self._executor, self.invoke, function_id,
                                                                        event)
            except RuntimeError:  # submitted as close() shut the executor down: never started
                if self._closing:
                    raise InvocationRefused(function_id) from None
                raise

    # -- stopping ----------------------------------------------------------------------------
    def close(self, timeout: float) -> int:
        """Take no more invocations and wait up to ``timeout`` seconds for the running ones to
        finish. Returns how many were still running at the deadline (0: a clean stop)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closing = True
            self._cond.notify_all()  # the waiting ones are refused
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            running = self._running
        if self._executor is not None:
            # what is queued and not begun finds the invoker closing and is refused (InvocationRefused)
            self._executor.shutdown(wait=False)
        return running

    @property
    def closing(self) -> bool:
        return self._closing
