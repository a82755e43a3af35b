"""Run a function from the template the way Lambda would: load its handler module by
path (each function's ``app.py`` under its own module name), give it a context object
with the attributes Lambda's has, and build API Gateway HTTP API (payload 2.0) events.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import switchboard

from switchboard_local.template import Template

# Many containers share this process: no gc.freeze after their inits (see switchboard.FREEZE_AFTER_INIT)
switchboard.FREEZE_AFTER_INIT = False

__all__ = ["LambdaContext", "http_event", "load_handler"]

_lock = threading.Lock()
_handlers: dict[tuple[str, str], Callable[[dict[str, Any], Any], Any]] = {}


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 10
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.aws_request_id = self.aws_request_id or secrets.token_hex(16)
        self.invoked_function_arn = self.invoked_function_arn or \
            f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(template: Template, function_id: str) -> Callable[[dict[str, Any], Any], Any]:
    """Import ``functions/<dir>/app.py`` as module ``sbfn_<function id>`` and return its handler,
    wrapped so that its AWS calls are held to its template policy (:mod:`switchboard_local.iam`)."""
    key = (str(template.path), function_id)
    with _lock:
        if key in _handlers:
            return _handlers[key]
        fn = template.functions[function_id]
        spec = importlib.util.spec_from_file_location(f"sbfn_{function_id}", fn.module_path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {fn.module_path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        inner = getattr(module, fn.attribute)
        from switchboard_local import iam

        iam.enforce()

        def handler(event: Any, context: Any, _inner: Any = inner, _fid: str = function_id) -> Any:
            # the function may call only what its template policy allows (moto does not check IAM)
            with iam.running(template, _fid):
                return _inner(event, context)

        _handlers[key] = handler
        return handler


def forget_handlers() -> None:
    with _lock:
        _handlers.clear()


def http_event(method: str, path: str, *, route_path: str | None = None, body: Any = None,
               headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
               path_params: dict[str, str] | None = None, source_ip: str = "127.0.0.1",
               raw_body: bytes | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, as API Gateway would send it."""
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    if raw_body is None and body is not None:
        raw_body = json.dumps(body).encode()
        hdrs.setdefault("content-type", "application/json")
    text, is_b64 = None, False
    if raw_body is not None:
        try:
            text = raw_body.decode()
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(raw_body).decode(), True
    now = time.time()
    route_key = f"{method} {route_path or path}"
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": route_key, "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "127",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": hdrs.get("user-agent", "")},
            "requestId": secrets.token_hex(8), "routeKey": route_key, "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if "cookie" in hdrs:  # payload 2.0: API Gateway hands cookies over as a list, not the header
        event["cookies"] = [c.strip() for c in hdrs.pop("cookie").split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = dict(query)
    if path_params:
        event["pathParameters"] = dict(path_params)
    if text is not None:
        event["body"] = text
    return event
