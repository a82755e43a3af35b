"""The widget's languages among the tenant's `locales`, and the visitor's control to change where
follow-up mail goes (issue 17), in Debian's Chromium against `switchboard dev`. docs/web.md,
"The widget's languages" and "The support day" (the follow-up address, the page the link opens).
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support", "tests.a11y_support")

from tests.a11y_support import assert_axe_clean  # noqa: E402
from tests.browser_support import BrowserStack  # noqa: E402
from tests.web.test_support_day_widget import (  # noqa: E402
    demo,
    expect,
    outbox_link,
    staff_online,
    tenant_settings,
    wes_exists,  # noqa: F401 (the module's operator, made once: a fixture used here too)
    write,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]


def launcher(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=re.compile(f"^{name}"))


@pytest.mark.parametrize(("locales", "language", "asked", "speaks"), [
    # a tenant offering Spanish only: an English page (<html lang="en">) in an English browser
    # gets Spanish, the first (and only) language the tenant lists
    (["es"], "en-US", None, "es"),
    # a tenant offering English only: the page's data-locale="es" and the Spanish browser are not
    # among them
    (["en"], "es-ES", "es", "en"),
    # Spanish first: a page asking for French (which the catalogue lacks) in a French browser
    # gets the page's <html lang="en">, which the tenant offers too
    (["es", "en"], "fr-FR", "fr", "en"),
    # both: what the page asks for, among them, wins as before
    (["en", "es"], "en-US", "es", "es"),
])
def test_the_widget_speaks_only_a_language_the_tenant_offers(browser_stack, pages, locales, language, asked, speaks):
    with tenant_settings(browser_stack, locales=locales):
        # Given the tenant's languages and a page (and browser) wanting another or one of them
        page = pages(locale=language)
        page.goto(demo(browser_stack, **({"locale": asked} if asked else {})))
        # Then the launcher, the panel and the message box speak the one picked
        words = {"es": ("Abrir chat", "Cerrar chat", "Mensaje", "Escribe un mensaje…"),
                 "en": ("Open chat", "Close chat", "Message", "Write a message…")}[speaks]
        launcher(page, words[0]).click()
        expect(page.get_by_role("dialog")).to_be_visible()
        expect(page.get_by_role("button", name=words[1]).first).to_be_visible()
        expect(page.get_by_role("textbox", name=words[2])).to_have_attribute("placeholder", words[3])
        if speaks == "es":
            expect(page.locator("#sb-status")).to_have_text("Solemos responder en pocos minutos")
            assert_axe_clean(page, f"the widget in Spanish, tenant locales {locales}")
        assert page.errors == [], page.errors


def mails_to(stack: BrowserStack, to: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.web}/outbox/messages.json", timeout=10) as r:
        return [m for m in json.loads(r.read()) if to in m["to"]]


def test_the_visitor_changes_the_follow_up_email_and_the_next_mail_goes_there(browser_stack, pages):
    tag = uuid.uuid4().hex[:8]
    old, new = f"old-{tag}@example.com", f"new-{tag}@example.com"
    # Given a visitor in a conversation, no follow-up address yet
    visitor = pages()
    visitor.goto(browser_stack.demo_url)
    launcher(visitor, "Open chat").click()
    write(visitor, f"Where is parcel {tag}?")
    bar = visitor.locator(".bar.mail")
    expect(bar.get_by_role("status")).to_have_text("Want replies by email too?")
    # When they add an address with the keyboard
    add = visitor.get_by_role("button", name="Add email")
    add.focus()
    visitor.keyboard.press("Enter")
    field = visitor.get_by_role("textbox", name="Your email")
    expect(field).to_be_focused()
    field.fill(old)
    visitor.keyboard.press("Enter")
    # Then it is said (a status, announced), and the focus is back on the button
    expect(bar.get_by_role("status")).to_have_text(f"We'll email replies to {old}")
    change = visitor.get_by_role("button", name="Change email")
    expect(change).to_be_focused()
    # When they change it to something that is not an address
    visitor.keyboard.press("Enter")
    expect(field).to_be_focused()
    expect(field).to_have_value(old)
    field.fill("not an address")
    visitor.get_by_role("button", name="Save email").click()
    # Then the error is announced, named beside the field, and nothing changed
    expect(bar.get_by_role("alert")).to_have_text("Your email: enter a valid email address.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description("Your email: enter a valid email address.")
    expect(field).to_be_focused()
    assert_axe_clean(visitor, "the widget's follow-up address with an error")
    # And Cancel leaves it as it was, the focus back on the button
    visitor.get_by_role("button", name="Cancel").click()
    expect(change).to_be_focused()
    expect(bar.get_by_role("status")).to_have_text(f"We'll email replies to {old}")
    # When they change it to the new address
    change.click()
    field.fill(new)
    visitor.get_by_role("button", name="Save email").click()
    expect(bar.get_by_role("status")).to_have_text(f"We'll email replies to {new}")
    expect(field).to_be_hidden()
    # And leave; an operator answers
    visitor.context.close()
    ada = staff_online(browser_stack, pages)
    ada.get_by_role("tab", name=re.compile("^Queued")).click()
    ada.locator(".channel", has_text=f"Where is parcel {tag}?").get_by_role("link").click()
    ada.get_by_role("button", name="Claim").click()
    # (staff see the address the visitor set)
    expect(ada.get_by_role("complementary", name="About the visitor")).to_contain_text(new)
    reply = ada.get_by_role("textbox", name="Reply")
    reply.fill(f"Parcel {tag} is on its way.")
    reply.press("Enter")
    # Then the follow-up mail goes to the new address, never the old one
    link = outbox_link(browser_stack, new, timeout=60)
    assert "resume=" in link
    (mail,) = mails_to(browser_stack, new)
    assert f"Parcel {tag} is on its way." in mail["text"]
    assert mails_to(browser_stack, old) == []
    assert ada.errors == []


def test_the_follow_up_address_control_in_spanish_passes_axe(browser_stack, pages):
    # Given a Spanish widget in a conversation
    visitor = pages()
    visitor.goto(demo(browser_stack, locale="es"))
    launcher(visitor, "Abrir chat").click()
    box = visitor.get_by_role("textbox", name="Mensaje")
    box.fill("¿Tenéis envío gratis?")
    box.press("Enter")
    expect(visitor.locator(".log li.mine:not(.pending)")).to_have_count(1, timeout=15_000)
    # Then the control speaks Spanish, and with its form open and in error it passes axe
    bar = visitor.locator(".bar.mail")
    expect(bar.get_by_role("status")).to_have_text("¿Quieres las respuestas también por correo?")
    visitor.get_by_role("button", name="Añadir correo").click()
    field = visitor.get_by_role("textbox", name="Tu correo electrónico")
    field.fill("x@")
    visitor.get_by_role("button", name="Guardar correo").click()
    expect(bar.get_by_role("alert")).to_have_text("Tu correo electrónico: escribe un correo electrónico válido.")
    assert_axe_clean(visitor, "the widget's follow-up address in Spanish")
    visitor.get_by_role("button", name="Cancelar").click()
    expect(visitor.get_by_role("button", name="Añadir correo")).to_be_focused()
    # And an editor left open when the conversation ends is closed for the next one
    visitor.get_by_role("button", name="Añadir correo").click()
    visitor.get_by_role("button", name="Terminar chat").click()
    visitor.get_by_role("button", name="Sí, terminar").click()
    expect(bar).to_be_hidden()
    visitor.get_by_role("button", name="Nueva conversación").click()
    box.fill("Otra pregunta")
    box.press("Enter")
    expect(bar.get_by_role("button", name="Añadir correo")).to_be_visible(timeout=15_000)
    expect(field).to_be_hidden()
    assert visitor.errors == [], visitor.errors


def test_an_admin_sets_the_widgets_languages_on_the_settings_page(browser_stack, pages):
    from tests.browser_support import ADMIN, sign_in
    from tests.conftest import settled
    from tests.e2e.test_http import http
    from tests.web.test_support_day_widget import admin_token

    admin = pages()
    sign_in(admin, browser_stack, ADMIN)
    admin.get_by_role("link", name="Settings").click()
    field = admin.get_by_label("Widget languages")
    expect(field).to_have_value("")  # never set: every language the widget has
    expect(field).to_have_accessible_description(re.compile("^In order of preference"))
    try:
        # When the admin offers Spanish only, and saves
        field.fill("es")
        admin.get_by_role("button", name="Save settings").click()
        expect(admin.locator("#toast")).to_contain_text("Settings saved.")
        expect(admin.get_by_label("Widget languages")).to_have_value("es")
        settled()
        # Then the widget on an English page speaks Spanish
        visitor = pages()
        visitor.goto(browser_stack.demo_url)
        expect(launcher(visitor, "Abrir chat")).to_be_visible()
        # When the field is emptied and saved, the choice is cleared
        admin.get_by_label("Widget languages").fill("")
        admin.get_by_role("button", name="Save settings").click()
        expect(admin.locator("#toast")).to_contain_text("Settings saved.")
        status, _, body = http(browser_stack, "GET", "/admin/tenant", token=admin_token(browser_stack))
        assert status == 200 and body["locales"] == []
        # And a language the widget lacks is refused, naming the field, changing nothing
        admin.get_by_label("Widget languages").fill("fr")
        admin.get_by_role("button", name="Save settings").click()
        expect(admin.get_by_role("alert")).to_contain_text("locales")
        assert http(browser_stack, "GET", "/admin/tenant", token=admin_token(browser_stack))[2]["locales"] == []
        assert admin.errors == []
    finally:
        http(browser_stack, "PATCH", "/admin/tenant", {"locales": None}, token=admin_token(browser_stack))
        settled()
