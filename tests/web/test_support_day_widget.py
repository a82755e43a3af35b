"""The widget's support day (issue 17, contract section 8), in Debian's Chromium against
`switchboard dev`: its strings from the catalogue (English, Spanish), the page it is on sent as
context, the pre-chat form, offline hours with the email captured, the follow-up email's link
bringing the visitor back, and CSAT after the conversation closes. docs/web.md, "The support day".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support", "tests.a11y_support")

from tests.a11y_support import assert_axe_clean  # noqa: E402
from tests.browser_support import BrowserStack, screenshot  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]

PHONE = {"width": 360, "height": 640}


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def demo(stack: BrowserStack, **params: str) -> str:
    from urllib.parse import urlencode

    return stack.demo_url + ("&" + urlencode(params) if params else "")


def test_the_widget_speaks_spanish_when_the_page_asks_for_it(browser_stack, pages):
    # Given the demo page embedding the widget with data-locale="es"
    page = pages()
    page.goto(demo(browser_stack, locale="es"))
    # Then the launcher, the panel and the message box speak Spanish
    page.get_by_role("button", name="Abrir chat").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar chat").first).to_be_visible()
    expect(page.get_by_role("textbox", name="Mensaje")).to_have_attribute("placeholder", "Escribe un mensaje…")
    expect(page.locator("#sb-status")).to_have_text("Solemos responder en pocos minutos")
    # When the visitor writes, the conversation's state is said in Spanish too
    box = page.get_by_role("textbox", name="Mensaje")
    box.fill("¿Dónde está mi pedido?")
    box.press("Enter")
    expect(page.locator("#sb-status")).to_have_text("Esperando a un agente…", timeout=15_000)
    expect(page.get_by_role("button", name="Terminar chat")).to_be_visible()
    assert_axe_clean(page, "the widget in Spanish")
    assert page.errors == [], page.errors


def test_the_pages_lang_wins_over_the_browsers_language_and_an_unknown_one_falls_back_to_english(
        browser_stack, pages):
    # Given a Spanish browser on the demo page, whose <html lang="en">
    page = pages(locale="es-ES")
    page.goto(browser_stack.demo_url)
    # Then the page's language is the widget's
    expect(page.get_by_role("button", name="Open chat")).to_be_visible()
    # And a language the catalogue lacks (data-locale="xx"), on a Spanish browser, in a page whose
    # lang is removed before the widget loads, goes to the browser's language
    other = pages(locale="es-ES")

    def without_lang(route: Any) -> None:  # a host page that names no language
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace('<html lang="en">', "<html>"))

    other.route("**/demo/*", without_lang)
    other.goto(demo(browser_stack, locale="xx"))
    assert other.evaluate("document.documentElement.lang") == ""
    expect(other.get_by_role("button", name="Abrir chat")).to_be_visible()


def test_phone_sized_spanish_widget_passes_axe(browser_stack, pages):
    page = pages(viewport=PHONE)
    page.goto(demo(browser_stack, locale="es"))
    page.get_by_role("button", name=re.compile("^Abrir chat")).click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert_axe_clean(page, "the widget in Spanish on a phone")
    screenshot(page, "widget-es-phone")


# -- with the desk-visitor server side (section 8's widget settings, support.open's new fields) --

def needs_visitor(stack: BrowserStack) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{stack.http}/tenants/shop/widget", timeout=10) as r:
        if "online" not in json.loads(r.read()):
            pytest.skip("needs the desk-visitor server side (widget settings' online, pre-chat, context)")


def admin_token(stack: BrowserStack) -> str:
    from tests.browser_support import ADMIN, TENANT
    from tests.e2e.test_http import http

    return str(http(stack, "POST", "/auth/internal",
                    {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})[2]["access_token"])


@contextmanager
def tenant_settings(stack: BrowserStack, **changes: Any) -> Iterator[None]:
    """The shop's settings changed for one test (PATCH /admin/tenant), put back after it."""
    from tests.conftest import settled
    from tests.e2e.test_http import http

    token = admin_token(stack)
    status, _, body = http(stack, "PATCH", "/admin/tenant", changes, token=token)
    assert status == 200, body
    settled()
    try:
        yield
    finally:
        back = {"prechat": [], "email_when_offline": "off", "hours": None, "away_message": None,
                "locales": None}
        # the same token: signing Ada in again and again would meet the sign-in rate limit
        assert http(stack, "PATCH", "/admin/tenant", back, token=token)[0] == 200
        settled()


# An operator of this module's own, made once through the admin API: the seed's staff are
# signed in by many browser tests, and each account's sign-ins are rate limited
WES = {"email": "wes@shop.test", "password": "wes-correct-horse-battery", "name": "Wes"}


@pytest.fixture(scope="module", autouse=True)
def wes_exists(browser_stack: BrowserStack) -> None:
    from tests.e2e.test_http import http

    status, _, body = http(browser_stack, "POST", "/admin/operators",
                           {"email": WES["email"], "name": WES["name"], "password": WES["password"]},
                           token=admin_token(browser_stack))
    # (made by another module on this stack already: 409, or the 400 this server answers)
    assert status in (200, 201, 409) or "already exists" in str(body.get("detail")), body


