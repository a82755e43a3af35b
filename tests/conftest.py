"""Shared fixtures: moto-backed AWS provisioned from template.yaml, a seeded tenant,
and helpers that call the real handlers with API Gateway events."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

# Powertools' Logger binds its handler to sys.stdout when first imported: import it now, while
# stdout is pytest's session-wide capture, not inside one test's capsys (closed after the test).
import switchboard.observability  # noqa: E402, F401

from switchboard_local.lambda_runtime import LambdaContext, forget_handlers, http_event, load_handler  # noqa: E402
from switchboard_local.template import Template  # noqa: E402

TENANT = "acme"
IDENTITY_SECRET = "acme-identity-secret-0123456789"
HOOK_SECRET = "acme-hook-secret-0123456789abcd"
ORIGIN = "https://shop.acme.test"
ADMIN = {"email": "ana@acme.test", "password": "ana-correct-horse-battery", "role": "admin", "name": "Ana"}
OPERATOR = {"email": "otto@acme.test", "password": "otto-correct-horse-battery", "role": "operator", "name": "Otto"}

SEED: dict[str, Any] = {"tenants": [
    {"id": TENANT, "name": "Acme", "identity_secret": IDENTITY_SECRET, "hook_secret": HOOK_SECRET,
     "allowed_origins": [ORIGIN], "visitor_attachments": True, "operators": [ADMIN, OPERATOR]},
    {"id": "globex", "name": "Globex", "identity_secret": "globex-identity-secret-0123", "hook_secret":
     "globex-hook-secret-0123456789", "allowed_origins": ["https://globex.test"],
     "operators": [{"email": "gus@globex.test", "password": "gus-correct-horse-battery", "role": "admin",
                    "name": "Gus"}]},
]}


@pytest.fixture(scope="session")
def template() -> Template:
    return Template(ROOT / "template.yaml")


def _clear_caches() -> None:
    from switchboard.runtime import reset_caches

    reset_caches()
    forget_handlers()


#: moto would start each test with a new boto3 default session, whose clients parse botocore's
#: service models (JSON, megabytes) again: ~0.3 s of every test's set-up. One session for the
#: worker keeps the parsed models; each test's moto is still fresh (its backends are reset).
#: The session is made here, inside moto (whose hook only sessions made after moto's import
#: carry), and set as boto3's default for each test: a default session something else made
#: first (DevStack.client() in tests/e2e) is never the one tests talk through.
_ONE_BOTO3_SESSION: Any = {"core": {"reset_boto3_session": False}}
_worker_session: list[Any] = []


def _moto_session() -> Any:
    if not _worker_session:
        import boto3
        from switchboard import aws as layer_aws

        boto3.DEFAULT_SESSION = None
        _worker_session.append(layer_aws._session())  # the layer's own kind (its faster loader)
    return _worker_session[0]


@pytest.fixture
def aws(template: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh moto AWS with the template's table and a signing-key secret, env set like Lambda's."""
    from moto import mock_aws

    from switchboard_local.provision import provision, shared_environment

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    for key, value in shared_environment(template).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    from switchboard_local.moto_speed import dynamodb_costs

    # moto as switchboard dev runs it: a transaction or Query costs what DynamoDB's does, not
    # O(table) (tests with hundreds of channels - the policy matrix - took minutes without it)
    with mock_aws(config=_ONE_BOTO3_SESSION), dynamodb_costs():
        import boto3

        monkeypatch.setattr(boto3, "DEFAULT_SESSION", _moto_session())
        _clear_caches()
        provision(template)
        yield
    _clear_caches()


@pytest.fixture
def seeded(aws: None) -> dict[str, Any]:
    from switchboard.runtime import services

    from switchboard_local.seed import apply_seed

    operators = apply_seed(services().store, SEED)
    return {o["email"]: o for o in operators}


@pytest.fixture
def svc(aws: None) -> Any:
    from switchboard.runtime import services

    return services()


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def call(template: Template) -> Invoke:
    """call("POST /auth/external", body={...}, headers={...}) -> {"status", "headers", "json"} via the real handler."""
    routes = {r.route_key: r.function_id for r in template.http_routes()}

    def _call(route_key: str, *, body: Any = None, headers: dict[str, str] | None = None,
              raw_body: bytes | None = None, token: str | None = None,
              source_ip: str = "127.0.0.1", path_params: dict[str, str] | None = None,
              query: dict[str, str] | None = None) -> dict[str, Any]:
        method, route_path = route_key.split(" ", 1)
        path = route_path
        for name, value in (path_params or {}).items():
            path = path.replace("{" + name + "}", value)
        hdrs = dict(headers or {})
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        event = http_event(method, path, route_path=route_path, body=body, headers=hdrs, raw_body=raw_body,
                           source_ip=source_ip, path_params=path_params, query=query)
        function_id = routes[route_key]
        result = load_handler(template, function_id)(event, LambdaContext(function_name=function_id))
        body = result.get("body")
        text = str(result["headers"].get("Content-Type", "")).startswith("text/")  # the reports' CSV
        return {"status": result["statusCode"], "headers": result["headers"],
                "json": json.loads(body) if body and not text else None, "text": body,
                "cookies": result.get("cookies") or []}

    return _call


