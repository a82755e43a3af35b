"""The widget's ``Switchboard.identify({token})`` (issue 16, section 3): the website hands over
its own JWT, the widget exchanges it (POST /auth/exchange) and the anonymous conversation comes
along. A `switchboard dev` of its own, whose tenant trusts a real issuer (a JWKS on loopback).

Select with ``pytest -m browser``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.register_assert_rewrite("tests.browser_support")

from tests.browser_support import WIDGET  # noqa: E402
from tests.conftest import DevStack  # noqa: E402
from tests.jwks_server import Issuer, jwks_server  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]

SITE = "site"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevStack, Issuer]]:
    with jwks_server() as server:
        issuer = server.issuer("site")

        def seed(origins: list[str]) -> dict[str, Any]:
            return {"tenants": [{"id": SITE, "name": "The Site", "identity_secret": "site-identity-secret-0123456789",
                                 "hook_secret": "site-hook-secret-0123456789ab", "allowed_origins": origins,
                                 "widget": WIDGET, "trusted_issuers": [issuer.config()]}]}

        stack = DevStack([], seed_for=seed, seed_dir=tmp_path_factory.mktemp("site"))
        try:
            yield stack, issuer
        finally:
            assert stack.stop() == 0


def test_identify_with_the_sites_own_token_carries_the_conversation_over(site, pages):
    stack, issuer = site
    page = pages()
    page.goto(f"{stack.web}/demo/?" + urlencode({"api": stack.http, "ws": stack.ws, "tenant": SITE}))
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    box = page.get_by_role("textbox", name="Message")
    box.fill("asked before signing in")
    box.press("Enter")
    expect(page.locator(".log li.mine:not(.pending)")).to_contain_text(["asked before signing in"])
    # When the site identifies the visitor with its own JWT
    page.evaluate("t => Switchboard.identify({token: t})", issuer.token(sub="member-5", name="Mo"))
    # Then the widget's session is the exchanged visitor's (level 1, the x- id)
    key = f"switchboard:{SITE}:{stack.http}"
    expect(page.locator(".log li.mine")).to_contain_text(["asked before signing in"])
    page.wait_for_function(f"JSON.parse(localStorage.getItem('{key}')).user.anonymous === false")
    user = page.evaluate(f"JSON.parse(localStorage.getItem('{key}')).user")
    assert user["id"].startswith("x-member-5-") and user["level"] == 1 and user["name"] == "Mo"
    # And the conversation begun anonymously came along
    page.reload()
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    expect(page.locator(".log li.mine")).to_contain_text(["asked before signing in"])
    # And a token of another audience is refused: the visitor stays who they were
    page.evaluate("t => Switchboard.identify({token: t})", issuer.token(sub="member-6", aud="elsewhere"))
    page.wait_for_timeout(500)
    assert page.evaluate(f"JSON.parse(localStorage.getItem('{key}')).user.id") == user["id"]
    assert page.errors == [], page.errors
