"""Auth section of the benchmarks: cold start per function, token mint/verify, sign-in cost.

Every figure is a ratio to a floor measured the same way, in the same run, on the same
machine, with the two measurements interleaved so that drift (thermal, noisy neighbours)
hits both alike:

* **Cold start** - each function in ``template.yaml``, in a fresh interpreter: import its
  handler module and do the first call's setup (the service graph, the AWS clients its
  policies say it uses), against ``import boto3; boto3.client("dynamodb")``. Target 1.3.
* **Tokens** - ``TokenService.mint_access`` / ``verify_access`` against raw
  ``cryptography`` ES256 sign / verify of the same signing input. Target (verify) 1.5.
* **Sign-in** - ``POST /auth/internal`` through the real handler on moto against one
  argon2id verification at the project's parameters. Target 1.3.

``python bench/run.py --only auth [--quick]``; method notes in bench/README.md.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LAYER = ROOT / "layers" / "shared" / "python"

COLD_START_TARGET = 1.3
VERIFY_TARGET = 1.5
LOGIN_TARGET = 1.3

Table = dict[str, Any]

# Lambda-like values for what the functions read from the environment (no AWS account needed:
# nothing here talks to AWS at import or setup time).
AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "switchboard",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


def run(quick: bool) -> list[Table]:
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    return [cold_start_table(quick), token_table(quick), login_table(quick)]


# ---------------------------------------------------------------------------- helpers
def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _load() -> str:
    """The machine's load, for the reader to judge the noise (other work shares the CPUs)."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return ""
    return f"Load average at the end: {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs."


def _verdict(ratio: float, target: float) -> str:
    if ratio != ratio:  # NaN: the measurement failed
        return "error"
    return "pass" if ratio <= target else "FAIL"


def _template() -> Any:
    from switchboard_local.template import Template

    return Template(ROOT / "template.yaml")


# ---------------------------------------------------------------------------- (a) cold start
# Runs in a fresh interpreter. argv: "floor" | "function" <code dir> <layer dir> <module> <attribute> <clients>.
# Prints one JSON line of milliseconds by phase (the floor reports its whole import + client as "import").
_CHILD = r"""
import importlib, json, sys, time
mode = sys.argv[1]
if mode == "floor":
    t0 = time.perf_counter()
    import boto3
    boto3.client("dynamodb")
    t1 = time.perf_counter()
    print(json.dumps({"import": (t1 - t0) * 1e3}))
    raise SystemExit(0)

code_dir, layer, module, attribute, clients = sys.argv[2:7]
clients = set(filter(None, clients.split(",")))
sys.path[:0] = [code_dir, layer]  # as Lambda: the function's code first, then the layer (/opt/python)
t0 = time.perf_counter()
handler = getattr(importlib.import_module(module), attribute)
t1 = time.perf_counter()
svc = None
if "switchboard.runtime" in sys.modules:  # the handler uses the per-container service graph
    from switchboard.runtime import services
    svc = services()
t2 = time.perf_counter()
if "dynamodb" in clients:
    if svc is not None:
        svc.store.client
    else:
        import boto3
        boto3.client("dynamodb")
t3 = time.perf_counter()
if "secretsmanager" in clients:
    rotation = sys.modules.get("switchboard.tokens.key_rotation")
    if rotation is not None and hasattr(rotation, "_client"):
        rotation._client()
    else:  # what KeyStore's first fetch builds (its Secrets Manager provider)
        from switchboard.tokens import keys
        keys._provider()
t4 = time.perf_counter()
if "kms" in clients:  # what the first seal or open of a TOTP secret makes
    svc.sealer.client()
t5 = time.perf_counter()
print(json.dumps({"import": (t1 - t0) * 1e3, "services": (t2 - t1) * 1e3, "dynamodb": (t3 - t2) * 1e3,
                  "secretsmanager": (t4 - t3) * 1e3, "kms": (t5 - t4) * 1e3}))
"""