@pytest.fixture
def tokens_for(call: Invoke, seeded: dict[str, Any]) -> Callable[[dict[str, str]], dict[str, Any]]:
    """Sign an operator/admin in through the real handler; returns the token response."""

    def _login(who: dict[str, str], tenant: str = TENANT) -> dict[str, Any]:
        r = call("POST /auth/internal", body={"tenant": tenant, "email": who["email"], "password": who["password"]})
        assert r["status"] == 200, r
        return r["json"]

    return _login


@pytest.fixture
def admin(tokens_for: Callable[..., dict[str, Any]]) -> str:
    """The seeded admin's access token (tenant administration tests)."""
    token: str = tokens_for(ADMIN)["access_token"]
    return token


@pytest.fixture
def chat(template: Template, seeded: dict[str, Any]) -> Any:
    """The WebSocket API's functions, called as API Gateway would (tests/chat_support.py)."""
    from tests.chat_support import Chat

    return Chat(template)


class JsonLogs:
    """Every line the Powertools logger rendered during a test: message, ``extra=`` fields,
    exception and all - what CloudWatch would hold."""

    def __init__(self) -> None:
        import io

        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_logs() -> Iterator[JsonLogs]:
    """The layer's logger at DEBUG (the most talkative level a deployer could choose), its
    full JSON lines captured. ``caplog.text`` holds only each record's message, and the
    logger's own handler writes to the stdout bound at import, which capsys never sees:
    a secret passed in ``extra=`` would slip past both."""
    import logging

    from switchboard.observability import logger

    logs = JsonLogs()
    handler = logging.StreamHandler(logs.stream)
    handler.setFormatter(logger.registered_formatter)
    previous = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("DEBUG")
    yield logs
    logging.getLogger(logger.name).removeHandler(handler)
    logger.setLevel(previous)


