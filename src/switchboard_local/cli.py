"""``switchboard``: the local stack and its tools.

    switchboard dev [--http-port 3000] [--ws-port 3001] [--web-port 8000] [--seed FILE]
    switchboard invoke FUNCTION -e EVENT.json [--seed FILE]
    switchboard seed FILE (--stack NAME | --table NAME [--totp-key KEY]) [--region REGION]
    switchboard openapi [-o FILE]
    switchboard login --api URL [--tenant T]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import secrets
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="switchboard", description="Switchboard's local stack and tools.")
    sub = p.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run the HTTP API, WebSocket API and pages locally (moto, no Docker)")
    dev.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    dev.add_argument("--http-port", type=int, default=3000, help="HTTP API port (default 3000)")
    dev.add_argument("--ws-port", type=int, default=3001, help="WebSocket API and @connections port (default 3001)")
    dev.add_argument("--web-port", type=int, default=8000, help="widget, demo page and back office (default 8000)")
    dev.add_argument("--s3-port", type=int, default=3002,
                     help="S3 endpoint for the browser's attachment uploads (default 3002; moto's server)")
    dev.add_argument("--seed", type=Path, help="seed file (contract section 6); default: the demo tenant")
    dev.add_argument("--no-sso", action="store_true",
                     help="do not start the local OpenID provider for the demo tenant's \"Sign in with Demo SSO\" "
                          "(started by default when Node and `npm ci`'s oidc-provider are there)")
    dev.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                     help="override a function environment variable (repeatable), like sam local --env-vars")
    dev.add_argument("--schedule-every", type=float, default=None, metavar="SECONDS",
                     help="run every Schedule event of template.yaml this often instead of its rate (tests, demos; "
                          "also SWITCHBOARD_SCHEDULE_SECONDS)")
    dev.add_argument("--concurrency", type=int, default=None, metavar="N",
                     help="containers each function may run at once, like Lambda's reserved concurrency "
                          "(default 10; a function's ReservedConcurrentExecutions in template.yaml lowers it)")

    inv = sub.add_parser("invoke", help="run one function on a sample event, like `sam local invoke`")
    inv.add_argument("function", help="the function's logical id in template.yaml (the 'Function' suffix is optional)")
    inv.add_argument("-e", "--event", required=True, help="event JSON file, or - for standard input")
    inv.add_argument("--seed", type=Path, help="seed file; default: the demo tenant")
    inv.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                     help="override a function environment variable (repeatable)")

    seed = sub.add_parser("seed", help="load a seed file into a deployed stack (idempotent)")
    seed.add_argument("file", type=Path)
    where = seed.add_mutually_exclusive_group()
    where.add_argument("--stack", help="CloudFormation stack name (reads its TableName output); default: "
                                       "samconfig.toml's stack_name, as `sam deploy` uses it")
    where.add_argument("--table", help="the stack's DynamoDB table name")
    where.add_argument("--api", help="seed through the stack's HTTP API with the session `switchboard login` "
                                     "kept (no AWS credentials; the signed-in admin's tenant only; what it "
                                     "cannot set: docs/architecture.md, device sign-in)")
    seed.add_argument("--credentials", type=Path, help="with --api: the session file (default: login's)")
    seed.add_argument("--secret", help="accepted for symmetry; seeding writes only the table")
    seed.add_argument("--totp-key", help="the KMS key sealing TOTP secrets (default with --stack: its "
                                         "TotpKeyAlias output); needed only if the file has totp_secret")
    seed.add_argument("--region", help="AWS region (default: your AWS configuration's; samconfig.toml's deploy "
                                       "region when the stack is taken from there)")
    login = sub.add_parser("login", help="sign in to a deployed stack as an admin, approved in the back office "
                                         "(RFC 8628 device sign-in; no AWS credentials)")
    login.add_argument("--api", required=True, help="the stack's HTTP API URL (its ApiUrl output)")
    login.add_argument("--tenant", help="only an admin of this tenant may approve")
    login.add_argument("--credentials", type=Path, help="where to keep the session (default: "
                                                        "~/.config/switchboard/credentials.json, mode 0600)")
    from switchboard_local.admin_cli import add_admin_parser

    add_admin_parser(sub)
    oas = sub.add_parser("openapi", help="print the HTTP API's OpenAPI 3.1 document (as docs/openapi.json holds it)")
    oas.add_argument("-o", "--output", type=Path, help="write it to this file instead of standard output")

    pub = sub.add_parser("publish-web", help="upload web/ (widget, demo page, back office) to a deployed stack")
    pub.add_argument("--stack", help="CloudFormation stack name (reads WebBucketName, ApiUrl, ChatUrl); default: "
                                     "samconfig.toml's stack_name")
    pub.add_argument("--tenant", required=True, help="the tenant the demo page and back office sign in to")
    pub.add_argument("--region", help="AWS region (default: your AWS configuration's; samconfig.toml's deploy "
                                      "region when the stack is taken from there)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "dev":
            return _dev(args)
        if args.command == "invoke":
            return _invoke(args)
        if args.command == "publish-web":
            return _publish_web(args)
        if args.command == "openapi":
            return _openapi(args)
        if args.command == "login":
            return _login(args)
        if args.command == "admin":
            from switchboard_local.admin_cli import run_admin

            return run_admin(args)
        return _seed(args)
    except _UsageError as err:
        print(f"switchboard: {err}", file=sys.stderr)
        return EXIT_USAGE


class _UsageError(Exception):
    pass


def _load_seed(path: Path | None) -> Any:
    from pydantic import ValidationError

    from switchboard_local.seed import load_seed

    if path is None:
        return None
    try:
        return load_seed(path)
    except FileNotFoundError:
        raise _UsageError(f"seed file not found: {path}") from None
    except (ValueError, ValidationError) as exc:
        raise _UsageError(f"seed file {path} is not valid: {str(exc).splitlines()[0]}") from None


def _environment_overrides(seed: Any, pairs: list[str]) -> dict[str, str]:
    """What the local stack sets on top of the template's environment: the Cognito trigger's
    tenant (the seed's, else its first tenant, else the demo tenant), then ``--env`` pairs."""
    from switchboard_local.seed import DEMO_SEED

    out = {"COGNITO_TENANT": seed.default_cognito_tenant() if seed is not None else DEMO_SEED["tenants"][0]["id"]}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise _UsageError(f"--env wants NAME=VALUE, not {pair!r}")
        out[name] = value
    return out


def _template() -> Any:
    from switchboard_local.template import Template, find_template

    try:
        return Template(find_template())
    except FileNotFoundError as exc:
        raise _UsageError(str(exc)) from None


# -- dev ------------------------------------------------------------------------------------
def _listen(host: str, port: int, flag: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # a restart on the same ports works at once: the last run's connections in TIME_WAIT (after
    # a load run, for up to a minute) do not hold the port. Linux still refuses a port that a
    # live process listens on, so a second stack is still told the port is in use.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise _UsageError(f"port {port} on {host} is already in use (choose another with {flag})") from None
        raise _UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _demo_seed(web_origins: list[str]) -> dict[str, Any]:
    from switchboard_local.seed import DEMO_SEED

    seed = json.loads(json.dumps(DEMO_SEED))
    for tenant in seed["tenants"]:
        tenant["allowed_origins"] = sorted(set(tenant["allowed_origins"]) | set(web_origins))
    return seed


def _load_demo_seed(web_origins: list[str]) -> Any:
    from switchboard_local.seed import Seed

    return Seed.model_validate(_demo_seed(web_origins))


#: the demo tenant's SSO: a person at the local provider whose verified email is the demo
#: operator's (so the first "Sign in with Demo SSO" links to that record), and a domain the
#: provider admits (a first sign-in there makes a new operator)
DEMO_SSO_ACCOUNTS = [
    {"login": "operator", "password": "demo-sso-password", "sub": "demo-operator", "email": "operator@demo.test",
     "email_verified": True, "name": "Otto Operator"},
    {"login": "newcomer", "password": "demo-sso-password", "sub": "demo-newcomer", "email": "newcomer@sso.demo.test",
     "email_verified": True, "name": "Nia Newcomer"},
]


def _start_demo_sso(args: argparse.Namespace, seed: dict[str, Any], overrides: dict[str, str]) -> Any:
    """Start the local OpenID provider and configure it in the demo seed (None: not started)."""
    from switchboard_local.oidc_provider import LocalOidcProvider, unavailable

    why = "--no-sso" if args.no_sso else unavailable(_template().root)
    if why:
        print(f"switchboard: no local SSO provider ({why})", flush=True)
        return None
    api = f"http://{args.host}:{args.http_port}"
    client_secret = secrets.token_urlsafe(32)  # drawn per run, goes to (moto's) Secrets Manager
    provider = LocalOidcProvider(host=args.host, accounts=DEMO_SSO_ACCOUNTS, clients=[{
        "client_id": "switchboard-dev", "client_secret": client_secret,
        "redirect_uris": [f"{api}/auth/oidc/demo-sso/callback"]}])
    seed["tenants"][0]["identity_providers"] = [{
        "id": "demo-sso", "kind": "oidc", "name": "Demo SSO", "issuer": provider.issuer,
        "client_id": "switchboard-dev", "client_secret": client_secret, "allowed_domains": ["sso.demo.test"]}]
    overrides.setdefault("PUBLIC_API_URL", api)  # the redirect URI registered above
    return provider


def _origin_tenants(seed: Any, page_origins: set[str]) -> dict[str, set[str]]:
    """Each Origin the S3 port serves -> the tenants whose attachments it may reach: a tenant's
    allowed origins its own; the local pages (the widget's demo and the back office, which
    every tenant's staff use) every tenant's."""
    out: dict[str, set[str]] = {origin: {t.id for t in seed.tenants} for origin in page_origins}
    for tenant in seed.tenants:
        for origin in tenant.allowed_origins:
            out.setdefault(origin.rstrip("/"), set()).add(tenant.id)
    return out


def _dev(args: argparse.Namespace) -> int:
    socks = [_listen(args.host, args.http_port, "--http-port"), _listen(args.host, args.ws_port, "--ws-port"),
             _listen(args.host, args.web_port, "--web-port")]
    _listen(args.host, args.s3_port, "--s3-port").close()  # moto's server binds it below: fail early and clearly
    template = _template()
    seed = _load_seed(args.seed)
    web_origins = [f"http://localhost:{args.web_port}", f"http://127.0.0.1:{args.web_port}"]
    from switchboard_local.stack import local_aws

    # Browsers upload attachments straight to S3 with the presigned POST the chat hands out:
    # locally that is moto's own server, sharing the in-process state, so S3 calls go there too.
    # The local endpoints (@connections, S3) accept only what is signed with the functions' key:
    # a secret drawn for this run, so no other local process knows it (--env can set one, to
    # call them from your own tools)
    overrides = {"WS_MANAGEMENT_ENDPOINT": f"http://{args.host}:{args.ws_port}",
                 # password reset links point at this run's back office
                 "BACKOFFICE_URL": f"http://{args.host}:{args.web_port}/backoffice/",
                 "AWS_ENDPOINT_URL_S3": f"http://{args.host}:{args.s3_port}",
                 "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(32),
                 **_environment_overrides(seed, args.env)}
    from switchboard_local.provision import LOCAL_REFS
    from switchboard_local.s3_server import LocalS3Server
    from switchboard_local.sigv4 import LocalCredentials
    from switchboard_local.stack import FAKE_CREDENTIALS

    given = {**FAKE_CREDENTIALS, **overrides}
    credentials = LocalCredentials(given["AWS_ACCESS_KEY_ID"], given["AWS_SECRET_ACCESS_KEY"])
    # S3 only, signed, for the pages and the tenants' sites, each to its own tenants' files (see
    # s3_server: moto's server alone would answer every service, to any web page)
    page_origins = {*web_origins, f"http://{args.host}:{args.web_port}"}
    demo_seed = _demo_seed(web_origins) if seed is None else None
    sso = _start_demo_sso(args, demo_seed, overrides) if demo_seed is not None else None
    loaded = seed if seed is not None else _load_demo_seed(web_origins)
    s3_server = LocalS3Server(args.host, args.s3_port, origins=_origin_tenants(loaded, page_origins),
                              credentials=credentials, attachments_bucket=LOCAL_REFS["AttachmentsBucket"])
    s3_server.start()  # before provisioning: the buckets are made through it
    stuck = 0
    try:
        with (local_aws(template, seed if seed is not None else demo_seed, overrides) as aws,
              contextlib.suppress(KeyboardInterrupt)):  # a second Ctrl-C while stopping
            stuck = asyncio.run(_serve(template, socks, args, aws, credentials, demo=seed is None,
                                       sso=sso.issuer if sso else None))
    finally:
        s3_server.stop(timeout=S3_STOP_SECONDS)
        if sso is not None:
            sso.stop()
    print("switchboard: stopped", flush=True)
    if stuck:  # a hung handler's thread would hold the interpreter's exit: its state dies with us anyway
        sys.stdout.flush()
        os._exit(1)
    return 0


async def _serve(template: Any, socks: list[socket.socket], args: argparse.Namespace, aws: Any, credentials: Any, *,
                 demo: bool, sso: str | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C; returns how many invocations were still running at the end."""
    from aiohttp import web

    from switchboard_local.gateway_http import build_http_app
    from switchboard_local.gateway_web import build_web_app
    from switchboard_local.gateway_ws import WebSocketGateway, install_in_process
    from switchboard_local.invoker import DEFAULT_CONCURRENCY, Invoker

    invoker = Invoker(template, concurrency=args.concurrency or DEFAULT_CONCURRENCY)
    gateway = WebSocketGateway(template, invoker, bind_host=args.host, credentials=credentials)
    loop = asyncio.get_running_loop()
    tenants = [t["tenant"] for t in aws.operators] or ["demo"]
    config = {"api": f"http://{args.host}:{args.http_port}", "ws": f"ws://{args.host}:{args.ws_port}",
              "tenant": tenants[0]}
    apps = [build_http_app(template, invoker), gateway.app(),
            build_web_app(template.root / "web", config=config, files=f"http://{args.host}:{args.s3_port}",
                          outbox=True)]
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # the functions reach the gateway's @connections API in this process, without HTTP: installed
    # before the first request, so every container's management client is made with it
    with install_in_process(gateway.in_process(loop, aws.environment["WS_MANAGEMENT_ENDPOINT"])):
        runners = []
        for app, sock in zip(apps, socks, strict=True):
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=STOP_GRACE[2])
            await runner.setup()
            await web.SockSite(runner, sock).start()
            runners.append(runner)
        _banner(args, aws, demo=demo, sso=sso)
        scheduled = _start_schedules(template, invoker, stop, args)
        # outbound events: the stream and the webhooks' queue into their functions, as Lambda's
        # event source mappings do (switchboard_local/events_pump.py, docs/webhooks.md)
        from switchboard_local.events_pump import EventsPump
        from switchboard_local.provision import LOCAL_REFS

        pump = EventsPump(template, invoker.invoke, table=LOCAL_REFS["Table"], queue_url=LOCAL_REFS["WebhookQueue"])
        pump_stop = threading.Event()
        pump_thread = threading.Thread(target=pump.run, args=(pump_stop,), name="events-pump", daemon=True)
        pump_thread.start()
        await stop.wait()
        print("switchboard: stopping", flush=True)
        pump_stop.set()
        await scheduled  # the schedules stop first: no new run once stopping (a run in flight: the invoker's)
        stuck = await _stop(invoker, gateway, runners)
        print(f"switchboard: @connections calls: {gateway.served_in_process} in process, "
              f"{gateway.served_over_http} over HTTP", flush=True)
        return stuck


def _start_schedules(template: Any, invoker: Any, stop: asyncio.Event, args: argparse.Namespace) -> Any:
    """The template's Schedule events, run on their rate through the invoker (scheduler.py)."""
    import os

    from switchboard_local.scheduler import run_schedules, schedules

    found, skipped = schedules(template)
    every = getattr(args, "schedule_every", None) or float(os.environ.get("SWITCHBOARD_SCHEDULE_SECONDS") or 0) or None
    for s in found:
        print(f"switchboard: schedule {s.function_id} {s.expression}"
              + (f" (every {every:g} s here)" if every else ""), flush=True)
    for line in skipped:
        print(f"switchboard: schedule not run locally (only rate() is): {line}", flush=True)
    return asyncio.ensure_future(run_schedules(invoker, found, stop, every=every))


#: seconds the stop gives: running invocations, closing sockets, in-flight HTTP answers (which
#: aiohttp may wait twice), the S3 port's server (:meth:`LocalS3Server.stop`) and STOP_SETTLE - 4.65 at most,
#: inside the 5 s a process manager (and tests/e2e/test_lifecycle.py) allows before SIGKILL
STOP_GRACE = (2.0, 0.75, 0.25)
STOP_SETTLE = 0.4  # after the invoker closes: the frames it refused are answered before the sockets close
S3_STOP_SECONDS = 1.0


async def _stop(invoker: Any, gateway: Any, runners: list[Any]) -> int:
    """SIGTERM or Ctrl-C: finish or refuse the work in flight, never cut it half-way.

    1. The invoker takes no more invocations (an HTTP request arriving now is answered 503, a
       frame gets API Gateway's error) and the running ones get up to 2 s to finish: each is a
       whole handler, whose writes and acks are done or not begun. One still running then (a
       hung handler) is left behind: the process exits without it (exit code 1), and its
       in-memory state goes with it.
    2. The WebSockets are closed (1001); their ``$disconnect`` invocations are refused, as API
       Gateway's are best-effort - the connections' records die with the in-memory state.
    3. The servers stop, answering what they already have in hand."""
    running = await asyncio.to_thread(invoker.close, STOP_GRACE[0])
    if running:
        print(f"switchboard: {running} invocation(s) still running after {STOP_GRACE[0]:g} s; "
              "stopping without them", flush=True)
    await gateway.settle(STOP_SETTLE)  # frames waiting for a container: refused, and told so
    await gateway.close_all(timeout=STOP_GRACE[1])
    await asyncio.gather(*(runner.cleanup() for runner in runners), return_exceptions=True)
    return int(running)


def _banner(args: argparse.Namespace, aws: Any, *, demo: bool, sso: str | None = None) -> None:
    h = args.host
    lines = [
        "Switchboard local stack (moto in-process; no Docker, no AWS account)",
        f"  HTTP API       http://{h}:{args.http_port}",
        f"  WebSocket API  ws://{h}:{args.ws_port}/?token=<chat token>   (@connections on the same port)",
        f"  Widget         http://{h}:{args.web_port}/widget.js",
        f"  Demo page      http://{h}:{args.web_port}/demo/",
        f"  Back office    http://{h}:{args.web_port}/backoffice/",
        f"  S3 (uploads)   http://{h}:{args.s3_port}",
        f"  Outbox (mail)  http://{h}:{args.web_port}/outbox/   (JSON: /outbox/messages.json)",
    ]
    if demo:
        from switchboard_local.seed import DEMO_SEED

        tenant = DEMO_SEED["tenants"][0]
        lines.append(f"  Demo tenant    {tenant['id']}  (identity secret: {tenant['identity_secret']})")
        for op in tenant["operators"]:
            lines.append(f"  {op['role']:<14} {op['email']} / {op['password']}")
        if sso:
            lines.append(f"  Demo SSO       {sso}  (\"Sign in with Demo SSO\" in the back office)")
            for account in DEMO_SSO_ACCOUNTS:
                lines.append(f"    {account['login']} / {account['password']}  ({account['email']})")
    else:
        for op in aws.operators:
            lines.append(f"  {op['role']:<14} {op['email']} (tenant {op['tenant']})")
    lines.append(f"switchboard: ready on http://{h}:{args.http_port} (Ctrl-C to stop)")
    print("\n".join(lines), flush=True)


# -- invoke ---------------------------------------------------------------------------------
PLACEHOLDERS = ("{{ACCESS_TOKEN}}", "{{CHAT_TOKEN}}", "{{REFRESH_TOKEN}}", "{{SESSION_ID}}", "{{SESSION_EXPIRES_AT}}",
                "{{USER_ID}}")


def _read_event(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text()
    except FileNotFoundError:
        raise _UsageError(f"event file not found: {source}") from None


def _fill_placeholders(text: str, aws: Any) -> str:
    """Events that need a signed-in caller say ``{{ACCESS_TOKEN}}`` (etc.): sign the seed's first
    operator in through the layer and put the real values in."""
    if not any(p in text for p in PLACEHOLDERS):
        return text
    from switchboard.auth import sessions
    from switchboard.auth.postlogin import Principal
    from switchboard.policy import Role
    from switchboard.runtime import services

    op = aws.operators[0]
    principal = Principal(tenant=op["tenant"], user_id=op["id"], role=Role(op["role"]), anon=False,
                          name=op["email"], method="password", email=op["email"])
    bundle = sessions.sign_in(services(), principal, device="switchboard invoke")
    values = {"{{ACCESS_TOKEN}}": bundle.access_token, "{{CHAT_TOKEN}}": bundle.chat_token,
              "{{REFRESH_TOKEN}}": bundle.refresh_token, "{{SESSION_ID}}": bundle.session.id,
              "{{SESSION_EXPIRES_AT}}": str(bundle.session.expires_at), "{{USER_ID}}": op["id"]}
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _invoke(args: argparse.Namespace) -> int:
    from switchboard_local.invoker import InvocationError, Invoker
    from switchboard_local.stack import local_aws

    template = _template()
    raw = _read_event(args.event)
    seed = _load_seed(args.seed)
    invoker = Invoker(template)
    try:
        function_id = invoker.resolve(args.function)
    except KeyError as exc:
        raise _UsageError(str(exc.args[0])) from None
    with local_aws(template, seed, _environment_overrides(seed, args.env)) as aws:
        try:
            event = json.loads(_fill_placeholders(raw, aws))
        except ValueError as exc:
            raise _UsageError(f"event is not JSON: {exc}") from None
        try:
            result = invoker.invoke(function_id, event)
        except InvocationError as exc:
            print(json.dumps({"errorType": type(exc.error).__name__, "errorMessage": str(exc.error)}))
            return 1
    print(json.dumps(result, indent=2))
    return 0


# -- openapi --------------------------------------------------------------------------------
def _openapi(args: argparse.Namespace) -> int:
    from switchboard_local.openapi import render

    text = render(_template())
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


# -- seed -----------------------------------------------------------------------------------
def _deployed(args: argparse.Namespace, *, table: bool = False) -> None:
    """Fill in ``--stack`` (and, unless given, ``--region``) the way ``sam deploy`` would: from
    the ``samconfig.toml`` of the current folder (``default`` environment), when neither the
    stack nor the table is named. A stack or table named on the command line keeps the AWS
    configuration's region (``AWS_REGION`` ...) unless ``--region`` says otherwise."""
    import tomllib

    path = Path("samconfig.toml")
    config: dict[str, Any] = {}
    if path.is_file():
        try:
            config = tomllib.loads(path.read_text()).get("default", {})
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise _UsageError(f"samconfig.toml could not be read: {exc}") from None

    def setting(command: str, name: str) -> str | None:
        for section in (command, "global"):
            value = config.get(section, {}).get("parameters", {}).get(name)
            if isinstance(value, str) and value:
                return value
        return None

    if args.stack or (table and args.table):
        return  # named on the command line: the region is --region's, or the AWS configuration's
    args.stack = setting("deploy", "stack_name")
    if not args.stack:
        raise _UsageError("name the stack with --stack NAME" + (" or the table with --table NAME" if table else "")
                          + " (no samconfig.toml with a stack_name here to read it from)")
    if not args.region:
        args.region = setting("deploy", "region")  # where that stack was deployed


def _seed(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    from switchboard.errors import SwitchboardError
    from switchboard.store import Store
    from switchboard.tokens.sealing import Sealer

    from switchboard_local.seed import apply_seed

    seed = _load_seed(args.file)
    if args.api:
        return _seed_over_api(args, seed)
    _deployed(args, table=True)
    session = boto3.session.Session(region_name=args.region)
    try:
        table = args.table or _stack_output(session, args.stack, "TableName")
        key = args.totp_key or ""
        if not key and any(o.totp_secret for t in seed.tenants for o in t.operators):
            if not args.stack:
                raise _UsageError("the seed has TOTP secrets: name the key that seals them with --totp-key "
                                  "(the stack's TotpKeyAlias output)")
            key = _stack_output(session, args.stack, "TotpKeyAlias")
        if any(p.client_secret for t in seed.tenants for p in t.identity_providers) and not args.stack:
            raise _UsageError("the seed has identity providers' client secrets: name the stack with --stack "
                              "(they go to Secrets Manager as <stack>/oidc/<tenant>/<provider>)")
        summary = apply_seed(Store(table, session.client("dynamodb")), seed,
                             sealer=Sealer(key, client=session.client("kms")),
                             secrets=session.client("secretsmanager"),
                             secret_prefix=f"{args.stack or 'switchboard'}/oidc/")
    except (BotoCoreError, ClientError, SwitchboardError) as exc:
        print(f"switchboard: seeding failed: {exc}", file=sys.stderr)
        return 1
    for op in summary:
        print(f"seeded {op['role']} {op['email']} (tenant {op['tenant']}, id {op['id']})")
    return 0


def _seed_over_api(args: argparse.Namespace, seed: Any) -> int:
    from switchboard_local.admin_cli import CommandFailed, seed_over_api
    from switchboard_local.session import ApiSession, NotSignedIn

    try:
        lines = seed_over_api(ApiSession(args.api, args.credentials), seed)
    except (KeyError, TypeError, ValueError) as exc:  # an answer not shaped as the contract says
        print(f"switchboard: seeding failed: unexpected answer from the API ({exc.__class__.__name__})",
              file=sys.stderr)
        return 1
    except (NotSignedIn, CommandFailed) as exc:
        done = getattr(exc, "done", [])
        if done:
            print("\n".join(["applied before the failure:", *done]))
        print(f"switchboard: seeding failed: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


# -- login ----------------------------------------------------------------------------------
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",  # noqa: S310 - http(s) only: _login

                                 headers={"content-type": "application/json", "user-agent": "switchboard CLI"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - http(s) only: _login checks
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")
    except (urllib.error.URLError, OSError) as exc:
        raise _UsageError(f"cannot reach {url}: {exc}") from None


def default_credentials() -> Path:
    from switchboard_local.session import default_credentials as where

    return where()


def _login(args: argparse.Namespace, *, sleep: Any = None) -> int:
    """RFC 8628: ask for a device code, show the user code, poll until an admin approves it in the
    back office, keep the session (the approving admin's) in the credentials file, 0600."""
    import time

    sleep = sleep or time.sleep
    api = args.api.rstrip("/")
    from switchboard_local.session import plain_http_allowed

    if not api.startswith("https://") and not plain_http_allowed(api):
        raise _UsageError(f"--api wants the stack's https URL (plain http only on this machine), not {args.api!r}")
    status, got = _post_json(f"{api}/auth/device", {"tenant": args.tenant} if args.tenant else {})
    if status != 200:
        raise _UsageError(f"the API refused the device sign-in: {status} {got}")
    print(f"To sign in, open {got['verification_uri_complete']}\n"
          f"(or {got['verification_uri']} and enter the code {got['user_code']}) as an admin, and approve it.",
          flush=True)
    interval, deadline = int(got["interval"]), time.monotonic() + int(got["expires_in"])
    while time.monotonic() < deadline:
        sleep(interval)
        status, answer = _post_json(f"{api}/auth/device/token", {"grant_type": DEVICE_GRANT,
                                                                 "device_code": got["device_code"]})
        error = (answer or {}).get("error") if status == 400 else None
        if status == 200:
            from switchboard_local.session import save_session

            path = args.credentials or default_credentials()
            save_session(path, api, answer)
            print(f"Signed in to {api} as {answer['user']['name']} ({answer['user']['role']}); "
                  f"the session is kept in {path}", flush=True)
            return 0
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval = int(answer.get("interval") or interval + 5)
            continue
        reason = {"access_denied": "the sign-in was denied", "expired_token": "the code expired"}.get(
            str(error), f"{status} {answer}")
        print(f"switchboard: not signed in: {reason}", file=sys.stderr)
        return 1
    print("switchboard: not signed in: the code expired", file=sys.stderr)
    return 1


# -- publish-web ----------------------------------------------------------------------------
def _publish_web(args: argparse.Namespace) -> int:
    """Upload web/ to the stack's WebBucket with a ``switchboard-config.json`` naming the APIs,
    which is where the pages look for them (as ``switchboard dev`` serves it locally)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from switchboard_local.web_policy import cache_control, content_type

    root = _template().root / "web"
    _deployed(args)
    session = boto3.session.Session(region_name=args.region)
    try:
        bucket = _stack_output(session, args.stack, "WebBucketName")
        config = {"api": _stack_output(session, args.stack, "ApiUrl"),
                  "ws": _stack_output(session, args.stack, "ChatUrl"), "tenant": args.tenant}
        s3 = session.client("s3")
        files = sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            key = path.relative_to(root).as_posix()
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type(key),
                          CacheControl=cache_control(key))
        s3.put_object(Bucket=bucket, Key="switchboard-config.json", Body=json.dumps(config).encode(),
                      ContentType="application/json", CacheControl="no-cache")
    except (BotoCoreError, ClientError) as exc:
        print(f"switchboard: publishing failed: {exc}", file=sys.stderr)
        return 1
    print(f"published {len(files)} files and switchboard-config.json to s3://{bucket}/")
    return 0


def _stack_output(session: Any, stack: str, key: str) -> str:
    outputs = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for out in outputs:
        if out["OutputKey"] == key:
            return str(out["OutputValue"])
    raise _UsageError(f"stack {stack} has no {key} output")


if __name__ == "__main__":
    sys.exit(main())
