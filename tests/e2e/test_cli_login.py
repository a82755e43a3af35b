"""`switchboard login --api URL` (RFC 8628 device sign-in) against a running `switchboard dev`:
the CLI shows a code, an admin approves it, the CLI keeps the admin's session (0600)."""

from __future__ import annotations

import json
import re
import stat
import subprocess

import pytest

from tests.conftest import ADMIN, TENANT, DevStack, switchboard_command
from tests.e2e.test_http import http

pytestmark = pytest.mark.e2e


def test_the_cli_signs_in_as_the_admin_who_approves_its_code(dev_stack: DevStack, tmp_path):
    credentials = tmp_path / "credentials.json"
    proc = subprocess.Popen([*switchboard_command(), "login", "--api", dev_stack.http, "--tenant", TENANT,
                             "--credentials", str(credentials)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        code = re.search(r"enter the code ([A-Z]{4}-[A-Z]{4})", first + proc.stdout.readline())
        assert code, first
        # When the admin approves it in the back office's API
        _, _, ana = http(dev_stack, "POST", "/auth/internal",
                         {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
        status, _, body = http(dev_stack, "POST", "/auth/device/approve", {"user_code": code.group(1)},
                               token=ana["access_token"])
        assert status == 200, body
        # Then the CLI's next poll signs it in, and the session is kept for the admin only (0600)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "Signed in" in out and "(admin)" in out
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    kept = json.loads(credentials.read_text())[dev_stack.http]
    status, _, me = http(dev_stack, "GET", "/auth/me", token=kept["access_token"])
    assert status == 200 and me["session"]["method"] == "device" and me["user"]["role"] == "admin"
    assert kept["access_token"] not in out and kept["refresh_token"] not in out


def test_a_denied_code_leaves_the_cli_signed_out(dev_stack: DevStack, tmp_path):
    credentials = tmp_path / "credentials.json"
    proc = subprocess.Popen([*switchboard_command(), "login", "--api", dev_stack.http,
                             "--credentials", str(credentials)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert proc.stdout is not None
        lines = proc.stdout.readline() + proc.stdout.readline()
        code = re.search(r"enter the code ([A-Z]{4}-[A-Z]{4})", lines).group(1)
        _, _, ana = http(dev_stack, "POST", "/auth/internal",
                         {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
        assert http(dev_stack, "POST", "/auth/device/approve", {"user_code": code, "action": "deny"},
                    token=ana["access_token"])[0] == 200
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1 and "denied" in out
    assert not credentials.exists()
