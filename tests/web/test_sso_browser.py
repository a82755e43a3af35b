"""Single sign-on in a real browser: the back office's "Sign in with Demo SSO" against the real
OpenID provider `switchboard dev` starts for the demo tenant (npm oidc-provider), through its
sign-in page and back (#code= swapped by POST /auth/oidc/complete).

Select with ``pytest -m browser``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support")

from tests.browser_support import CHROMIUM, _missing_browser, new_page, screenshot  # noqa: E402
from tests.conftest import DevStack  # noqa: E402
from tests.oidc_support import node_ready  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.skipif(node_ready() is not None, reason=str(node_ready()))]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


@pytest.fixture(scope="module")
def demo_browser() -> Iterator[tuple[DevStack, Any]]:
    missing = _missing_browser()
    if missing:
        if os.environ.get("SWITCHBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    stack = DevStack(["--env", "RATE_LIMIT_IP=1000/20000"])
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-background-networking"])
            yield stack, browser
            browser.close()
    finally:
        assert stack.stop() == 0, stack.output[-3000:]


def test_sign_in_with_demo_sso_from_the_back_office(demo_browser):
    stack, browser = demo_browser
    page = new_page(browser)
    # Given the back office's sign-in page of the demo tenant
    page.goto(f"{stack.web}/backoffice/")
    # When the operator picks "Sign in with Demo SSO" and signs in at the company's provider
    page.get_by_role("button", name="Sign in with Demo SSO", exact=True).click()
    page.get_by_label("Login").fill("operator")
    page.get_by_label("Password").fill("demo-sso-password")
    page.get_by_role("button", name="Sign in").click()
    # Then they are back, signed in on their own record, with no code left in the address bar
    expect(page.locator("#who")).to_have_text("Otto Operator (operator)", timeout=10_000)
    assert "#code=" not in page.url and page.url.startswith(f"{stack.web}/backoffice/")
    session = page.evaluate("window.switchboardBackoffice.auth.me.session.method")
    assert session == "oidc:demo-sso"
    screenshot(page, "backoffice-sso-signed-in")
    assert page.errors == [] and page.csp_violations == [], (page.errors, page.csp_violations)


def test_a_person_nobody_invited_is_told_so_on_the_sign_in_page(demo_browser):
    stack, browser = demo_browser
    page = new_page(browser)
    page.goto(f"{stack.web}/backoffice/#error=not_invited")
    expect(page.get_by_role("alert")).to_contain_text("not invited")
    assert "#error" not in page.url