# -- DynamoDB's atomicity, which moto's in-process backend lacks ------------------------------------------
@contextmanager
def dynamodb_serialises_writes(*operations: str) -> Iterator[None]:
    """DynamoDB applies a conditional write to one item, and a transaction, atomically, and a
    GetItem never sees a transaction half done (they are serializable); moto's in-process backend
    does not lock, so give it the lock DynamoDB has. Everything above the storage call - our
    handler code - still runs concurrently."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    names = operations or ("update_item", "transact_write_items", "get_item")
    originals = {name: getattr(DynamoDBBackend, name) for name in names}

    def locked(original: Any) -> Any:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(self, *args, **kwargs)
        return call

    for name, original in originals.items():
        setattr(DynamoDBBackend, name, locked(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)


# -- the local stack, as a newcomer runs it ----------------------------------------------------
#: the tenant cache of the test stacks' containers (DevStack); see settled()
TENANT_CACHE_SECONDS = 1


def settled() -> None:
    """Wait until a settings change has reached every container of a test stack: each function
    keeps its own tenant cache, for TENANT_CACHE_SECONDS (docs/architecture.md, "Tenant settings")."""
    import time

    time.sleep(TENANT_CACHE_SECONDS + 0.2)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def switchboard_command() -> list[str]:
    """The installed ``switchboard`` console script next to this interpreter."""
    import sys

    script = Path(sys.executable).parent / "switchboard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "switchboard_local.cli"]


class DevStack:
    """A running ``switchboard dev`` subprocess on free ports."""

    def __init__(self, args: list[str], *, cwd: Path = ROOT, ready_timeout: float = 60.0,
                 seed_for: Callable[[list[str]], dict[str, Any]] | None = None, seed_dir: Path | None = None,
                 give_key: bool = True, ports: tuple[int, int, int, int] | None = None) -> None:
        """``seed_for(web_origins)``: a seed that may name the stack's own web origins (known
        only once the ports are chosen), written to ``seed_dir`` and passed as ``--seed``.
        ``give_key``: pass the stack the key its functions sign with (else it draws its own).
        ``ports``: (http, ws, web, s3) to listen on (default: free ones)."""
        import subprocess
        import threading
        import time

        self.http_port, self.ws_port, self.web_port, self.s3_port = \
            ports or (free_port(), free_port(), free_port(), free_port())
        self.http = f"http://127.0.0.1:{self.http_port}"
        self.ws = f"ws://127.0.0.1:{self.ws_port}"
        self.web = f"http://127.0.0.1:{self.web_port}"
        if seed_for is not None and seed_dir is not None:
            seed_file = seed_dir / "seed.json"
            seed_file.write_text(json.dumps(seed_for([self.web, f"http://localhost:{self.web_port}"])))
            args = [*args, "--seed", str(seed_file)]
        self.lines: list[str] = []
        # the key the stack's functions sign with, and its local endpoints accept: set here so
        # the tests can call them as a developer's own tools would (--env)
        self.secret_key = secrets.token_urlsafe(24)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "POWERTOOLS_LOG_LEVEL": "WARNING"}
        self.proc = subprocess.Popen(
            [*switchboard_command(), "dev", "--http-port", str(self.http_port), "--ws-port", str(self.ws_port),
             "--web-port", str(self.web_port), "--s3-port", str(self.s3_port),
             *(["--env", f"AWS_SECRET_ACCESS_KEY={self.secret_key}"] if give_key else []),
             # each function's container caches tenants (as in Lambda): 1 s here, so a test that
             # changes a setting waits TENANT_CACHE_SECONDS, not the deployed 30 (settled())
             "--env", f"TENANT_CACHE_SECONDS={TENANT_CACHE_SECONDS}", *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                if "switchboard: ready" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + ready_timeout
        while not ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("switchboard dev did not start:\n" + "\n".join(self.lines[-40:]))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def client(self, service: str, *, secret_key: str | None = None) -> Any:
        """A boto3 client of the stack's S3 port or @connections API, signing with its key
        (or with ``secret_key``)."""
        import boto3
        from botocore.config import Config

        port = self.s3_port if service == "s3" else self.ws_port
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key=secret_key or self.secret_key,
                            config=Config(signature_version="s3v4") if service == "s3" else None)

    def stop(self, timeout: float = 15.0) -> int:
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


@pytest.fixture(scope="session")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """`switchboard dev` with the test seed (tenants acme and globex), shared by the e2e tests."""
    seed_file = tmp_path_factory.mktemp("seed") / "seed.json"
    seed_file.write_text(json.dumps(SEED))
    stack = DevStack(["--seed", str(seed_file)])
    yield stack
    assert stack.stop() == 0, stack.output[-3000:]


def dynamodb_as_documented(client):
    """A Query that stops at its Limit returns a LastEvaluatedKey even when nothing follows it
    (DynamoDB developer guide, "Paginating table query results"); moto returns one only when
    something does. Make moto's answers say what DynamoDB's would."""
    limits: list[int | None] = []

    def remember(params, **_):
        limits.append(params.get("Limit"))

    def stop_at_limit(parsed, **_):
        items = parsed.get("Items") or []
        if limits and limits[-1] is not None and len(items) == limits[-1] and "LastEvaluatedKey" not in parsed:
            parsed["LastEvaluatedKey"] = dict(items[-1])

    client.meta.events.register("before-parameter-build.dynamodb.Query", remember)
    client.meta.events.register("after-call.dynamodb.Query", stop_at_limit)


def dynamodb_key_limits(client):
    """DynamoDB refuses a GetItem key, or a Query's ExclusiveStartKey, with an empty value or
    one over its size limits (partition key 2048 bytes, sort key 1024) with a
    ValidationException; moto looks the item up. Make moto's answers say what DynamoDB's would."""
    from types import SimpleNamespace

    def check(params, **_):  # params: the request as serialised (DynamoDB's JSON body)
        import json

        body = json.loads(params.get("body") or b"{}")
        for name, value in {**(body.get("Key") or {}), **(body.get("ExclusiveStartKey") or {})}.items():
            size = len(str(value.get("S", "")).encode())
            if size == 0 or size > (2048 if name.endswith("pk") else 1024):
                return SimpleNamespace(status_code=400), {
                    "Error": {"Code": "ValidationException",
                              "Message": "One or more parameter values were invalid: Size of key exceeds the limit"},
                    "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None

    client.meta.events.register("before-call.dynamodb.GetItem", check)
    client.meta.events.register("before-call.dynamodb.Query", check)


@pytest.fixture(autouse=True)
def _no_metrics_left_over() -> Iterator[None]:
    """Metrics a test recorded by calling the layer directly (no handler to write them out) would
    be written by the next handler a later test invokes, among that test's output: start each test
    with none (switchboard.observability; in Lambda every invocation writes its own)."""
    from switchboard.observability import metrics

    metrics.clear_metrics()
    yield
