"""Contract section 7's SSO, black-box on `switchboard dev`: the demo tenant's "Demo SSO" is a
real OpenID provider (npm oidc-provider) the stack starts, signed in at over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode

import pytest
import requests

from tests.conftest import DevStack
from tests.oidc_support import node_ready, sign_in_at_provider

pytestmark = pytest.mark.skipif(node_ready() is not None, reason=str(node_ready()))


@pytest.fixture(scope="module")
def demo() -> Iterator[DevStack]:
    stack = DevStack([])
    yield stack
    assert stack.stop() == 0, stack.output[-3000:]


def test_the_banner_names_the_demo_sso_and_its_people(demo):
    assert "Demo SSO       http://127.0.0.1:" in demo.output
    assert "operator / demo-sso-password  (operator@demo.test)" in demo.output


def test_sign_in_with_demo_sso_end_to_end(demo):
    browser = requests.Session()
    providers = browser.get(f"{demo.http}/auth/providers", params={"tenant": "demo"}, timeout=10).json()
    assert providers["providers"] == [{"id": "demo-sso", "kind": "oidc", "name": "Demo SSO"}]
    # the back office sends the browser to authorize, with itself as return_to
    return_to = f"{demo.web}/backoffice/"
    started = browser.get(f"{demo.http}/auth/oidc/demo-sso/authorize?" + urlencode(
        {"tenant": "demo", "return_to": return_to}), allow_redirects=False, timeout=10)
    assert started.status_code == 302, started.text
    callback = f"{demo.http}/auth/oidc/demo-sso/callback"
    back = sign_in_at_provider(started.headers["location"], login="operator", password="demo-sso-password",
                               until=callback, browser=browser)
    done = browser.get(callback, params=back, allow_redirects=False, timeout=10)  # with the browser's cookie
    assert done.status_code == 302 and done.headers["location"].startswith(return_to + "#code="), done.headers
    code = parse_qs(done.headers["location"].split("#", 1)[1])["code"][0]
    tokens = requests.post(f"{demo.http}/auth/oidc/complete", json={"code": code}, timeout=10).json()
    me = requests.get(f"{demo.http}/auth/me", headers={"authorization": f"Bearer {tokens['access_token']}"},
                      timeout=10).json()
    # the demo operator's own record, signed in by SSO
    assert me["user"]["name"] == "Otto Operator" and me["session"]["method"] == "oidc:demo-sso"
    # and the same callback from another browser (no cookie) is refused
    again = browser.get(f"{demo.http}/auth/oidc/demo-sso/authorize?" + urlencode(
        {"tenant": "demo", "return_to": return_to}), allow_redirects=False, timeout=10)
    back = sign_in_at_provider(again.headers["location"], login="operator", password="demo-sso-password",
                               until=callback, browser=browser)
    stranger = requests.get(callback, params=back, allow_redirects=False, timeout=10)
    assert stranger.headers["location"] == return_to + "#error=invalid_state"
