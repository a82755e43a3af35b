"""`switchboard dev` end to end, over real HTTP: the README's curl session, as a test."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import ADMIN, IDENTITY_SECRET, ORIGIN, TENANT, DevStack, free_port, switchboard_command

pytestmark = pytest.mark.e2e


def http(stack: DevStack, method: str, path: str, body: Any = None, token: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"content-type": "application/json", **(headers or {})}
    if token:
        hdrs["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(stack.http + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


def test_a_visitor_and_an_operator_sign_in_refresh_and_revoke_over_http(dev_stack):
    import hashlib
    import hmac

    mac = hmac.new(IDENTITY_SECRET.encode(), b"customer-7", hashlib.sha256).hexdigest()
    status, headers, visitor = http(dev_stack, "POST", "/auth/external",
                                    {"tenant": TENANT, "user": {"id": "customer-7", "hash": mac}},
                                    headers={"origin": ORIGIN})
    assert status == 200, visitor
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert visitor["user"]["level"] == 1

    status, _, op = http(dev_stack, "POST", "/auth/internal",
                         {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
    assert status == 200, op
    status, _, me = http(dev_stack, "GET", "/auth/me", token=op["access_token"])
    assert (status, me["user"]["role"]) == (200, "admin")

    status, _, rotated = http(dev_stack, "POST", "/auth/refresh", {"refresh_token": op["refresh_token"]})
    assert status == 200 and rotated["refresh_token"] != op["refresh_token"]
    status, _, reused = http(dev_stack, "POST", "/auth/refresh", {"refresh_token": op["refresh_token"]})
    assert (status, reused["code"]) == (401, "token_reused")
    status, _, gone = http(dev_stack, "GET", "/auth/me", token=rotated["access_token"])
    assert (status, gone["code"]) == (401, "session_revoked")  # reuse revoked the whole session

    status, _, again = http(dev_stack, "POST", "/auth/internal",
                            {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
    status, _, _ = http(dev_stack, "POST", "/auth/revoke", {"kind": "session"}, token=again["access_token"])
    assert status == 200
    status, _, after = http(dev_stack, "GET", "/auth/me", token=again["access_token"])
    assert (status, after["code"]) == (401, "session_revoked")


def test_jwks_is_served_and_unknown_routes_are_404(dev_stack):
    status, _, jwks = http(dev_stack, "GET", "/.well-known/jwks.json")
    assert status == 200 and jwks["keys"] and all("d" not in k for k in jwks["keys"])
    # a page of any site may read it (a public document: "*", no credentials)
    status, headers, _ = http(dev_stack, "GET", "/.well-known/jwks.json", headers={"origin": "https://verifier.example"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    status, _, body = http(dev_stack, "GET", "/no/such/route")
    assert (status, body) == (404, {"message": "Not Found"})


def test_malformed_json_is_a_problem_response_not_a_crash(dev_stack):
    req = urllib.request.Request(dev_stack.http + "/auth/external", data=b"{nope", method="POST",
                                 headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400
    assert err.value.headers["Content-Type"] == "application/problem+json"
    assert json.loads(err.value.read())["code"] == "validation_error"


def test_without_a_seed_file_it_seeds_the_demo_tenant_and_prints_its_credentials():
    stack = DevStack([])
    try:
        assert "admin@demo.test / demo-admin-password" in stack.output
        assert f"http://127.0.0.1:{stack.http_port}" in stack.output
        status, _, tokens = http(stack, "POST", "/auth/internal",
                                 {"tenant": "demo", "email": "admin@demo.test", "password": "demo-admin-password"})
        assert status == 200, tokens
    finally:
        assert stack.stop() == 0
    assert "switchboard: stopped" in stack.output


def test_a_taken_port_is_a_clear_error_not_a_traceback():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([*switchboard_command(), "dev", "--http-port", str(port)], capture_output=True,
                           text=True, timeout=60)
    assert r.returncode == 2
    assert f"port {port}" in r.stderr and "--http-port" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_browser_preflight_and_the_widget_settings_over_http(dev_stack):
    # Given a page on the tenant's origin about to POST JSON with a bearer token
    req = urllib.request.Request(dev_stack.http + "/auth/revoke", method="OPTIONS",
                                 headers={"origin": ORIGIN, "access-control-request-method": "POST",
                                          "access-control-request-headers": "authorization, content-type"})
    with urllib.request.urlopen(req, timeout=10) as r:
        # Then the preflight lets it
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    # And the widget's settings are public, readable from the tenant's origin
    status, headers, settings = http(dev_stack, "GET", f"/tenants/{TENANT}/widget", headers={"origin": ORIGIN})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == ORIGIN
    # the theme (section 4) and the support day's fields (section 8)
    assert set(settings) == {"title", "color", "greeting", "position", "attachments", "online", "open_now", "hours",
                             "away_message", "prechat", "email_when_offline", "locales"}


def test_the_pages_find_the_apis_in_switchboard_config_json(dev_stack):
    with urllib.request.urlopen(dev_stack.web + "/switchboard-config.json", timeout=10) as r:
        config = json.loads(r.read())
    assert config == {"api": dev_stack.http, "ws": dev_stack.ws, "tenant": TENANT}
    for page in ("/widget.js", "/demo/", "/backoffice/"):
        with urllib.request.urlopen(dev_stack.web + page, timeout=10) as r:
            assert r.status == 200


def test_ctrl_c_stops_the_stack_cleanly():
    import signal

    stack = DevStack([])
    stack.proc.send_signal(signal.SIGINT)
    assert stack.proc.wait(timeout=20) == 0
    assert "switchboard: stopped" in stack.output


def test_switchboard_invoke_uses_the_seed_file_it_is_given(tmp_path, capsys):
    from switchboard_local.cli import main
    from switchboard_local.lambda_runtime import http_event
    from tests.conftest import SEED

    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    event = tmp_path / "event.json"
    event.write_text(json.dumps(http_event("POST", "/auth/external", body={"tenant": "globex"},
                                           headers={"origin": "https://globex.test"})))
    # A tenant of the seed file signs its visitors in...
    assert main(["invoke", "LoginExternalFunction", "-e", str(event), "--seed", str(seed)]) == 0
    out = capsys.readouterr().out
    response = json.loads(out[out.rindex("\n{\n") + 1:] if "\n{\n" in out else out[out.index("{"):])
    assert response["statusCode"] == 200, response
    # ... and the demo tenant is not there when a seed file is given
    event.write_text(json.dumps(http_event("POST", "/auth/external", body={"tenant": "demo"})))
    assert main(["invoke", "LoginExternalFunction", "-e", str(event), "--seed", str(seed)]) == 0
    out = capsys.readouterr().out
    response = json.loads(out[out.rindex("\n{\n") + 1:] if "\n{\n" in out else out[out.index("{"):])
    assert response["statusCode"] == 404


def test_query_parameters_reach_the_function_over_http(dev_stack):
    # Given an admin of the seeded tenant
    status, _, tokens = http(dev_stack, "POST", "/auth/internal",
                             {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
    assert status == 200, tokens
    # When they page the audit log one event at a time, and then ask for a page of none
    status, _, page = http(dev_stack, "GET", "/admin/events?limit=1", token=tokens["access_token"])
    refused, _, problem = http(dev_stack, "GET", "/admin/events?limit=0", token=tokens["access_token"])
    # Then the gateway handed the query string on as queryStringParameters, as API Gateway does
    assert status == 200 and len(page["events"]) == 1, page
    assert (refused, problem["code"]) == (400, "validation_error")


class _Lambda:
    """A stand-in for the functions behind the local HTTP gateway: records each event, answers ``result``."""

    def __init__(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.events = result, error, []

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        from switchboard_local.invoker import InvocationError

        self.events.append((function_id, event))
        if self.error is not None:
            raise InvocationError(function_id, self.error)
        return self.result

    async def ainvoke(self, function_id: str, event: dict[str, Any]) -> Any:
        return self.invoke(function_id, event)


def _through_gateway(template, fn: _Lambda, method: str, path: str, **kwargs: Any) -> tuple[int, Any, bytes]:
    """One request through ``switchboard dev``'s HTTP gateway (in process) to ``fn``."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from switchboard_local.gateway_http import build_http_app

    async def go() -> tuple[int, Any, bytes]:
        async with TestClient(TestServer(build_http_app(template, fn))) as client:  # type: ignore[arg-type]
            r = await client.request(method, path, **kwargs)
            return r.status, r.headers, await r.read()

    return asyncio.run(go())


