"""The local outbox on a running `switchboard dev` (contract section 7): the mail sent through
moto's SES, as a page and as JSON, and a reset link from it that works."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.conftest import ADMIN, TENANT, DevStack
from tests.e2e.test_http import http

pytestmark = pytest.mark.e2e


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def test_the_outbox_url_is_printed_at_start(dev_stack: DevStack):
    assert f"{dev_stack.web}/outbox/" in dev_stack.output


def test_a_reset_link_from_the_outbox_sets_the_password(dev_stack: DevStack):
    # Given an operator of this stack's tenant
    _, _, ana = http(dev_stack, "POST", "/auth/internal",
                     {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
    email = "riley.outbox@acme.test"
    status, _, _ = http(dev_stack, "POST", "/admin/operators",
                        {"email": email, "name": "Riley", "password": "riley-first-password"},
                        token=ana["access_token"])
    assert status == 201
    # When Riley asks for a reset link
    status, _, body = http(dev_stack, "POST", "/auth/password/forgot", {"tenant": TENANT, "email": email})
    assert (status, body) == (202, {"accepted": True})
    # Then the outbox's newest message is to Riley, its link whole, pointing at this stack's back office
    status, headers, raw = _get(f"{dev_stack.web}/outbox/messages.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    newest = json.loads(raw)[0]
    assert set(newest) == {"to", "subject", "text", "sent_at"} and newest["to"] == email
    link = re.search(r"(http://\S+#reset=(\S+))", newest["text"])
    assert link and link.group(1).startswith(f"{dev_stack.web}/backoffice/#reset=sbp1.")
    # And the page shows it as a link
    status, headers, page = _get(f"{dev_stack.web}/outbox/")
    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    assert f'href="{link.group(1)}"' in page.decode()
    # And the link's token sets the password, once
    status, _, body = http(dev_stack, "POST", "/auth/password/reset",
                           {"token": link.group(2), "password": "riley-second-password"})
    assert status == 200, body
    status, _, _ = http(dev_stack, "POST", "/auth/internal",
                        {"tenant": TENANT, "email": email, "password": "riley-second-password"})
    assert status == 200
    status, _, body = http(dev_stack, "POST", "/auth/password/reset",
                           {"token": link.group(2), "password": "riley-third-password"})
    assert status == 401 and body["code"] == "invalid_token"
