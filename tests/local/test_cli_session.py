"""The CLI's kept session against a real HTTP server on loopback that answers what a deployed
API, its gateway or a proxy may answer: only an API that says the session ended makes the CLI
forget it; a rate limit or an outage leaves the pair for a retry."""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from switchboard_local.admin_cli import run_admin
from switchboard_local.session import ApiSession, NotSignedIn, save_session


def _token(exp: int, tid: str = "acme") -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'ES256'})}.{part({'exp': exp, 'tid': tid})}.c2ln"


class Api:
    """A loopback server: ``answers[path]`` is ``(status, headers, body bytes)``; requests are kept."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[tuple[str, str]] = []
        self.bodies: list[Any] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                api.seen.append((self.command, self.path))
                api.bodies.append(json.loads(raw) if raw else None)
                status, headers, body = api.answers.get(self.path.split("?")[0], (404, {}, b'{"code":"not_found"}'))
                self.send_response(status)
                for k, v in {"content-type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def api() -> Iterator[Api]:
    server = Api()
    yield server
    server.server.shutdown()


@pytest.fixture
def kept(api: Api, tmp_path: Path) -> Path:
    """A kept session whose access token has run out (the next command refreshes first)."""
    path = tmp_path / "credentials.json"
    save_session(path, api.url, {"access_token": _token(int(time.time()) - 10), "refresh_token": "sbr1.old",
                                 "user": {"id": "op_1", "role": "admin"}})
    return path


def _saved(path: Path, api: Api) -> dict[str, Any]:
    return json.loads(path.read_text()).get(api.url, {})


@pytest.mark.parametrize("answer", [
    (429, {"retry-after": "17"}, b'{"code":"rate_limited"}'),
    (503, {}, b'{"code":"unavailable"}'),
    (502, {"content-type": "text/html"}, b"<html>Bad gateway</html>"),
    (200, {"content-type": "text/html"}, b"<html>captive portal</html>"),
], ids=["rate-limited", "unavailable", "gateway-page", "not-json"])
def test_a_refresh_that_did_not_happen_keeps_the_session_for_a_retry(api, kept, answer):
    api.answers["/auth/refresh"] = answer
    with pytest.raises(NotSignedIn, match="could not be refreshed now"):
        ApiSession(api.url, kept).request("GET", "/auth/me")
    assert _saved(kept, api)["refresh_token"] == "sbr1.old"


@pytest.mark.parametrize("code", ["token_reused", "session_revoked", "invalid_token"])
def test_a_session_the_api_ended_is_forgotten(api, kept, code):
    api.answers["/auth/refresh"] = (401, {}, json.dumps({"code": code}).encode())
    with pytest.raises(NotSignedIn, match="sign in again"):
        ApiSession(api.url, kept).request("GET", "/auth/me")
    assert _saved(kept, api) == {}


def test_the_rotated_pair_is_kept_and_used(api, kept):
    fresh = _token(int(time.time()) + 900)
    api.answers["/auth/refresh"] = (200, {}, json.dumps({"access_token": fresh, "refresh_token": "sbr1.new",
                                                         "user": {"id": "op_1"}}).encode())
    api.answers["/auth/me"] = (200, {}, b'{"user":{"id":"op_1"}}')
    assert ApiSession(api.url, kept).request("GET", "/auth/me") == (200, {"user": {"id": "op_1"}})
    assert _saved(kept, api)["refresh_token"] == "sbr1.new"
    assert [p for _, p in api.seen] == ["/auth/refresh", "/auth/me"]


def _admin(api: Api, kept: Path, *words: str) -> int:
    from switchboard_local.cli import _parser

    args: argparse.Namespace = _parser().parse_args(["admin", "--api", api.url, "--credentials", str(kept), *words])
    return run_admin(args)


def test_an_operator_id_cannot_reach_another_route(api, kept, capsys):
    api.answers["/auth/refresh"] = (200, {}, json.dumps({"access_token": _token(int(time.time()) + 900),
                                                         "refresh_token": "sbr1.new"}).encode())
    assert _admin(api, kept, "set-operator", "../tenant", "--name", "X") == 1
    assert ("PATCH", "/admin/operators/..%2Ftenant") in api.seen
    assert not any(p.startswith("/admin/tenant") for _, p in api.seen)


def test_an_answer_that_is_not_the_apis_json_is_an_error_not_a_traceback(api, kept, capsys):
    api.answers["/auth/refresh"] = (200, {}, json.dumps({"access_token": _token(int(time.time()) + 900),
                                                         "refresh_token": "sbr1.new"}).encode())
    api.answers["/admin/operators"] = (200, {"content-type": "text/html"}, b"<html>proxy</html>")
    assert _admin(api, kept, "operators") == 1
    assert "not the API's JSON" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["http://api.example.test", "http://10.0.0.5:3000", "ftp://127.0.0.1"])
def test_tokens_travel_over_plain_http_only_on_this_machine(tmp_path, url):
    path = tmp_path / "credentials.json"
    save_session(path, url, {"access_token": _token(0), "refresh_token": "r", "user": {}})
    with pytest.raises(NotSignedIn, match="https"):
        ApiSession(url, path)


@pytest.mark.parametrize("words, sent", [
    (["--max-chats", "4"], {"max_chats": 4}),
    (["--no-max-chats"], {"max_chats": None}),
    (["--name", "Otto B.", "--max-chats", "2"], {"name": "Otto B.", "max_chats": 2}),
])
def test_an_admin_sets_or_clears_an_operators_most_chats(api, kept, words, sent):
    api.answers["/auth/refresh"] = (200, {}, json.dumps({"access_token": _token(int(time.time()) + 900),
                                                         "refresh_token": "sbr1.new"}).encode())
    api.answers["/admin/operators/op_2"] = (200, {}, b'{"id": "op_2"}')
    assert _admin(api, kept, "set-operator", "op_2", *words) == 0
    assert api.bodies[api.seen.index(("PATCH", "/admin/operators/op_2"))] == sent