def test_the_gateway_sends_a_functions_cookies_and_base64_body_as_api_gateway_does(template):
    # Given a function answering with two cookies and a binary body (payload 2.0: isBase64Encoded)
    fn = _Lambda({"statusCode": 201, "headers": {"content-type": "application/octet-stream"},
                  "cookies": ["a=1; Path=/", "b=2; HttpOnly"], "isBase64Encoded": True,
                  "body": base64.b64encode(b"\x00\xffbin").decode()})
    # When a client calls its route
    status, headers, body = _through_gateway(template, fn, "GET", "/auth/me")
    # Then each cookie is its own Set-Cookie header and the body is the decoded bytes
    assert status == 201
    assert headers.getall("Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    assert body == b"\x00\xffbin"


def test_the_event_is_payload_2_0_with_lower_case_headers_query_and_a_base64_flag(template):
    # Given the route's function
    fn = _Lambda({"statusCode": 204})
    # When a client sends mixed-case headers, a query string and a body that is not UTF-8
    status, _, _ = _through_gateway(template, fn, "POST", "/auth/revoke?x=1&y=two", data=b"\xff\xfe",
                                    headers={"X-Custom-Thing": "Yes"})
    # Then the function got API Gateway's event for it
    assert status == 204
    ((function_id, event),) = fn.events
    assert function_id == "RevokeFunction"
    assert event["routeKey"] == "POST /auth/revoke" and event["rawPath"] == "/auth/revoke"
    assert event["headers"]["x-custom-thing"] == "Yes" and all(k == k.lower() for k in event["headers"])
    assert event["queryStringParameters"] == {"x": "1", "y": "two"} and event["rawQueryString"] == "x=1&y=two"
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\xfe"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"


def test_a_crashing_function_is_api_gateways_500_and_an_oversized_body_its_413(template):
    # Given a function that raises
    fn = _Lambda(error=RuntimeError("boom"))
    # When it is called, and when a body over 10 MB is sent
    crashed = _through_gateway(template, fn, "GET", "/auth/me")
    too_big = _through_gateway(template, fn, "POST", "/auth/revoke", data=b"x" * (10 * 1024 * 1024 + 1))
    # Then API Gateway's own answers come back, and the oversized body never reached the function
    assert (crashed[0], json.loads(crashed[2])) == (500, {"message": "Internal Server Error"})
    assert too_big[0] == 413
    assert len(fn.events) == 1


def test_events_built_for_tests_and_invoke_have_lower_case_headers_as_api_gateway_sends():
    from switchboard_local.lambda_runtime import http_event

    # Given headers in the case a browser or curl writes them
    event = http_event("POST", "/auth/external", body={"tenant": "acme"},
                       headers={"Origin": "https://shop.acme.test", "User-Agent": "curl/8"})
    # Then the payload 2.0 event has them lower-cased, like API Gateway's
    assert event["headers"] == {"origin": "https://shop.acme.test", "user-agent": "curl/8",
                                "content-type": "application/json"}
    assert event["requestContext"]["http"]["userAgent"] == "curl/8"


def test_the_back_office_is_served_with_the_production_security_headers(dev_stack):
    from switchboard_local.web_policy import backoffice_csp

    # Given the back office, whose folder is asked for without its slash
    with urllib.request.urlopen(dev_stack.web + "/backoffice", timeout=10) as r:
        # Then the browser is sent to the folder (its index), as CloudFront's function does
        assert r.status == 200 and r.url.endswith("/backoffice/")
        headers = r.headers
    # And the page comes with the policy CloudFront sets: the stack's own APIs and uploads only
    files = f"http://127.0.0.1:{dev_stack.s3_port}"
    assert headers["Content-Security-Policy"] == backoffice_csp(dev_stack.http, dev_stack.ws, files)
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert (headers["X-Frame-Options"], headers["X-Content-Type-Options"], headers["Referrer-Policy"]) == (
        "DENY", "nosniff", "no-referrer")


def test_the_back_office_modules_are_served_as_javascript_under_its_policy(dev_stack):
    from pathlib import Path

    from switchboard_local.web_policy import backoffice_csp

    web = Path(__file__).resolve().parents[2] / "web"
    modules = sorted(p.relative_to(web).as_posix() for p in (web / "backoffice").rglob("*.js"))
    assert any(m.startswith("backoffice/views/") for m in modules)
    files = f"http://127.0.0.1:{dev_stack.s3_port}"
    for module in modules:
        # When the browser fetches each module the page imports, in subfolders too
        with urllib.request.urlopen(f"{dev_stack.web}/{module}", timeout=10) as r:
            # Then it is JavaScript, the one type a browser runs a module as (the type publish-web
            # stores in S3), under the page's own policy
            assert r.status == 200 and r.headers["Content-Type"] == "text/javascript", module
            assert r.headers["X-Content-Type-Options"] == "nosniff", module
            assert r.headers["Content-Security-Policy"] == backoffice_csp(dev_stack.http, dev_stack.ws, files)


@pytest.mark.parametrize("path", ["/%2e%2e/template.yaml", "/..%2ftemplate.yaml", "/demo/..%2f..%2ftemplate.yaml"])
def test_the_pages_server_never_serves_a_file_outside_web(dev_stack, path):
    # When a request climbs out of web/ with encoded dots and slashes
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(dev_stack.web + path, timeout=10)
    # Then it is 404, not the repository's files
    assert refused.value.code == 404


@pytest.mark.parametrize("flag", ["--ws-port", "--web-port", "--s3-port"])
def test_every_taken_port_is_a_clear_error_naming_its_option(flag):
    # Given a port something else listens on
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # When the stack is asked to use it for one of its servers (the others on free ports)
        others = {f: str(free_port()) for f in ("--http-port", "--ws-port", "--web-port", "--s3-port") if f != flag}
        r = subprocess.run([*switchboard_command(), "dev", flag, str(port), *[a for kv in others.items() for a in kv]],
                           capture_output=True, text=True, timeout=60)
    # Then it stops at once, naming the port and the option to change, without a traceback
    assert r.returncode == 2, r.stderr
    assert f"port {port}" in r.stderr and flag in r.stderr
    assert "Traceback" not in r.stderr


def test_the_demo_tenant_accepts_the_pages_origin_whatever_the_web_port():
    # Given the stack without a seed file, its pages on a port other than 8000
    stack = DevStack([])
    try:
        for origin in (stack.web, f"http://localhost:{stack.web_port}"):
            # When the demo page, served from there, signs a visitor in
            status, headers, body = http(stack, "POST", "/auth/external", {"tenant": "demo"},
                                         headers={"origin": origin})
            # Then the demo tenant allows that origin and the page may read the answer
            assert status == 200, body
            assert headers["Access-Control-Allow-Origin"] == origin
    finally:
        assert stack.stop() == 0
