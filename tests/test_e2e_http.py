"""`switchboard dev` end to end, over real HTTP: the README's curl session, as a test."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import ADMIN, IDENTITY_SECRET, ORIGIN, TENANT, DevStack, switchboard_command

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
    assert set(settings) == {"title", "color", "greeting", "position", "attachments"}


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
