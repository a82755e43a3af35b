"""Invoke the template's functions in this process, as Lambda would.

Events and results cross a JSON round trip (what Lambda's runtime API does), so a handler
that returns something Lambda could not serialise fails here too. Invocations run one at a
time behind a lock: moto is an in-memory model, not a database, and does not make each
conditional write atomic under threads; DynamoDB does. Concurrency is exercised where it
matters, by the tests of the layer's race-safety.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from switchboard_local.lambda_runtime import LambdaContext, load_handler
from switchboard_local.template import Template

__all__ = ["InvocationError", "Invoker"]


class InvocationError(Exception):
    """The handler raised: Lambda reports an unhandled error."""

    def __init__(self, function_id: str, error: BaseException) -> None:
        super().__init__(f"{function_id}: {type(error).__name__}: {error}")
        self.function_id = function_id
        self.error = error


class Invoker:
    def __init__(self, template: Template) -> None:
        self.template = template
        self._lock = threading.Lock()

    def resolve(self, name: str) -> str:
        """A function's logical id, given it or its name without the ``Function`` suffix."""
        functions = self.template.functions
        for candidate in (name, f"{name}Function"):
            if candidate in functions:
                return candidate
        raise KeyError(f"no function {name!r} in {self.template.path.name} (have: {', '.join(sorted(functions))})")

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        function_id = self.resolve(function_id)
        handler = load_handler(self.template, function_id)
        payload = json.loads(json.dumps(event))
        fn = self.template.functions[function_id]
        context = LambdaContext(function_name=function_id, timeout_seconds=int(fn.timeout))
        with self._lock:
            try:
                result = handler(payload, context)
            except Exception as exc:  # a crashing handler is Lambda's "Unhandled" error, not ours
                raise InvocationError(function_id, exc) from exc
        return json.loads(json.dumps(result))
