"""Account recovery in a real browser (issue 16): "Forgot password?" -> the mail in the local
outbox -> the reset page -> signing in with the new password; and a TOTP recovery code, shown
once at enrolment, signing in in place of the app's code.

Select with ``pytest -m browser``.
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support")

from tests.browser_support import ADMIN, TENANT, sign_in, submit_sign_in  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def _api(stack: Any, path: str, body: Any, token: str | None = None) -> Any:
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(stack.http + path, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _new_operator(stack: Any, email: str, name: str, password: str) -> dict[str, str]:
    admin = _api(stack, "/auth/internal", {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
    _api(stack, "/admin/operators", {"email": email, "name": name, "password": password}, admin["access_token"])
    return {"email": email, "name": name, "password": password}


def test_a_forgotten_password_is_reset_from_the_mailed_link(browser_stack, pages):
    rita = _new_operator(browser_stack, "rita@shop.test", "Rita", "rita-first-password")
    # When Rita asks for a reset link from the sign-in page
    page = pages()
    page.goto(browser_stack.backoffice_url)
    page.get_by_role("button", name="Forgot password?").click()
    page.get_by_label("E-mail").fill(rita["email"])
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator("#forgot-status")).to_contain_text("a reset link is on its way")
    # Then the local outbox holds her mail, with the link in full
    with urllib.request.urlopen(f"{browser_stack.web}/outbox/messages.json", timeout=10) as r:
        mail = next(m for m in json.loads(r.read()) if m["to"] == rita["email"])
    link = re.search(r"http://\S+#reset=\S+", mail["text"]).group(0)
    # When she opens it and chooses a new password
    reader = pages()
    reader.goto(link)
    reader.get_by_label("New password", exact=True).fill("rita-second-password")
    reader.get_by_label("Repeat it").fill("rita-second-password")
    reader.get_by_role("button", name="Set new password").click()
    # Then she is asked to sign in with it, the link is gone from the address bar, and it works
    expect(reader.get_by_role("alert")).to_contain_text("Your password was changed")
    assert "#reset=" not in reader.url
    submit_sign_in(reader, {**rita, "password": "rita-second-password"})
    expect(reader.locator("#who")).to_have_text("Rita (operator)")
    # And the link does not work twice
    again = pages()
    again.goto(link)
    again.get_by_label("New password", exact=True).fill("rita-third-password1")
    again.get_by_label("Repeat it").fill("rita-third-password1")
    again.get_by_role("button", name="Set new password").click()
    expect(again.get_by_role("alert")).to_contain_text("not valid any more")
    assert page.errors == [] and reader.errors == [] and again.errors == []


def test_a_recovery_code_shown_at_enrolment_signs_in_without_the_app(browser_stack, pages):
    import pyotp

    ruth = _new_operator(browser_stack, "ruth@shop.test", "Ruth", "ruth-correct-horse")
    page = pages()
    sign_in(page, browser_stack, ruth)
    expect(page.locator("#who")).to_have_text("Ruth (operator)")
    # When she turns two-step verification on
    page.get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Set up two-step verification").click()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    # Then her ten recovery codes are shown, once
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    first = codes.nth(0).inner_text().strip()
    assert re.fullmatch(r"[2-9A-Z]{4}(-[2-9A-Z]{4}){3}", first), first
    # And with her phone lost, one of them signs her in
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, browser_stack, ruth)
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    page.get_by_role("button", name="Use a recovery code instead").click()
    page.get_by_label("Recovery code").fill(first)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#who")).to_have_text("Ruth (operator)")
    # but not twice
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, browser_stack, ruth)
    page.get_by_role("button", name="Use a recovery code instead").click()
    page.get_by_label("Recovery code").fill(first)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid or was used already")
    assert page.errors == []


def test_an_admin_approves_a_command_line_sign_in_from_its_link(browser_stack, pages):
    # Given the command line asked for a device sign-in
    got = _api(browser_stack, "/auth/device", {"tenant": TENANT})
    # When an admin opens the link it shows and approves
    page = pages()
    page.goto(got["verification_uri_complete"])
    submit_sign_in(page, ADMIN)
    expect(page.get_by_label("Code shown by the command line")).to_have_value(got["user_code"])
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#device-status")).to_contain_text("is now signed in as you")
    # Then the command line's poll gets the admin's tokens
    tokens = _api(browser_stack, "/auth/device/token",
                  {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": got["device_code"]})
    assert tokens["user"]["role"] == "admin" and tokens["user"]["name"] == ADMIN["name"]
    assert page.errors == []