def _policy_clients(resource: dict[str, Any]) -> list[str]:
    """AWS clients every invocation of the function needs, read from its IAM policies."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            if node.startswith("dynamodb:"):
                found.add("dynamodb")
            elif node == "secretsmanager:GetSecretValue":
                found.add("secretsmanager")
            elif node in ("kms:Decrypt", "kms:Encrypt"):
                found.add("kms")

    walk(resource.get("Properties", {}).get("Policies", []))
    return sorted(found)


def _child_env(extra: dict[str, str], cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_", "POWERTOOLS_"))}
    env.update(extra)
    env.update(AWS_ENV)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # measured runs never write; the warm-up fills the cache
    env["PYTHONHASHSEED"] = "0"
    return env


def _spawn(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Run the cold-start child once; its milliseconds by phase, plus ``setup`` and ``total``."""
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], env=env, cwd=cwd, capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError((out.stderr or out.stdout).strip().splitlines()[-1] if (out.stderr or out.stdout)
                           else f"exit {out.returncode}")
    data = {k: 0.0 for k in ("import", "services", "dynamodb", "secretsmanager", "kms")}
    data.update(json.loads(out.stdout.strip().splitlines()[-1]))
    data["setup"] = data["services"] + data["dynamodb"] + data["secretsmanager"] + data["kms"]
    data["total"] = data["import"] + data["setup"]
    return data


TINY = os.environ.get("BENCH_TINY") == "1"  # bench/run.py --tiny: the suite's check that this section runs


def cold_start_table(quick: bool) -> Table:
    from switchboard_local.provision import function_environment

    template = _template()
    rounds = 1 if TINY else 3 if quick else 7
    source_rounds = 0 if quick else 3  # the no-.pyc column: informational, fewer rounds keep the run short
    functions = []
    only = set(filter(None, os.environ.get("BENCH_FUNCTIONS", "").split(",")))  # a quick look at a few
    if TINY and not only:
        only = {"JwksFunction", "ChatDefaultFunction"}
    for fid, fn in sorted(template.functions.items()):
        if only and fid not in only:
            continue
        module = fn.handler.rsplit(".", 1)[0]
        functions.append({
            "id": fid, "code_dir": str(fn.code_uri.resolve()), "module": module, "attribute": fn.attribute,
            "clients": _policy_clients(template.resources[fid]),
            "env": function_environment(template, fid, strict=False),
        })

    work = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    cached, source = work / "pyc", work / "pyc-no-layer"
    try:
        def args(f: dict[str, Any]) -> list[str]:
            return ["function", f["code_dir"], str(LAYER), f["module"], f["attribute"], ",".join(f["clients"])]

        # Warm-up: fill a private bytecode cache (nothing is written into the source tree), so
        # boto3 for the floor and the layer for the functions both load from .pyc.
        warm_env = _child_env(functions[0]["env"] if functions else {}, cached)
        del warm_env["PYTHONDONTWRITEBYTECODE"]
        errors: dict[str, str] = {}
        _spawn(["floor"], warm_env, work)
        for f in functions:
            try:
                _spawn(args(f), {**warm_env, **f["env"]}, work)
            except Exception as exc:  # a broken function is a row that says so, not a crashed run
                errors[f["id"]] = str(exc)[:120]
        # The same cache without the layer's and functions' .pyc: they compile from source, as
        # from a read-only layer that ships no bytecode (Lambda cannot write __pycache__).
        if source_rounds:
            shutil.copytree(cached, source)
            for sub in ("layers", "functions"):
                shutil.rmtree(source / ROOT.relative_to(ROOT.anchor) / sub, ignore_errors=True)

        samples: dict[str, dict[str, list[Any]]] = {
            f["id"]: {"floor": [], "fn": [], "ratio": [], "src_ratio": []} for f in functions}
        rng = random.Random(7)
        for round_no in range(rounds):
            order = [f for f in functions if f["id"] not in errors]
            rng.shuffle(order)
            for f in order:
                try:
                    floor = _spawn(["floor"], _child_env(f["env"], cached), work)
                    cold = _spawn(args(f), _child_env(f["env"], cached), work)
                    src = _spawn(args(f), _child_env(f["env"], source), work) if round_no < source_rounds else None
                except Exception as exc:
                    errors[f["id"]] = str(exc)[:120]
                    continue
                s = samples[f["id"]]
                s["floor"].append(floor["total"])
                s["fn"].append(cold)
                s["ratio"].append(cold["total"] / floor["total"])
                if src is not None:
                    s["src_ratio"].append(src["total"] / floor["total"])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    floors: list[float] = []
    for f in functions:
        s = samples[f["id"]]
        floors += s["floor"]
        if f["id"] in errors or not s["fn"]:
            rows.append([f["id"], "+".join(f["clients"]) or "-", "-", "-", "-", "-", "error", f"<= {COLD_START_TARGET}",
                         "error: " + errors.get(f["id"], "no sample"), "-"])
            continue
        ratio = _median(s["ratio"])
        rows.append([
            f["id"], "+".join(f["clients"]) or "-",
            f"{_median([c['import'] for c in s['fn']]):.0f}",
            f"{_median([c['setup'] for c in s['fn']]):.0f} ("
            + " / ".join(f"{_median([c[k] for c in s['fn']]):.0f}"
                         for k in ("services", "dynamodb", "secretsmanager", "kms"))
            + ")",
            f"{_median([c['total'] for c in s['fn']]):.0f}", f"{_median(s['floor']):.0f}",
            f"{ratio:.2f}", f"<= {COLD_START_TARGET}", _verdict(ratio, COLD_START_TARGET),
            f"{_median(s['src_ratio']):.2f}" if s["src_ratio"] else "-",
        ])
    failed = sum(1 for r in rows if r[8] != "pass")
    return {
        "title": "Cold start per function (fresh interpreter; ratio to `import boto3; boto3.client(\"dynamodb\")`)",
        "columns": ["function", "clients", "import ms", "setup ms (services / DynamoDB / Secrets Manager / KMS)",
                    "total ms", "floor ms", "ratio", "target", "result", "ratio, layer without .pyc"],
        "rows": rows,
        "notes": (
            f"Median of {rounds} paired runs per function (floor run, then the function, order shuffled per "
            f"round); ratio = median of per-pair ratios. Floor median {_median(floors):.0f} ms. "
            "import = importing the handler module; setup = `services()` plus the clients the function's "
            "IAM policies name (DynamoDB: `Store.client`; Secrets Manager: the Powertools provider "
            "`KeyStore` fetches through, or key rotation's client; KMS: the client that seals and opens TOTP "
            "secrets, `Services.sealer`). Both sides load from .pyc; the last "
            f"column (full runs only, {source_rounds or 3} rounds) compiles the layer and the function from "
            f"source, as a Lambda layer shipped without bytecode would (SAM's python builder ships none; "
            f"ours is built with .pyc: layers/shared/python/Makefile). {failed} of {len(rows)} functions "
            f"miss the target. {_load()}"
        ),
    }


