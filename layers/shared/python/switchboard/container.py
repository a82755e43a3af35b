"""What one Lambda execution environment (a "container") makes once and then reuses: settings,
the service graph, AWS clients, cached key sets.

In Lambda a container is a process, so a module-level cache *is* the container's state, and
containers share nothing. The local stack runs many containers in one process - several
invocations at once, as Lambda runs them - and gives each its own state: it enters
:func:`scope` with that container's dictionary around every invocation, and
:func:`per_container` factories keep their value there. Outside a scope (Lambda, the tests,
scripts) the value is kept once per process, which is ``functools.cache``.

Why not ``functools.lru_cache``: it keeps one value per process whatever the caller, so two
local containers would share one tenant cache, one key cache, one client - and a race that
production meets (two containers, each with its own stale cache) would never show locally.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

__all__ = ["PerContainer", "per_container", "scope"]

T = TypeVar("T")

_state: ContextVar[dict[Any, Any] | None] = ContextVar("switchboard_container", default=None)


class PerContainer(Generic[T]):
    """A factory of no arguments whose value is made once per container (see the module)."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._process: dict[Any, Any] = {}
        self._lock = threading.RLock()  # a factory may call another; two threads make one value
        self.__doc__ = factory.__doc__
        self.__name__ = getattr(factory, "__name__", "per_container")
        self.__wrapped__ = factory

    def __call__(self) -> T:
        state = _state.get()
        held = self._process if state is None else state
        try:
            return held[self]  # type: ignore[no-any-return]
        except KeyError:
            with self._lock:
                if self not in held:
                    held[self] = self._factory()
                return held[self]  # type: ignore[no-any-return]

    def cache_clear(self) -> None:
        """Forget the value made outside any container scope (the process's); a local
        container's values go with its state."""
        with self._lock:
            self._process.pop(self, None)


def per_container(factory: Callable[[], T]) -> PerContainer[T]:
    """Decorator: ``factory()`` is called once per container, its value reused after."""
    return PerContainer(factory)


@contextmanager
def scope(state: dict[Any, Any]) -> Iterator[None]:
    """Run the block as the container whose made-once values ``state`` holds (the local stack's
    invoker; context variables follow work handed to :mod:`switchboard.background`)."""
    token = _state.set(state)
    try:
        yield
    finally:
        _state.reset(token)