def staff_online(stack: BrowserStack, pages: Any) -> Any:
    from tests.browser_support import sign_in

    ada = pages()
    sign_in(ada, stack, WES)
    expect(ada.locator("#conn")).to_have_text("Live")
    return ada


def write(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".log li.mine:not(.pending)", has_text=text)).to_have_count(1, timeout=15_000)


PRECHAT = [
    {"id": "name", "label": "Your name", "kind": "text", "required": True},
    {"id": "topic", "label": "Topic", "kind": "select", "options": ["Order", "Refund"], "required": True},
    {"id": "details", "label": "Anything else", "kind": "textarea"},
]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_pre_chat_form_is_asked_before_the_first_message_and_its_errors_are_announced(
        browser_stack, pages, size):
    needs_visitor(browser_stack)
    with tenant_settings(browser_stack, prechat=PRECHAT):
        ada = staff_online(browser_stack, pages)
        visitor = pages(viewport=PHONE if size == "phone" else None)
        visitor.goto(browser_stack.demo_url)
        visitor.get_by_role("button", name=re.compile("^Open chat")).click()
        # Then the tenant's fields are asked first; the message box waits
        form = visitor.get_by_role("form", name="Before we start, tell us a little about you.")
        expect(form).to_be_visible()
        expect(visitor.get_by_role("textbox", name="Message")).to_be_hidden()
        expect(form.get_by_label("Your name")).to_be_focused()
        expect(form.get_by_label("Anything else (optional)")).to_be_visible()
        # When the visitor starts without the required answers, each error is named and announced
        form.get_by_role("button", name="Start chat").click()
        expect(visitor.get_by_role("alert")).to_have_text("Please check: Your name, Topic")
        expect(form.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
        expect(form.get_by_label("Your name")).to_have_accessible_description("Your name: this field is required.")
        expect(form.get_by_label("Your name")).to_be_focused()
        assert_axe_clean(visitor, f"the pre-chat form with errors ({size})")
        if size == "phone":  # 16 px at least: no zoom on iOS when a field is tapped
            assert form.get_by_label("Your name").evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
            screenshot(visitor, "widget-prechat-phone", keep_in_docs=True)
        # When they answer, the message box comes, and the first message opens the conversation
        form.get_by_label("Your name").fill("Jo")
        form.get_by_label("Topic").select_option("Refund")
        form.get_by_role("button", name="Start chat").click()
        expect(visitor.get_by_role("textbox", name="Message")).to_be_focused()
        write(visitor, f"My mug broke ({size})")
        # Then the operator sees the answers in the visitor panel
        ada.locator(".channel", has_text=f"My mug broke ({size})").get_by_role("link").click()
        panel = ada.get_by_role("complementary", name="About the visitor")
        expect(panel).to_contain_text("Refund")
        expect(panel).to_contain_text("Jo")
        assert visitor.errors == [] and ada.errors == []


AWAY = "We're away until 9:00. Leave your email and we'll write back."


def test_offline_the_widget_says_so_and_captures_the_email_the_conversation_stays_queued(browser_stack, pages):
    needs_visitor(browser_stack)
    # Given nobody online, and a tenant that requires an email while offline
    with tenant_settings(browser_stack, email_when_offline="required", away_message=AWAY):
        visitor = pages(viewport=PHONE)
        visitor.goto(browser_stack.demo_url)
        visitor.get_by_role("button", name=re.compile("^Open chat")).click()
        # Then the away message is shown, and the email is asked for
        expect(visitor.locator(".log .away")).to_have_text(AWAY)
        # (a role query: the follow-up address control, hidden until asked for, has a "Your email" too)
        email = visitor.get_by_role("textbox", name="Your email", exact=True)
        expect(email).to_be_visible()
        expect(visitor.get_by_role("textbox", name="Message")).to_be_hidden()
        visitor.get_by_role("button", name="Start chat").click()
        expect(visitor.get_by_role("alert")).to_have_text("Please check: Your email")
        email.fill("not-an-address")
        visitor.get_by_role("button", name="Start chat").click()
        expect(email).to_have_accessible_description("Your email: enter a valid email address.")
        assert_axe_clean(visitor, "the offline form with an error (phone)")
        email.fill("jo@example.com")
        screenshot(visitor, "widget-offline-phone", keep_in_docs=True)
        visitor.get_by_role("button", name="Start chat").click()
        write(visitor, "Is the teapot back in stock?")
        # Then the conversation waits in the queue, with the address captured for the follow-up
        expect(visitor.locator("#sb-status")).to_have_text("Waiting for an operator…")
        ada = staff_online(browser_stack, pages)
        ada.get_by_role("tab", name=re.compile("^Queued")).click()
        ada.locator(".channel", has_text="Is the teapot back in stock?").get_by_role("link").click()
        expect(ada.get_by_role("complementary", name="About the visitor")).to_contain_text("jo@example.com")
        assert visitor.errors == [] and ada.errors == []


def test_after_the_conversation_closes_the_visitor_rates_it_from_the_keyboard(browser_stack, pages):
    needs_visitor(browser_stack)
    ada = staff_online(browser_stack, pages)
    visitor = pages()
    visitor.goto(browser_stack.demo_url)
    visitor.get_by_role("button", name=re.compile("^Open chat")).click()
    write(visitor, "Thanks for the help earlier")
    ada.locator(".channel", has_text="Thanks for the help earlier").get_by_role("link").click()
    ada.on("dialog", lambda d: d.accept())
    ada.locator("#close-channel").click()
    # Then the widget asks for a rating: a radio group of 1-5 and a comment
    group = visitor.get_by_role("group", name="How was this conversation?")
    expect(group).to_be_visible()
    assert_axe_clean(visitor, "the widget asking for a rating")
    visitor.get_by_role("button", name="Send rating").click()
    expect(visitor.get_by_role("alert")).to_have_text("Pick a rating from 1 to 5.")
    # the keyboard: the first option has the focus, the arrows move and choose
    expect(group.get_by_role("radio", name="1 out of 5")).to_be_focused()
    visitor.keyboard.press("ArrowRight")
    visitor.keyboard.press("ArrowRight")
    visitor.keyboard.press("ArrowRight")
    expect(group.get_by_role("radio", name="4 out of 5")).to_be_checked()
    visitor.get_by_label("Comment (optional)").fill("Quick and kind")
    visitor.get_by_role("button", name="Send rating").click()
    expect(visitor.locator(".log .sys")).to_contain_text(["Thank you for your rating."])
    expect(group).to_be_hidden()
    # And staff see it on the conversation
    expect(ada.get_by_role("complementary", name="About the visitor")).to_contain_text("4/5 - Quick and kind")
    assert visitor.errors == [] and ada.errors == []


def outbox_link(stack: BrowserStack, to: str, timeout: float) -> str:
    """The resume link of the newest follow-up mail to ``to`` in the local outbox (polled)."""
    import json
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{stack.web}/outbox/messages.json", timeout=10) as r:
            for mail in json.loads(r.read()):
                found = re.search(r"https?://\S+[?&]resume=[^\s&#]+\S*", mail["text"]) if to in mail["to"] else None
                if found:
                    return found.group(0)
        time.sleep(1)
    raise AssertionError(f"no follow-up mail to {to} within {timeout} s")


def local_scheduler() -> bool:
    """Whether `switchboard dev` runs the template's scheduled functions (FollowupMail's
    rate(1 minute)): desk-staff's local scheduler."""
    from tests.conftest import ROOT

    return any((ROOT / "src" / "switchboard_local").glob("*schedul*.py"))


def test_a_reply_reaches_the_visitors_email_and_its_link_brings_them_back_once(browser_stack, pages):
    needs_visitor(browser_stack)
    if not local_scheduler():
        pytest.skip("needs desk-staff's local scheduler: switchboard dev does not run FollowupMail yet")
    with tenant_settings(browser_stack, email_when_offline="optional"):
        # Given a visitor who wrote while nobody was online, leaving their email, then left
        visitor = pages()
        visitor.goto(browser_stack.demo_url)
        visitor.get_by_role("button", name=re.compile("^Open chat")).click()
        visitor.get_by_label("Your email (optional)").fill("ana@example.com")
        visitor.get_by_role("button", name="Start chat").click()
        write(visitor, "Do you gift-wrap orders?")
        visitor.context.close()
        # When an operator comes and answers
        ada = staff_online(browser_stack, pages)
        ada.get_by_role("tab", name=re.compile("^Queued")).click()
        ada.locator(".channel", has_text="Do you gift-wrap orders?").get_by_role("link").click()
        ada.get_by_role("button", name="Claim").click()
        reply = ada.get_by_role("textbox", name="Reply")
        reply.fill("Yes - for 2 euros, with a card.")
        reply.press("Enter")
        # Then the visitor's email has the reply and a link back (the local outbox)
        link = outbox_link(browser_stack, "ana@example.com", timeout=60)
        # (the page they wrote from: its context.url, on one of the tenant's origins)
        assert link.startswith(browser_stack.demo_url + "&resume="), link
        token_query = "resume=" + link.split("&resume=", 1)[1]
        # When they open it, they are in the same conversation, and the token leaves the address bar
        back = pages()
        back.goto(link)
        expect(back.get_by_role("dialog")).to_be_visible()
        expect(back.locator(".log li.theirs")).to_contain_text(["Yes - for 2 euros, with a card."])
        expect(back.locator(".log li.mine")).to_contain_text(["Do you gift-wrap orders?"])
        assert "resume=" not in back.url
        write(back, "Lovely, thanks!")
        expect(ada.locator("#messages")).to_contain_text("Lovely, thanks!")
        # And the link does not work twice
        again = pages()
        again.goto(f"{browser_stack.demo_url}&{token_query}")
        expect(again.locator(".log .sys")).to_contain_text(["This link has expired or was already used."])
        assert "resume=" not in again.url
        assert back.errors == [] and ada.errors == [] and again.errors == []
