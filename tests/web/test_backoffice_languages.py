"""The whole back office in Spanish (issue 17): every page and view, the sign-in screens included,
takes its words from web/backoffice/i18n.js. Each is drawn in Spanish, in Debian's Chromium against
`switchboard dev`, and walked: no text node and no accessible name, placeholder, title or alt may
be an English catalogue text whose Spanish differs (a string left in English, or a key missing
from the catalogue). Each Spanish view also passes axe. docs/web.md, "The back office's languages".
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support", "tests.a11y_support")

from tests.a11y_support import assert_axe_clean  # noqa: E402
from tests.browser_support import OPERATOR, BrowserStack  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]

# an admin of this module's own (each account's sign-ins are rate limited; the seed's are busy)
LIA = {"email": "lia@shop.test", "password": "lia-correct-horse-battery", "name": "Lia"}


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def catalogue() -> dict[str, dict[str, str]]:
    from tests.web.test_widget_build import _catalogue

    return _catalogue("web/backoffice/i18n.js", "const STRINGS = ")


def english_only() -> list[str]:
    """The English texts a Spanish page must not show: those whose Spanish differs."""
    strings = catalogue()
    return sorted({v for k, v in strings["en"].items() if strings["es"].get(k) != v})


# Walks the page: every text node (but scripts' and styles'), and the names a screen reader or a
# hover shows (aria-label, placeholder, title, alt); a text with {placeholders} matches any filling.
WALK = r"""(english) => {
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const exact = new Set(), patterns = [];
  for (const v of english) {
    const s = v.trim();
    if (!s) continue;
    if (/\{[\w.]+\}/.test(s)) patterns.push(new RegExp("^" + esc(s).replace(/\\\{[\w.]+\\\}/g, ".+") + "$", "s"));
    else exact.add(s);
  }
  const english_ = (s) => { s = (s || "").trim(); return !!s && (exact.has(s) || patterns.some((p) => p.test(s))); };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const tag = n.parentElement && n.parentElement.tagName;
    if (tag === "SCRIPT" || tag === "STYLE" || tag === "NOSCRIPT") continue;
    if (english_(n.data)) found.push(`text "${n.data.trim()}" in <${tag.toLowerCase()}>`);
  }
  for (const el of document.body.querySelectorAll("[aria-label], [placeholder], [title], [alt]")) {
    for (const a of ["aria-label", "placeholder", "title", "alt"]) {
      if (english_(el.getAttribute(a))) found.push(`${a} "${el.getAttribute(a)}" on <${el.tagName.toLowerCase()}>`);
    }
  }
  if (english_(document.title)) found.push(`the title "${document.title}"`);
  return found;
}"""


def assert_spanish(page: Any, where: str) -> None:
    """No English left on ``page`` (the catalogue walked), and axe finds nothing."""
    left = page.evaluate(WALK, english_only())
    assert not left, f"English on the Spanish {where}: {left}"
    assert page.evaluate("document.documentElement.lang") == "es"
    assert_axe_clean(page, f"the back office in Spanish: {where}")


@pytest.fixture(scope="module", autouse=True)
def lia_exists(browser_stack: BrowserStack) -> None:
    from tests.e2e.test_http import http
    from tests.web.test_support_day_widget import admin_token

    status, _, body = http(browser_stack, "POST", "/admin/operators",
                           {"email": LIA["email"], "name": LIA["name"], "password": LIA["password"], "role": "admin"},
                           token=admin_token(browser_stack))
    assert status in (200, 201, 409) or "already exists" in str(body.get("detail")), body


def spanish_page(stack: BrowserStack, pages: Any, suffix: str = "") -> Any:
    page = pages()
    page.goto(stack.backoffice_url + "&lang=es" + suffix)
    return page


def sign_in_es(page: Any, who: dict[str, str]) -> None:
    page.get_by_label("Correo electrónico").fill(who["email"])
    page.get_by_label("Contraseña", exact=True).fill(who["password"])
    page.get_by_role("button", name="Iniciar sesión").click()


def test_the_en_and_es_catalogues_have_the_same_keys_and_every_key_used_is_in_them():
    strings = catalogue()
    # Given the back office's catalogue: both languages, the same keys, no empty text
    assert set(strings["en"]) == set(strings["es"]), set(strings["en"]) ^ set(strings["es"])
    assert all(v.strip() for lang in strings.values() for v in lang.values())
    # And every literal key the pages ask for, t("key"), is in it (a missing one would show its key)
    from tests.conftest import ROOT

    used = set()
    for path in (ROOT / "web" / "backoffice").rglob("*.js"):
        if path.name != "i18n.js":  # (its comments show t("key", ...))
            used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']\s*[,)]""", path.read_text()))
    assert used, "no t() call found"
    assert used <= set(strings["en"]), sorted(used - set(strings["en"]))