# ---------------------------------------------------------------------------- (b) tokens
def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _interleaved(pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]], batches: int,
                 batch_seconds: float) -> dict[str, dict[str, float]]:
    """Per-op seconds for (project, floor) pairs: batches alternate, medians and paired ratio."""
    def per_op(fn: Callable[[], Any], n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n

    out = {}
    for name, (project, floor) in pairs.items():
        single = max(per_op(project, 20), 1e-7)
        n = max(5, int(batch_seconds / single))
        per_op(floor, n // 4 + 1)
        proj_t, floor_t, ratios = [], [], []
        for _ in range(batches):
            f = per_op(floor, n)
            p = per_op(project, n)
            proj_t.append(p)
            floor_t.append(f)
            ratios.append(p / f)
        out[name] = {"project": _median(proj_t), "floor": _median(floor_t), "ratio": _median(ratios)}
    return out


def token_table(quick: bool) -> Table:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    from switchboard.tokens.access import TokenService
    from switchboard.tokens.keys import KeyRing, generate_key_entry, keyring_from_value

    ring = keyring_from_value({"keys": [generate_key_entry()]})

    class StaticKeys:
        def ring(self) -> KeyRing:
            return ring

        def refresh(self) -> KeyRing | None:
            return None

    tokens = TokenService(StaticKeys(), issuer="https://auth.bench.test", access_ttl=900, chat_ttl=3600)
    claims: dict[str, Any] = {"sub": "op-ana", "tid": "acme", "sid": "s1", "role": "admin", "lvl": 3,
                              "scopes": ("chat:read", "chat:write", "chat:attach", "admin:sessions"),
                              "anon": False, "client_id": "switchboard-backoffice"}
    token = tokens.mint_access(**claims)
    tokens.verify_access(token)  # it must verify, or the figures mean nothing

    signing_input, signature = token.rsplit(".", 1)
    message = signing_input.encode()
    raw = _b64decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    assert ring.signer is not None
    private_key = ring.signer.private_key
    public_key = ring.public[ring.signer.kid]
    public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    algorithm = ec.ECDSA(hashes.SHA256())

    results = _interleaved({
        "mint": (lambda: tokens.mint_access(**claims), lambda: private_key.sign(message, algorithm)),
        "verify": (lambda: tokens.verify_access(token), lambda: public_key.verify(der, message, algorithm)),
    }, batches=3 if TINY else 9 if quick else 31, batch_seconds=0.02 if quick else 0.05)

    mint, verify = results["mint"], results["verify"]
    rows = [
        ["mint access token", f"{1 / mint['project']:,.0f}", f"{mint['project'] * 1e6:.0f}",
         f"{mint['floor'] * 1e6:.0f} (raw ES256 sign)", f"{mint['ratio']:.2f}", "-", "info"],
        ["verify access token", f"{1 / verify['project']:,.0f}", f"{verify['project'] * 1e6:.0f}",
         f"{verify['floor'] * 1e6:.0f} (raw ES256 verify)", f"{verify['ratio']:.2f}", f"<= {VERIFY_TARGET}",
         _verdict(verify["ratio"], VERIFY_TARGET)],
    ]
    return {
        "title": "Access tokens: TokenService against raw `cryptography` ES256",
        "columns": ["operation", "per second", "µs/op", "floor µs/op", "ratio", "target", "result"],
        "rows": rows,
        "notes": (
            "One thread. Batches of the project call and of the floor alternate; figures are medians over "
            f"{9 if quick else 31} batches, ratio the median of per-batch ratios. The floor signs / verifies "
            "the same JWS signing input with pre-loaded key objects; for verify the r||s signature is "
            "converted to DER (`encode_dss_signature`) once, outside the timing. The project side does "
            "everything a caller gets: JSON, base64url, header checks (alg, typ, kid lookup), claim checks. "
            + _load()
        ),
    }


# ---------------------------------------------------------------------------- (c) sign-in
@contextmanager
def _moto_stack() -> Iterator[Any]:
    """moto AWS with the template's resources and a seeded tenant, env set like Lambda's."""
    from moto import mock_aws

    from switchboard_local.moto_speed import dynamodb_costs
    from switchboard_local.provision import provision, shared_environment

    template = _template()
    saved = dict(os.environ)
    try:
        for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
            del os.environ[name]
        os.environ.update(AWS_ENV)
        os.environ.update(shared_environment(template))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        from switchboard.observability import logger

        level = logger.log_level
        logger.setLevel("WARNING")
        try:
            with mock_aws(), dynamodb_costs():  # as switchboard dev runs moto: see moto_speed
                _clear_caches()
                provision(template)
                yield template
        finally:
            logger.setLevel(level)
    finally:
        _clear_caches()
        os.environ.clear()
        os.environ.update(saved)


def _clear_caches() -> None:
    from switchboard.runtime import reset_caches

    from switchboard_local.lambda_runtime import forget_handlers

    reset_caches()
    forget_handlers()


class _InFlight:
    """Seconds during which at least one of some calls was running: calls that overlap (the
    layer sends some at once, on threads) count once."""

    def __init__(self) -> None:
        import threading

        self.spent = 0.0
        self._lock = threading.Lock()
        self._running = 0
        self._since = 0.0

    @contextmanager
    def call(self) -> Iterator[None]:
        with self._lock:
            if self._running == 0:
                self._since = time.perf_counter()
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    self.spent += time.perf_counter() - self._since


@contextmanager
def _aws_call_timer() -> Iterator[tuple[_InFlight, _InFlight]]:
    """Time spent in AWS calls while the block runs, twice: the whole botocore call (the SDK's
    own work - parameter checks, serialisation, signing, parsing - and moto's), and moto's
    part alone (what DynamoDB's servers do in production, while the function waits on the
    network)."""
    from botocore.client import BaseClient
    from moto.core.botocore_stubber import BotocoreStubber

    sdk, service = _InFlight(), _InFlight()
    api_call = BaseClient._make_api_call  # type: ignore[attr-defined]
    answer = BotocoreStubber.__call__

    def timed_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        with sdk.call():
            return api_call(self, operation_name, api_params)

    def timed_answer(self: Any, *args: Any, **kwargs: Any) -> Any:
        with service.call():
            return answer(self, *args, **kwargs)

    # private methods, patched for the block only
    setattr(BaseClient, "_make_api_call", timed_call)  # noqa: B010
    setattr(BotocoreStubber, "__call__", timed_answer)  # noqa: B010
    try:
        yield sdk, service
    finally:
        setattr(BaseClient, "_make_api_call", api_call)  # noqa: B010
        setattr(BotocoreStubber, "__call__", answer)  # noqa: B010


def login_table(quick: bool) -> Table:
    n = 3 if TINY else 9 if quick else 31
    title = "Sign-in through the real handler on moto (ratio to one argon2id verify)"
    columns = ["request", "median ms", "of which AWS calls (moto) ms", "DynamoDB calls / in a row",
               "floor ms (argon2id verify)", "ratio", "ratio without moto's work", "ratio without AWS-call time",
               "target", "result"]
    try:
        rows = _login_rows(n)
    except Exception as exc:  # the section reports its failure instead of taking the run down
        return {"title": title, "columns": columns,
                "rows": [["POST /auth/internal (operator)", "-", "-", "-", "-", "error", "-", "-", f"<= {LOGIN_TARGET}",
                          f"error: {type(exc).__name__}: {str(exc)[:160]}"]], "notes": ""}
    return {
        "title": title,
        "columns": columns,
        "rows": rows,
        "notes": (
            f"Median of {n} rounds, each one argon2id verify (the project's `verify_password`) then the four "
            "sign-ins; ratio = median of per-round ratios. Warm container (services built, tenant in the "
            "30 s cache). Sign-ins rotate over 12 seeded operators and one client IP per call, so the "
            "rate limiter counts every attempt (its DynamoDB writes are in the figures) but never refuses. "
            "moto answers AWS calls in-process: its CPU time (request serialisation, expression parsing) is "
            "in the handler's time, network latency is not. 'Without moto's work' takes out the time moto "
            "spends answering (what DynamoDB's servers do in production, while the function waits on the "
            "network) and keeps the SDK's own work (parameter checks, serialisation, signing, parsing); "
            "'without AWS-call time' takes the whole botocore calls out, as a lower bound of the handler's "
            "own cost. The last two rows are sign-ins cut down, measured the same way, with no rate limit, "
            "no email pointer and no request parsing: one GetItem of the operator by key, the argon2id "
            "check, then the session and its tokens - written as the handler does (one transaction with "
            "the sign-in's audit event and a check that the operator's record is still as read), or "
            "alone by one PutItem. They show what the target leaves room for here "
            "(docs/architecture.md, 'What a sign-in costs'). " + _load()
        ),
    }


def _login_rows(n: int) -> list[list[str]]:
    from switchboard.auth.passwords import hash_password, verify_password
    from switchboard.runtime import services

    from switchboard_local.lambda_runtime import LambdaContext, http_event, load_handler
    from switchboard_local.seed import apply_seed

    tenant, origin = "acme", "https://shop.acme.test"
    operators = [{"email": f"op{i}@acme.test", "password": f"op{i}-correct-horse-battery", "role": "operator",
                  "name": f"Operator {i}"} for i in range(12)]
    seed = {"tenants": [{"id": tenant, "name": "Acme", "identity_secret": "acme-identity-secret-0123456789",
                         "hook_secret": "acme-hook-secret-0123456789abcd", "allowed_origins": [origin],
                         "operators": operators}]}
    password = "bench-correct-horse-battery"
    stored = hash_password(password)
    counter = iter(range(1, 1 << 20))

    def argon2() -> None:
        if not verify_password(stored, password):
            raise RuntimeError("argon2 floor did not verify")

    with _moto_stack() as template:
        apply_seed(services().store, seed)
        routes = {r.route_key: r.function_id for r in template.http_routes()}

        def call(route: str, body: dict[str, Any], headers: dict[str, str]) -> None:
            i = next(counter)
            event = http_event(*route.split(" ", 1), body=body, headers=headers,
                               source_ip=f"198.18.{i // 250}.{i % 250 + 1}")
            result = load_handler(template, routes[route])(event, LambdaContext(function_name=routes[route]))
            if result["statusCode"] != 200:
                raise RuntimeError(f"{route} answered {result['statusCode']}: {result['body'][:200]}")

        # each sign-in kind takes the operators in turn on its own, so that all 12 share its attempts
        # (the account quota is per minute; the client IPs come from `counter`)
        internal_turn, least_turn, barest_turn = (itertools.cycle(operators) for _ in range(3))

        def internal() -> None:
            who = next(internal_turn)
            call("POST /auth/internal", {"tenant": tenant, "email": who["email"], "password": who["password"]},
                 {"user-agent": "switchboard-bench"})

        def external() -> None:
            call("POST /auth/external", {"tenant": tenant}, {"origin": origin, "user-agent": "switchboard-bench"})

        from switchboard.auth import sessions

        found = {o["email"]: services().store.staff.get_by_email(tenant, o["email"]) for o in operators}

        def checked_operator(turn: Iterator[dict[str, str]]) -> Any:
            # the credentials read by key (one GetItem) and the password checked: what any
            # password sign-in does before its session. No rate limit, no email pointer, no
            # handler, no request parsing
            who = next(turn)
            known = found[who["email"]]
            assert known is not None
            operator = services().store.staff.get(tenant, known.id)
            if operator is None or not verify_password(operator.password_hash, who["password"]):
                raise RuntimeError("a cut-down sign-in's operator did not verify")
            return operator

        def least() -> None:
            # then the session as the handler writes it (its transaction and tokens)
            sessions.sign_in_operator(services(), checked_operator(least_turn), method="password",
                                      device="switchboard-bench")

        from switchboard.store.codecs import session_item
        from switchboard.store.dynamo import to_wire
        from switchboard.store.sessions import Sessions

        def put_session_only(self: Sessions, s: Any, refresh_hash: str, **_: Any) -> None:
            self._table.client.put_item(TableName=self._table.name,
                                        Item=to_wire({**session_item(s), "rt_hash": refresh_hash}),
                                        ConditionExpression="attribute_not_exists(pk)")

        def barest() -> None:
            # then the session written alone by one PutItem: no audit event beside it, no check
            # of the operator's record. Only to show what the target leaves room for
            operator = checked_operator(barest_turn)
            create = Sessions.create
            setattr(Sessions, "create", put_session_only)  # noqa: B010
            try:
                sessions.sign_in_operator(services(), operator, method="password", device="switchboard-bench")
            finally:
                setattr(Sessions, "create", create)  # noqa: B010

        for fn in (internal, external, least, barest, argon2, internal, external, least, barest):  # warm-up
            fn()
        floor_t: list[float] = []
        samples: dict[str, dict[str, list[float]]] = {
            name: {"t": [], "aws": [], "ratio": [], "sdk_ratio": [], "own_ratio": []}
            for name in ("internal", "external", "least", "barest")}
        with _aws_call_timer() as (sdk, service):
            for _ in range(n):
                t0 = time.perf_counter()
                argon2()
                floor = time.perf_counter() - t0
                floor_t.append(floor)
                for name, fn in (("internal", internal), ("external", external), ("least", least),
                                 ("barest", barest)):
                    aws0, moto0 = sdk.spent, service.spent
                    t0 = time.perf_counter()
                    fn()
                    elapsed = time.perf_counter() - t0
                    aws, moto = sdk.spent - aws0, service.spent - moto0
                    s = samples[name]
                    s["t"].append(elapsed)
                    s["aws"].append(aws)
                    s["ratio"].append(elapsed / floor)
                    s["sdk_ratio"].append((elapsed - moto) / floor)
                    s["own_ratio"].append((elapsed - aws) / floor)

        # one more of each with every DynamoDB call recorded: how many, and how many in a row. moto
        # answers on the caller's thread holding the GIL, so calls the layer sends at once would
        # still run one after another; each call waits 5 ms first (a sleep, which lets other
        # threads run, as a socket wait does), so the chain measured is the code's, not moto's
        from tests.chat_support import CallLog

        client = services().store.client

        def network(**_: Any) -> None:
            time.sleep(0.005)

        trips: dict[str, str] = {}
        for name, fn in (("internal", internal), ("external", external), ("least", least), ("barest", barest)):
            with CallLog().counting(client) as log:
                client.meta.events.register("before-call.dynamodb.*", network)
                try:
                    fn()
                finally:
                    client.meta.events.unregister("before-call.dynamodb.*", network)
            trips[name] = f"{len(log.calls)} / {log.sequential()}"

    floor_ms = f"{_median(floor_t) * 1e3:.1f}"

    def row(label: str, name: str, target: float | None) -> list[str]:
        s = samples[name]
        ratio = _median(s["ratio"])
        return [label, f"{_median(s['t']) * 1e3:.1f}", f"{_median(s['aws']) * 1e3:.1f}", trips[name], floor_ms,
                f"{ratio:.2f}", f"{_median(s['sdk_ratio']):.2f}", f"{_median(s['own_ratio']):.2f}",
                f"<= {target}" if target else "-",
                _verdict(ratio, target) if target else "info"]

    return [row("POST /auth/internal (operator)", "internal", LOGIN_TARGET),
            row("POST /auth/external (anonymous)", "external", None),
            row("least keeping our promises: read operator, argon2id, session + event + record check", "least",
                None),
            row("barest: read operator, argon2id, one PutItem of the session", "barest", None)]
