"""What the pages guard against, in a real browser: markup in what people type (shown as text,
never run as HTML), two tabs sharing a visitor's session, a revoked session, a link or a role
reaching what it should not.

Select with ``pytest -m browser``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.register_assert_rewrite("tests.browser_support")  # it is also a plugin (below): rewrite it once

from tests.browser_support import (  # noqa: E402
    GALLERY,
    GALLERY_SECRET,
    GIL,
    MAX,
    TENANT,
    BrowserStack,
    submit_sign_in,
)
from tests.web.test_widget_and_backoffice import has_written, open_widget, session_is_live, signed_in_as, write  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]  # the fixtures: one stack and one browser for all browser tests

MARKUP = "<b>bold</b> & <i>slanted</i>"  # what an attacker's <script>/<img onerror> would ride in on


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def no_markup_in(locator: Any) -> None:
    """Nothing typed by a person became an element: the page built no <b> or <i> of its own."""
    expect(locator.locator("b, i")).to_have_count(0)


def test_what_visitors_and_operators_type_is_shown_as_text_never_as_markup(browser_stack, pages):
    # Given a known visitor whose name, message and file name are markup (tenant allowing attachments)
    visitor = pages()
    visitor.goto(f"{browser_stack.web}/demo/?"
                 + urlencode({"api": browser_stack.http, "ws": browser_stack.ws, "tenant": GALLERY}))
    digest = hmac.new(GALLERY_SECRET.encode(), b"collector-7", hashlib.sha256).hexdigest()
    visitor.evaluate("u => Switchboard.identify(u)", {"id": "collector-7", "name": "<b>Bea</b>", "hash": digest})
    visitor.get_by_role("button", name=re.compile("^Open chat")).click()

    # When the visitor writes it and attaches a file named with it
    write(visitor, MARKUP)
    expect(visitor.locator(".log li.mine:not(.pending)")).to_contain_text([MARKUP])
    with visitor.expect_file_chooser() as chooser:
        visitor.get_by_role("button", name="Attach a file").click()
    chooser.value.set_files({"name": "<i>plan</i>.txt", "mimeType": "text/plain", "buffer": b"the plan"})

    # Then the widget shows it all as the characters typed
    expect(visitor.locator(".log li.mine:not(.pending) .att")).to_contain_text(["📎 <i>plan</i>.txt"])
    no_markup_in(visitor.locator(".log"))

    # And so does the back office: the list, the conversation's title, the sender, the text, the file
    operator = pages()
    operator.goto(f"{browser_stack.web}/backoffice/?tenant={GALLERY}")
    submit_sign_in(operator, MAX)
    operator.get_by_role("tab", name=re.compile("^Queued")).click()
    item = operator.locator(".channel", has_text="<b>Bea</b>")
    expect(item.locator(".title")).to_have_text("<b>Bea</b>")
    expect(item.locator(".preview")).to_contain_text("<b>Bea</b>: <i>plan</i>.txt")
    item.get_by_role("link").click()
    expect(operator.locator("#conv-title")).to_have_text("<b>Bea</b>")
    messages = operator.locator("#messages")
    expect(messages.locator(".from")).to_have_text(["<b>Bea</b>", "<b>Bea</b>"])
    expect(messages.locator(".text").first).to_have_text(MARKUP)
    expect(operator.get_by_role("button", name="Download <i>plan</i>.txt")).to_have_text("📎 <i>plan</i>.txt")
    no_markup_in(operator.locator("#app"))

    # And the operator's reply, markup too, reaches the visitor as text, and so does the
    # operator's name (markup too): beside the reply and in the header
    operator.get_by_role("button", name="Claim").click()
    operator.get_by_role("textbox", name="Reply").fill("<i>noted</i>")
    operator.get_by_role("textbox", name="Reply").press("Enter")
    expect(visitor.locator(".log li.theirs")).to_contain_text(["<i>noted</i>"])
    expect(visitor.locator(".log li.theirs .who")).to_have_text(["<b>Max</b>"])
    expect(visitor.locator("#sb-status")).to_have_text("You're chatting with <b>Max</b>")
    no_markup_in(visitor.locator("header, .status"))
    no_markup_in(visitor.locator(".log"))
    no_markup_in(operator.locator("#app"))
    for page in (visitor, operator):
        assert page.errors == [], page.errors


def key_of(stack: BrowserStack) -> str:
    return f"switchboard:{TENANT}:{stack.http}"


def test_tabs_sharing_a_visitors_session_renew_it_one_at_a_time(browser_stack, pages):
    # Given a visitor in a conversation in one tab, and a second tab of the same site (same
    # localStorage: the same session and refresh token), with the browser's clock under control
    first = pages()
    first.clock.install()
    first.goto(browser_stack.demo_url)
    open_widget(first)
    write(first, "from the first tab")
    expect(first.locator(".log li.mine:not(.pending)")).to_have_count(1)
    second = first.context.new_page()
    second.goto(browser_stack.demo_url)
    open_widget(second)
    expect(second.locator(".log li.mine")).to_contain_text(["from the first tab"])
    key = json.dumps(key_of(browser_stack))
    before = first.evaluate(f"JSON.parse(localStorage.getItem({key}))")
    refreshes: list[int] = []
    for page in (first, second):
        page.on("response", lambda r: refreshes.append(r.status) if r.url.endswith("/auth/refresh") else None)

    # And each tab's copy of localStorage lagging behind the other's writes, as Chromium's may: it
    # carries localStorage between tabs' processes asynchronously (held here, so that the race
    # the widget must survive happens every time, not now and then)
    lagging = f"""() => {{
        const key = {key}, held = localStorage.getItem(key), real = Storage.prototype.getItem;
        window.realGetItem = (k) => real.call(localStorage, k);
        Storage.prototype.getItem = function (k) {{ return k === key ? held : real.call(this, k); }};
    }}"""
    for page in (first, second):
        page.evaluate(lagging)

    # When both tabs come to renew it at the same moment (the access token lives 15 minutes)
    first.clock.fast_forward("14:30")

    # Then the refresh token was presented once: the second tab took the first one's new tokens
    # (two tabs presenting one refresh token is reuse, which ends the session), and the visitor
    # is still the same one, in the same conversation, with a live session
    first.wait_for_function(f"JSON.parse(window.realGetItem({key})).refresh_token !== "
                            f"{json.dumps(before['refresh_token'])}")
    first.wait_for_timeout(1000)
    assert refreshes == [200], refreshes
    after = first.evaluate(f"JSON.parse(window.realGetItem({key}))")
    assert (after["user"]["id"], after["channel_id"]) == (before["user"]["id"], before["channel_id"])
    assert session_is_live(browser_stack, after["access_token"])
    write(second, "from the second tab")
    expect(second.locator(".log li.mine:not(.pending)")).to_have_count(2)
    assert first.errors == [], first.errors


def renewal_held(page: Any, stack: BrowserStack, hold: Any) -> list[Any]:
    """A visitor who has written, on a page whose clock is then moved to when the tokens are
    renewed; each POST /auth/refresh is given to ``hold(route)`` and what it returns kept.
    Returns those, once the first renewal is held."""
    page.clock.install()
    has_written(page, stack, "hello")
    held: list[Any] = []
    page.route("**/auth/refresh", lambda route: held.append(hold(route)))
    page.clock.fast_forward("14:30")  # the access token lives 15 minutes
    for _ in range(100):
        if held:
            return held
        page.wait_for_timeout(50)
    raise AssertionError("no renewal was sent")


def test_a_renewal_that_fails_after_logout_starts_no_new_session(browser_stack, pages):
    # Given a visitor whose tokens are being renewed (the request held back on its way)
    page = pages()
    held = renewal_held(page, browser_stack, lambda route: route)
    assert len(held) == 1
    sign_ins: list[str] = []
    page.on("request", lambda r: sign_ins.append(r.url) if r.url.endswith("/auth/external") else None)
    # When the page logs the visitor out while the renewal is on its way
    page.evaluate("() => Switchboard.logout()")  # ends the session the renewal is for
    held[0].continue_()  # which the API now refuses: 401
    page.wait_for_timeout(1000)
    # Then the widget stays signed out: no new session is started behind the page's back
    assert sign_ins == []
    assert signed_in_as(page, browser_stack) is None
    assert page.errors == [], page.errors


def test_a_renewal_the_api_granted_before_logout_is_not_adopted_after_it(browser_stack, pages):
    # Given a visitor whose tokens were renewed (new tokens granted), the answer held back
    page = pages()
    route, answer = renewal_held(page, browser_stack, lambda route: (route, route.fetch()))[0]
    assert answer.status == 200
    # When the page logs the visitor out before the answer arrives
    page.evaluate("() => Switchboard.logout()")
    route.fulfill(response=answer)
    page.wait_for_timeout(1000)
    # Then the widget stays signed out: the late tokens are not taken up
    assert signed_in_as(page, browser_stack) is None
    assert page.errors == [], page.errors


def test_a_revoked_visitor_session_signs_the_widget_out(browser_stack, pages):
    import urllib.request

    # Given a visitor in a conversation
    page = pages()
    page.goto(browser_stack.demo_url)
    open_widget(page)
    write(page, "before the revocation")
    expect(page.locator(".log li.mine:not(.pending)")).to_have_count(1)
    stored = json.loads(page.evaluate(f"localStorage.getItem({json.dumps(key_of(browser_stack))})"))

    # When their session is revoked server-side
    req = urllib.request.Request(browser_stack.http + "/auth/revoke", method="POST",
                                 data=json.dumps({"kind": "session"}).encode(),
                                 headers={"authorization": f"Bearer {stored['access_token']}",
                                          "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10):
        pass

    # Then the widget signs out at once (auth.revoked): the session is forgotten, the conversation cleared
    expect(page.locator(".log .sys")).to_have_text("You were signed out. Write again to start a new conversation.")
    assert signed_in_as(page, browser_stack) is None
    expect(page.locator(".log li.mine")).to_have_count(0)
    assert page.errors == [], page.errors


def test_an_operator_sees_no_admin_pages_and_the_api_refuses_them_anyway(browser_stack, pages):
    # Given an operator (not an admin) signed in to the back office
    page = pages()
    page.goto(f"{browser_stack.web}/backoffice/?tenant={GALLERY}")
    submit_sign_in(page, GIL)
    expect(page.locator("#who")).to_have_text("Gil (operator)")
    # Then the admin pages are not in the navigation, only their own sessions
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link")).to_have_text(["Inbox", "Team", "Security", "Sessions"])
    # And a link straight to one shows the inbox instead
    for view in ("operators", "events"):
        page.goto(f"{browser_stack.web}/backoffice/#/{view}")
        expect(page.get_by_role("tab", name=re.compile("^Assigned to me"))).to_be_visible()
        expect(page.get_by_role("heading", name=re.compile("^(Operators|Audit log)$"))).to_have_count(0)
    # And the API refuses the operator what the page hides
    status = page.evaluate("""async () => {
        const t = window.switchboardBackoffice.auth.tokens.access_token;
        const api = JSON.parse(await (await fetch("/switchboard-config.json")).text()).api;
        return (await fetch(api + "/admin/operators", {headers: {authorization: "Bearer " + t}})).status;
    }""")
    assert status == 403
    assert page.errors == [], page.errors