def test_the_sign_in_screens_speak_spanish(browser_stack, pages):
    # The sign-in, with the Language links (the current one marked)
    page = spanish_page(browser_stack, pages)
    expect(page.get_by_role("heading", name="Panel de Switchboard")).to_be_visible()
    langs = page.get_by_role("navigation", name="Idioma")
    expect(langs.get_by_role("link", name="Español")).to_have_attribute("aria-current", "true")
    assert_spanish(page, "sign-in")
    # A wrong password's error
    page.get_by_label("Correo electrónico").fill(LIA["email"])
    page.get_by_label("Contraseña", exact=True).fill("not-the-password-at-all")
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.get_by_role("alert")).to_have_text("Correo o contraseña incorrectos.")
    assert_spanish(page, "sign-in refused")
    # Forgot password
    page.get_by_role("button", name="¿Olvidaste la contraseña?").click()
    expect(page.get_by_role("heading", name="Restablece tu contraseña")).to_be_visible()
    assert_spanish(page, "forgot password")
    # Two-step verification (Otto has it on), and its recovery-code form
    page.get_by_role("button", name="Volver a iniciar sesión").click()
    sign_in_es(page, OPERATOR)
    expect(page.get_by_role("heading", name="Verificación en dos pasos")).to_be_visible()
    assert_spanish(page, "two-step verification")
    page.get_by_role("button", name="Usar un código de recuperación").click()
    expect(page.get_by_label("Código de recuperación")).to_be_focused()
    assert_spanish(page, "recovery code")
    # A password reset link, an invitation, a single sign-on that came back refused
    for suffix, heading in [("#reset=not-a-real-token", "Elige una contraseña nueva"),
                            ("#/invite/not-a-real-token", "Te damos la bienvenida al equipo"),
                            ("#error=access_denied", "Panel de Switchboard")]:
        other = spanish_page(browser_stack, pages, suffix)
        expect(other.get_by_role("heading", name=heading)).to_be_visible()
        if suffix.startswith("#error"):
            refused = "Se canceló el inicio de sesión o tu cuenta está bloqueada."
            expect(other.get_by_role("alert")).to_have_text(refused)
        assert_spanish(other, suffix)
    assert page.errors == []


VIEWS = [
    ("inbox", "Bandeja"), ("team", "Canales de equipo"), ("security", "Seguridad"), ("operators", "Agentes"),
    ("sessions", "Sesiones"), ("events", "Registro"), ("reports", "Informes"), ("settings", "Ajustes"),
    ("canned", "Respuestas guardadas"), ("device", "Iniciar sesión en un dispositivo"),
]


def test_every_view_speaks_spanish(browser_stack, pages):
    # Given an admin signed in in Spanish
    page = spanish_page(browser_stack, pages)
    sign_in_es(page, LIA)
    expect(page.locator("#conn")).to_have_text("En directo")
    expect(page.locator("#who")).to_have_text("Lia (administrador)")
    for view, heading in VIEWS:
        # When each view is open (and has loaded what it shows)
        page.goto(f"{browser_stack.backoffice_url}#/{view}")
        expect(page.get_by_role("heading", name=heading, exact=True).first).to_be_attached()
        expect(page.get_by_text("Cargando…")).to_have_count(0)
        if view in ("inbox", "team"):  # the forms folded away: open them
            for details in page.locator("details").all():
                details.locator("summary").click()
        if view == "operators":  # an operator's sessions
            page.get_by_role("button", name="Sesiones", exact=False).first.click()
            expect(page.locator("#op-sessions")).to_be_visible()
            expect(page.locator("#op-sessions").get_by_text("Cargando…")).to_have_count(0)
        # Then it is all Spanish
        assert_spanish(page, f"#/{view}")
    assert page.errors == [], page.errors


