"""The widget's support day (issue 17, contract section 8), in Debian's Chromium against
`switchboard dev`: its strings from the catalogue (English, Spanish), the page it is on sent as
context, the pre-chat form, offline hours with the email captured, the follow-up email's link
bringing the visitor back, and CSAT after the conversation closes. docs/web.md, "The support day".
"""

from __future__ import annotations

import re
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
