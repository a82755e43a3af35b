"""After `switchboard login`, `switchboard seed FILE --api URL` and `switchboard admin ...` work
against the HTTP API with that session (issue 16, section 5): no AWS credentials, the admin's own
tenant only, the session refreshed (and rotated) when its access token has run out."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ADMIN, TENANT, DevStack, switchboard_command
from tests.e2e.test_http import http

pytestmark = pytest.mark.e2e


def _cli(*args: str, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*switchboard_command(), *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture
def signed_in(dev_stack: DevStack, tmp_path: Path) -> Path:
    """A credentials file holding an admin's session, made by the real `switchboard login`."""
    credentials = tmp_path / "credentials.json"
    proc = subprocess.Popen([*switchboard_command(), "login", "--api", dev_stack.http, "--tenant", TENANT,
                             "--credentials", str(credentials)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert proc.stdout is not None
        lines = proc.stdout.readline() + proc.stdout.readline()
        code = re.search(r"enter the code ([A-Z]{4}-[A-Z]{4})", lines)
        assert code, lines
        _, _, ana = http(dev_stack, "POST", "/auth/internal",
                         {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
        assert http(dev_stack, "POST", "/auth/device/approve", {"user_code": code.group(1)},
                    token=ana["access_token"])[0] == 200
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    return credentials


def _seed_file(dev_stack: DevStack, tmp_path: Path, token: str, *, tenant: str = TENANT,
               operators: list[dict[str, object]]) -> Path:
    """A seed that keeps the test stack's settings as they are (other tests share the tenant)."""
    _, _, now = http(dev_stack, "GET", "/admin/tenant", token=token)
    seed = {"tenants": [{"id": tenant, "name": now["name"], "identity_secret": "x" * 32, "hook_secret": "y" * 32,
                         "allowed_origins": now["allowed_origins"], "visitor_attachments": now["visitor_attachments"],
                         "operators": operators}]}
    path = tmp_path / f"seed-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(seed))
    return path


def _kept(credentials: Path, dev_stack: DevStack) -> dict[str, str]:
    return json.loads(credentials.read_text())[dev_stack.http]


def test_seed_over_the_api_creates_the_seeds_operators_with_the_login_session(dev_stack, signed_in, tmp_path):
    token = _kept(signed_in, dev_stack)["access_token"]
    email = f"seeded-{uuid.uuid4().hex[:8]}@acme.test"
    password = "seeded-correct-horse-battery"
    seed = _seed_file(dev_stack, tmp_path, token, operators=[{"email": email, "password": password,
                                                               "role": "operator", "name": "Sid"}])
    # When the seed is applied through the HTTP API with the kept session
    first = _cli("seed", str(seed), "--api", dev_stack.http, "--credentials", str(signed_in))
    assert first.returncode == 0, first.stderr
    assert f"seeded operator {email}" in first.stdout
    # Then the operator exists and signs in with the seed's password
    status, _, tokens = http(dev_stack, "POST", "/auth/internal",
                             {"tenant": TENANT, "email": email, "password": password})
    assert status == 200 and tokens["user"]["role"] == "operator"
    # And a second run changes nothing and says so; no secret is ever printed
    again = _cli("seed", str(seed), "--api", dev_stack.http, "--credentials", str(signed_in))
    assert again.returncode == 0, again.stderr
    assert f"kept operator {email}" in again.stdout and "seeded operator" not in again.stdout
    assert "not sent: tenant acme's identity_secret" in again.stdout
    for out in (first.stdout + first.stderr, again.stdout + again.stderr):
        assert password not in out and "x" * 32 not in out and "y" * 32 not in out and token not in out


def test_seed_over_the_api_refuses_another_tenant_and_changes_nothing(dev_stack, signed_in, tmp_path):
    token = _kept(signed_in, dev_stack)["access_token"]
    email = f"other-{uuid.uuid4().hex[:8]}@acme.test"
    seed = _seed_file(dev_stack, tmp_path, token, operators=[{"email": email, "password": "p" * 20}])
    data = json.loads(seed.read_text())
    data["tenants"].append({**data["tenants"][0], "id": "globex", "operators": []})
    seed.write_text(json.dumps(data))
    result = _cli("seed", str(seed), "--api", dev_stack.http, "--credentials", str(signed_in))
    assert result.returncode == 1 and "globex" in result.stderr
    _, _, listed = http(dev_stack, "GET", "/admin/operators", token=token)
    assert email not in {o["email"] for o in listed["operators"]}


def test_admin_commands_use_the_session(dev_stack, signed_in):
    api = ["admin", "--api", dev_stack.http, "--credentials", str(signed_in)]
    email = f"invited-{uuid.uuid4().hex[:8]}@acme.test"
    invited = _cli(*api, "invite", email, "--name", "Ivy")
    assert invited.returncode == 0, invited.stderr
    op = json.loads(invited.stdout)["operator"]
    assert op["email"] == email
    listed = _cli(*api, "operators")
    assert listed.returncode == 0 and email in listed.stdout and ADMIN["email"] in listed.stdout
    blocked = _cli(*api, "set-operator", op["id"], "--block")
    assert blocked.returncode == 0, blocked.stderr
    assert json.loads(blocked.stdout)["operator"]["blocked"] is True
    capped = _cli(*api, "set-operator", op["id"], "--max-chats", "3")
    assert capped.returncode == 0 and json.loads(capped.stdout)["operator"]["max_chats"] == 3, capped.stderr
    cleared = _cli(*api, "set-operator", op["id"], "--no-max-chats")
    assert cleared.returncode == 0 and json.loads(cleared.stdout)["operator"]["max_chats"] is None, cleared.stderr
    # the only signed-in API is the default
    assert _cli("admin", "--credentials", str(signed_in), "whoami").returncode == 0
    # a refusal is the API's problem, exit 1, and nothing printed as success
    bad = _cli(*api, "set", "message_retention_days=-3")
    assert bad.returncode == 1 and "400 validation_error" in bad.stderr


def _stale(credentials: Path, dev_stack: DevStack) -> str:
    """Make the kept access token unusable (as one past its expiry is): the CLI must refresh."""
    saved = json.loads(credentials.read_text())
    refresh = saved[dev_stack.http]["refresh_token"]
    saved[dev_stack.http]["access_token"] = "e30.e30.AAAA"  # no exp: treated as expired
    credentials.write_text(json.dumps(saved))
    return refresh


def test_an_expired_access_token_is_refreshed_and_the_rotated_pair_kept(dev_stack, signed_in):
    old_refresh = _stale(signed_in, dev_stack)
    result = _cli("admin", "--api", dev_stack.http, "--credentials", str(signed_in), "whoami")
    assert result.returncode == 0, result.stderr
    kept = _kept(signed_in, dev_stack)
    assert kept["refresh_token"] != old_refresh
    assert http(dev_stack, "GET", "/auth/me", token=kept["access_token"])[0] == 200
    assert oct(signed_in.stat().st_mode & 0o777) == "0o600"
    # the rewrite leaves no temporary copy of the tokens beside the file
    assert sorted(p.name for p in signed_in.parent.iterdir()) == ["credentials.json", "credentials.json.lock"]


def test_cli_processes_refreshing_at_once_do_not_trip_reuse_detection(dev_stack, signed_in):
    # Refresh tokens rotate with reuse detection: two processes presenting the same refresh token
    # would end the whole session. The file lock makes the second one use the first's new pair.
    _stale(signed_in, dev_stack)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: _cli("admin", "--api", dev_stack.http, "--credentials",
                                                str(signed_in), "whoami"), range(4)))
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    kept = _kept(signed_in, dev_stack)
    assert http(dev_stack, "GET", "/auth/me", token=kept["access_token"])[0] == 200


def test_an_ended_session_is_forgotten_and_the_cli_says_to_sign_in_again(dev_stack, signed_in):
    kept = _kept(signed_in, dev_stack)
    assert http(dev_stack, "POST", "/auth/revoke", {"kind": "session"}, token=kept["access_token"])[0] == 200
    _stale(signed_in, dev_stack)
    result = _cli("admin", "--api", dev_stack.http, "--credentials", str(signed_in), "operators")
    assert result.returncode == 1 and "switchboard login" in result.stderr
    assert dev_stack.http not in json.loads(signed_in.read_text())