def test_a_conversation_and_its_tools_speak_spanish(browser_stack, pages):
    # Given a visitor's question in the queue and an admin signed in in Spanish
    visitor = pages()
    visitor.goto(browser_stack.demo_url + "&locale=es")
    visitor.get_by_role("button", name=re.compile("^Abrir chat")).click()
    box = visitor.get_by_role("textbox", name="Mensaje")
    box.fill("¿Enviáis a Canarias?")
    box.press("Enter")
    expect(visitor.locator(".log li.mine:not(.pending)")).to_have_count(1, timeout=15_000)
    page = spanish_page(browser_stack, pages)
    sign_in_es(page, LIA)
    # When it is opened: the conversation, the visitor panel
    page.get_by_role("tab", name=re.compile("^En cola")).click()
    page.locator(".channel", has_text="¿Enviáis a Canarias?").get_by_role("link").click()
    expect(page.get_by_role("complementary", name="Sobre el visitante")).to_be_visible()
    assert_spanish(page, "a queued conversation")
    # claimed: the reply box, labels, the canned replies picker ("/")
    page.get_by_role("button", name="Atender").click()
    reply = page.get_by_role("textbox", name="Respuesta")
    expect(reply).to_be_visible()
    reply.fill("/")
    expect(page.locator(".canned-picker [role=status]")).not_to_have_text("")
    assert_spanish(page, "a claimed conversation with the canned replies picker")
    reply.fill("")
    # the transfer dialog
    page.get_by_role("button", name="Transferir").click()
    dialog = page.get_by_role("dialog", name="Transferir esta conversación")
    expect(dialog).to_be_visible()
    assert_spanish(page, "the transfer dialog")
    page.keyboard.press("Escape")
    # the confirmation before closing (the browser's own dialog, its words ours)
    asked: list[str] = []

    def answer(d: Any) -> None:
        asked.append(d.message)
        d.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="Cerrar", exact=True).click()
    expect(page.locator("#readonly")).to_have_text("Esta conversación está cerrada.")
    assert asked == ["¿Cerrar esta conversación? El visitante ya no podrá escribir en ella."]
    assert_spanish(page, "a closed conversation")
    assert page.errors == [] and visitor.errors == []


def test_the_language_links_switch_and_the_choice_is_remembered(browser_stack, pages):
    # Given a Spanish browser on the back office, which names no language of its own
    page = pages(locale="es-ES")
    page.goto(browser_stack.backoffice_url)
    expect(page.get_by_role("heading", name="Panel de Switchboard")).to_be_visible()
    # When the user picks English (a link, in its own language)
    english = page.get_by_role("navigation", name="Idioma").get_by_role("link", name="English")
    expect(english).to_have_attribute("lang", "en")
    english.click()
    # Then the page is English, and stays so on the next visit, whatever the browser says
    expect(page.get_by_role("heading", name="Switchboard back office")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.goto(browser_stack.backoffice_url)
    expect(page.get_by_role("heading", name="Switchboard back office")).to_be_visible()
    # And once signed in, the header's links switch it back, staying on the same view
    page.get_by_label("E-mail").fill(LIA["email"])
    page.get_by_label("Password", exact=True).fill(LIA["password"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Security").click()
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Español").click()
    expect(page.get_by_role("heading", name="Seguridad", exact=True)).to_be_visible()
    assert page.url.endswith("#/security")
    expect(page.get_by_role("link", name="Bandeja")).to_be_visible()  # still signed in
    assert page.errors == []
