"""The back office's support day (issue 17, contract section 8), in Debian's Chromium against
`switchboard dev`: notifications asked for by a click and given for what matters, the unread
count in the tab's title, transfer, Online/Away, private notes the visitor never sees, canned
replies with "/", labels and the inbox filter, the visitor panel, the Spanish catalogue - and
axe on each new view and state. docs/web.md, "The back office's support-day tools".

Tests marked ``needs_staff`` / ``needs_visitor`` use the server side built on the desk-staff /
desk-visitor branches (presence.set, notes, /canned, channel.label, transfer notes / context,
pre-chat, attributes); on a stack without it they skip, saying which.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support", "tests.a11y_support")

from tests.a11y_support import assert_axe_clean  # noqa: E402
from tests.browser_support import ADMIN, TENANT, BrowserStack, screenshot, sign_in  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]

# Every Notification the page makes, and every permission request, recorded before the page's
# own scripts run (the real ones are still called: Chromium shows nothing headless)
RECORD_NOTIFICATIONS = """
(() => {
  window.__notes = []; window.__asked = 0;
  const Real = window.Notification;
  if (!Real) return;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: (options || {}).body || "" });
    }
  }
  Recorded.requestPermission = (...a) => { window.__asked += 1; return Real.requestPermission(...a); };
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  window.Notification = Recorded;
})();
"""
# A hidden tab, as the operator working in another tab leaves it (headless pages are never hidden)
HIDE_TAB = """
(() => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
})();
"""


# An operator of these tests' own (made once, through the admin API): signing her in and out
# leaves the seed's operators' sessions as the other browser tests expect them
NORA = {"email": "nora@shop.test", "password": "nora-correct-horse-battery", "name": "Nora"}


@pytest.fixture(scope="module", autouse=True)
def nora_exists(browser_stack: BrowserStack) -> dict[str, str]:
    from tests.e2e.test_http import http

    token = http(browser_stack, "POST", "/auth/internal",
                 {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})[2]["access_token"]
    status, _, body = http(browser_stack, "POST", "/admin/operators",
                           {"email": NORA["email"], "name": NORA["name"], "password": NORA["password"]}, token=token)
    assert status in (200, 201, 409), body
    return NORA


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def server_has(stack: BrowserStack, path: str) -> bool:
    """Whether the stack serves ``path`` (a 401 without a token says the route exists)."""
    try:
        urllib.request.urlopen(f"{stack.http}{path}", timeout=10)
    except urllib.error.HTTPError as err:
        return err.code != 404
    return True


def staff_frames() -> bool:
    """Whether this tree's chat speaks desk-staff's frames (notes, presence.set, channel.label)."""
    from switchboard.edge import frames

    return hasattr(frames, "LabelParams") and hasattr(frames, "PresenceParams")


def needs_staff(stack: BrowserStack) -> None:
    if not staff_frames():
        pytest.skip("needs the desk-staff server side (presence.set, notes, channel.label, handover notes)")


def needs_canned(stack: BrowserStack) -> None:
    if not server_has(stack, "/canned"):
        pytest.skip("needs the desk-staff server side's canned replies (GET /canned, /admin/canned)")


def needs_visitor(stack: BrowserStack) -> None:
    with urllib.request.urlopen(f"{stack.http}/tenants/shop/widget", timeout=10) as r:
        if "online" not in json.loads(r.read()):
            pytest.skip("needs the desk-visitor server side (widget settings' online, context, pre-chat)")


def open_widget(page: Any) -> None:
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    expect(page.get_by_role("dialog")).to_be_visible()


def write(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".log li.mine:not(.pending)", has_text=text)).to_have_count(1, timeout=15_000)


def visitor_writes(stack: BrowserStack, pages: Any, text: str) -> Any:
    visitor = pages()
    visitor.goto(stack.demo_url)
    open_widget(visitor)
    write(visitor, text)
    return visitor


def open_conversation(page: Any, text: str, tab: str = "^Assigned to me") -> None:
    page.get_by_role("tab", name=re.compile(tab)).click()
    page.locator(".channel", has_text=text).get_by_role("link").click()
    expect(page.locator("#messages")).to_contain_text(text)


def notes(page: Any) -> list[dict[str, str]]:
    return page.evaluate("window.__notes")


def wait_for_note(page: Any, title: Any, body: str | None = None, timeout: float = 10.0) -> None:
    """Poll the recorded notifications (the back office's CSP forbids wait_for_function's eval)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for n in notes(page):
            if (re.fullmatch(title, n["title"]) if isinstance(title, re.Pattern) else n["title"] == title) and (
                    body is None or n["body"] == body):
                return
        page.wait_for_timeout(100)
    raise AssertionError(f"no notification {title!r} {body!r}: {notes(page)}")


def test_notifications_are_asked_for_by_a_click_and_tell_of_an_assigned_chat_and_a_message_while_hidden(
        browser_stack, pages):
    # Given Nora's back office, just signed in
    nora = pages()
    nora.add_init_script(RECORD_NOTIFICATIONS)
    sign_in(nora, browser_stack, NORA)
    expect(nora.locator("#who")).to_have_text("Nora (operator)")
    # Then nothing asked her for the permission on load
    button = nora.get_by_role("button", name="Desktop notifications")
    expect(button).to_be_enabled()
    assert nora.evaluate("window.__asked") == 0
    # When she clicks the button (and allows them)
    nora.context.grant_permissions(["notifications"])
    button.click()
    expect(nora.get_by_role("button", name="Notifications on")).to_be_disabled()
    assert nora.evaluate("window.__asked") == 1
    # And a visitor writes while she is the one online: the chat is hers
    visitor = visitor_writes(browser_stack, pages, "Do you ship to Lisbon?")
    # Then a notification says a conversation was assigned to her
    wait_for_note(nora, "A conversation was assigned to you")
    # When she works in another tab, a message in her chat is a notification and the title counts it
    open_conversation(nora, "Do you ship to Lisbon?")
    nora.evaluate(HIDE_TAB)
    write(visitor, "To Porto as well?")
    wait_for_note(nora, re.compile("New message from .+"), "To Porto as well?")
    expect(nora).to_have_title(re.compile(r"^\(1\) Switchboard back office"))
    # And the sound can be turned off, and stays off
    sound = nora.get_by_role("button", name="Sound")
    expect(sound).to_have_attribute("aria-pressed", "true")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "false")
    assert nora.evaluate("localStorage.getItem('switchboard:backoffice:sound')") == "off"
    assert_axe_clean(nora, "the back office with notifications on")
    assert nora.errors == [] and visitor.errors == []


def test_a_message_in_a_chat_of_mine_while_the_tab_is_shown_is_no_notification(browser_stack, pages):
    nora = pages()
    nora.add_init_script(RECORD_NOTIFICATIONS)
    nora.context.grant_permissions(["notifications"])
    sign_in(nora, browser_stack, NORA)
    visitor = visitor_writes(browser_stack, pages, "Is the blue mug dishwasher safe?")
    open_conversation(nora, "Is the blue mug dishwasher safe?")
    write(visitor, "And microwave safe?")
    expect(nora.locator("#messages")).to_contain_text("And microwave safe?")
    assert not any(n["title"].startswith("New message") for n in notes(nora))
    expect(nora).to_have_title("Switchboard back office")


def test_an_admin_transfers_a_conversation_to_a_colleague_who_sees_it_at_once(browser_stack, pages):
    # Given Ada alone online: the visitor's chat is hers
    ada = pages()
    sign_in(ada, browser_stack, ADMIN)
    expect(ada.locator("#who")).to_have_text("Ada (admin)")
    visitor = visitor_writes(browser_stack, pages, "My kettle arrived dented")
    open_conversation(ada, "My kettle arrived dented")
    # And Nora comes online
    nora = pages()
    nora.add_init_script(RECORD_NOTIFICATIONS)
    nora.context.grant_permissions(["notifications"])
    sign_in(nora, browser_stack, NORA)
    expect(nora.locator("#conn")).to_have_text("Live")
    # When Ada transfers it to Nora, in the dialog
    ada.get_by_role("button", name="Transfer").click()
    dialog = ada.get_by_role("dialog", name="Transfer this conversation")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("To")).to_be_focused()
    assert_axe_clean(ada, "the transfer dialog")
    dialog.get_by_label("To").select_option(label="Nora")
    with_note = staff_frames()  # transfer notes come with desk-staff
    if with_note:
        dialog.get_by_label(re.compile("^Note for your colleague")).fill("Photos are in the thread")
    dialog.get_by_role("button", name="Transfer").click()
    expect(dialog).to_be_hidden()
    # Then both see it at once: Ada's header says Nora, Nora has it in her list and was told
    expect(ada.locator("#conv-sub")).to_contain_text("assigned to Nora")
    expect(ada.get_by_role("button", name="Transfer")).to_be_focused()
    # (its preview may be the handover's note: found by its id)
    item = nora.locator(f'.channel[data-channel="{ada.url.rsplit("/", 1)[1]}"]')
    expect(item).to_have_count(1)
    wait_for_note(nora, "A conversation was assigned to you")
    item.get_by_role("link").click()
    expect(nora.locator("#messages")).to_contain_text("My kettle arrived dented")
    expect(nora.get_by_role("textbox", name="Reply")).to_be_visible()
    if with_note:  # the note is a private note of the conversation
        expect(nora.locator("#messages li.note", has_text="Photos are in the thread")).to_have_count(1)
        expect(visitor.locator(".log")).not_to_contain_text("Photos are in the thread")
    assert ada.errors == [] and nora.errors == [] and visitor.errors == []


def test_the_back_office_speaks_spanish(browser_stack, pages):
    page = pages()
    page.goto(browser_stack.backoffice_url + "&lang=es")
    # (the sign-in speaks Spanish too: tests/web/test_backoffice_languages.py walks every screen)
    page.get_by_label("Correo electrónico").fill(NORA["email"])
    page.get_by_label("Contraseña", exact=True).fill(NORA["password"])
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.get_by_role("navigation", name="Secciones")).to_be_visible()
    expect(page.get_by_role("link", name="Bandeja")).to_be_visible()
    expect(page.get_by_role("tab", name=re.compile("^Asignadas a mí"))).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    expect(page.get_by_label("Mi estado")).to_have_value("online")
    assert page.evaluate("document.documentElement.lang") == "es"
    assert_axe_clean(page, "the back office in Spanish")
    # the choice is remembered for the next visit
    page.goto(browser_stack.backoffice_url)
    expect(page.get_by_role("link", name="Bandeja")).to_be_visible()
    page.evaluate("localStorage.removeItem('switchboard:backoffice:lang')")


# -- with the desk-staff server side ----------------------------------------------------------

def test_away_operators_get_no_new_chat_and_a_queued_chat_is_a_notification(browser_stack, pages):
    needs_staff(browser_stack)
    nora = pages()
    nora.add_init_script(RECORD_NOTIFICATIONS)
    nora.context.grant_permissions(["notifications"])
    sign_in(nora, browser_stack, NORA)
    expect(nora.locator("#conn")).to_have_text("Live")
    # When Nora sets herself Away, a visitor's new chat is not hers: it waits in the queue
    nora.get_by_label("My status").select_option("away")
    nora.wait_for_timeout(300)
    visitor = visitor_writes(browser_stack, pages, "Anyone there at all?")
    expect(visitor.locator("#sb-status")).to_have_text("Waiting for an operator…")
    wait_for_note(nora, "A new conversation is waiting")
    # And back Online, she may claim it
    nora.get_by_label("My status").select_option("online")
    open_conversation(nora, "Anyone there at all?", tab="^Queued")
    nora.get_by_role("button", name="Claim").click()
    expect(nora.locator("#conv-sub")).to_contain_text("assigned to me")
    assert nora.errors == [] and visitor.errors == []


def test_a_private_note_is_shown_to_staff_as_a_note_and_never_to_the_visitor(browser_stack, pages):
    needs_staff(browser_stack)
    ada = pages()
    sign_in(ada, browser_stack, ADMIN)
    visitor = visitor_writes(browser_stack, pages, "Where is order 1234?")
    open_conversation(ada, "Where is order 1234?")
    # When Ada writes a private note, then a reply
    ada.get_by_label("Private note (only staff see it)").check()
    reply = ada.get_by_role("textbox", name="Reply")
    reply.fill("Customer is on the VIP list - check with the warehouse")
    reply.press("Enter")
    note = ada.locator("#messages li.note", has_text="VIP list")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("Private note")
    assert_axe_clean(ada, "a conversation with a private note")
    ada.get_by_label("Private note (only staff see it)").uncheck()
    reply.fill("Let me check that for you.")
    reply.press("Enter")
    # Then the visitor gets the reply, never the note - live, or after a reload (history)
    expect(visitor.locator(".log li.theirs")).to_contain_text(["Let me check that for you."])
    assert "VIP list" not in visitor.locator(".log").inner_text()
    visitor.reload()
    open_widget(visitor)
    expect(visitor.locator(".log li.theirs")).to_contain_text(["Let me check that for you."])
    assert "VIP list" not in visitor.locator(".log").inner_text()
    # And Ada, reloading, still has it as a note
    ada.reload()
    expect(ada.locator("#messages li.note", has_text="VIP list")).to_have_count(1)
    assert ada.errors == [] and visitor.errors == []


def test_canned_replies_are_managed_by_an_admin_and_picked_with_a_slash(browser_stack, pages):
    needs_canned(browser_stack)
    ada = pages()
    sign_in(ada, browser_stack, ADMIN)
    # Given a canned reply Ada adds on the admin page
    ada.get_by_role("link", name="Canned replies").click()
    ada.get_by_label("Title").fill("Greeting")
    ada.get_by_label("Shortcut").fill("hello")
    ada.get_by_label("Text").fill("Hi {visitor.name}, this is {operator.name}. How can I help?")
    ada.get_by_role("button", name="Add").click()
    expect(ada.get_by_role("table", name="Canned replies")).to_contain_text("/hello")
    assert_axe_clean(ada, "the canned replies page")
    # When a visitor writes and Ada types / and part of the shortcut in the reply box
    visitor = visitor_writes(browser_stack, pages, "Hello?")
    ada.get_by_role("link", name="Inbox").click()
    open_conversation(ada, "Hello?")
    reply = ada.get_by_role("textbox", name="Reply")
    reply.press_sequentially("/hel")
    listbox = ada.get_by_role("listbox", name="Canned replies")
    expect(listbox.get_by_role("option", name="/hello Greeting")).to_have_attribute("aria-selected", "true")
    expect(reply).to_have_attribute("aria-activedescendant", "canned-0")
    assert_axe_clean(ada, "the canned replies' listbox open")
    reply.press("Enter")
    # Then the reply is filled, names in, and sent only when she presses Enter again
    expect(reply).to_have_value(re.compile(r"^Hi Visitor( \w+)?, this is Ada\. How can I help\?$"))
    expect(listbox).to_be_hidden()
    reply.press("Enter")
    expect(visitor.locator(".log li.theirs")).to_contain_text([re.compile("this is Ada")])
    assert ada.errors == [] and visitor.errors == []


def test_labels_are_added_shown_in_the_inbox_and_filter_it(browser_stack, pages):
    needs_staff(browser_stack)
    ada = pages()
    sign_in(ada, browser_stack, ADMIN)
    visitor_writes(browser_stack, pages, "Refund please")
    open_conversation(ada, "Refund please")
    ada.get_by_label("Add a label").fill("refund")
    ada.get_by_label("Add a label").press("Enter")
    expect(ada.get_by_role("list", name="Labels")).to_contain_text("refund")
    expect(ada.locator(".channel", has_text="Refund please").locator(".chip")).to_have_text(["refund"])
    # The inbox filter finds it by label
    ada.get_by_text("Find conversations").click()
    ada.get_by_label("By").select_option("label")
    ada.get_by_label("Value").fill("refund")
    ada.get_by_role("button", name="Find").click()
    expect(ada.get_by_role("tab", name=re.compile("^Found"))).to_have_attribute("aria-selected", "true")
    expect(ada.locator("#channel-list .channel", has_text="Refund please")).to_have_count(1)
    assert_axe_clean(ada, "the inbox filtered by label")
    # And removing the label takes it off
    ada.locator(".channel", has_text="Refund please").get_by_role("link").click()
    ada.get_by_role("button", name="Remove label refund").click()
    expect(ada.get_by_role("list", name="Labels")).not_to_contain_text("refund")
    assert ada.errors == []


# -- with the desk-visitor server side ---------------------------------------------------------

def test_the_visitor_panel_shows_where_the_visitor_is_and_their_past_conversations(browser_stack, pages):
    needs_visitor(browser_stack)
    ada = pages()
    sign_in(ada, browser_stack, ADMIN)
    visitor = visitor_writes(browser_stack, pages, "Question about the red kettle")
    open_conversation(ada, "Question about the red kettle")
    panel = ada.get_by_role("complementary", name="About the visitor")
    expect(panel).to_contain_text("Demo Shop - Switchboard widget demo")
    expect(panel).to_contain_text("/demo/")
    expect(panel).to_contain_text("anonymous")
    # When the visitor's page changes (a single-page site's pushState), the panel follows
    visitor.evaluate("history.pushState({}, '', location.pathname + location.search + '#kettles')")
    expect(panel).to_contain_text("#kettles", timeout=10_000)
    assert_axe_clean(ada, "the conversation with the visitor panel")
    screenshot(ada, "backoffice-visitor-panel", keep_in_docs=True)
    assert ada.errors == [] and visitor.errors == []


def test_on_a_narrow_window_the_visitor_panel_opens_over_the_conversation_and_closes_with_escape(
        browser_stack, pages):
    ada = pages(viewport={"width": 900, "height": 700})
    sign_in(ada, browser_stack, ADMIN)
    visitor = visitor_writes(browser_stack, pages, "Narrow window question")
    open_conversation(ada, "Narrow window question")
    panel = ada.locator("#visitor-panel")
    expect(panel).to_be_hidden()
    toggle = ada.get_by_role("button", name="Visitor", exact=True)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(panel).to_be_visible()
    expect(ada.get_by_role("heading", name="About the visitor")).to_be_focused()
    assert_axe_clean(ada, "the visitor panel over the conversation (900 px)")
    ada.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(toggle).to_be_focused()
    assert ada.errors == [] and visitor.errors == []


def test_an_admin_sets_an_operators_max_chats_and_a_bad_value_changes_nothing(browser_stack, pages):
    needs_staff(browser_stack)
    ada = pages()
    sign_in(ada, browser_stack, ADMIN)
    ada.get_by_role("link", name="Operators").click()
    field = ada.get_by_label(f"Max chats of {NORA['email']}")
    # A value out of 1-50 is refused on the page, and nothing is sent
    sent: list[str] = []
    ada.on("request", lambda r: sent.append(r.method + " " + r.url) if "/admin/operators/" in r.url else None)
    field.fill("99")
    field.press("Tab")
    expect(ada.locator("#toast")).to_contain_text("1 to 50")
    assert not [s for s in sent if s.startswith("PATCH")]
    # A good one is saved (PATCH /admin/operators/{id} {max_chats})
    field.fill("3")
    field.press("Tab")
    expect(ada.locator("#toast")).to_contain_text(f"{NORA['email']} now takes at most 3 chats.")
    expect(ada.get_by_label(f"Max chats of {NORA['email']}")).to_have_value("3")
    assert [s for s in sent if s.startswith("PATCH")]
    # (back to the most, for the other tests that give Nora chats)
    field = ada.get_by_label(f"Max chats of {NORA['email']}")
    field.fill("50")
    field.press("Tab")
    expect(ada.locator("#toast")).to_contain_text("at most 50 chats")
    assert ada.errors == []


# -- issue 17's remaining gaps (desk-ops) ------------------------------------------------------

def test_an_admin_who_is_not_the_assignee_writes_a_note_and_the_visitor_never_sees_it(browser_stack, pages):
    needs_staff(browser_stack)
    # Given Nora alone online: the visitor's chat is hers
    nora = pages()
    sign_in(nora, browser_stack, NORA)
    expect(nora.locator("#conn")).to_have_text("Live")
    visitor = visitor_writes(browser_stack, pages, "Is the blue teapot back in stock?")
    open_conversation(nora, "Is the blue teapot back in stock?")
    # When Ada, an admin who is not its assignee, opens it from All open
    channel_id = nora.url.rsplit("/", 1)[1]
    ada = pages()
    sign_in(ada, browser_stack, ADMIN)
    expect(ada.locator("#conn")).to_have_text("Live")
    ada.get_by_role("tab", name=re.compile("^All open")).click()
    ada.locator(f'.channel[data-channel="{channel_id}"]').get_by_role("link").click()
    expect(ada.locator("#messages")).to_contain_text("Is the blue teapot back in stock?")
    expect(ada.locator("#conv-sub")).to_contain_text("assigned to Nora")
    # Then she may not reply, and is told she may write a note: asked for, the box opens as a note only
    expect(ada.locator("#readonly")).to_contain_text("You can still write a private note for staff.")
    expect(ada.get_by_role("textbox", name="Reply")).to_be_hidden()
    ada.get_by_role("button", name="Write a private note").click()
    toggle = ada.get_by_label("Private note (only staff see it)")
    expect(toggle).to_be_checked()
    expect(toggle).to_be_disabled()
    expect(ada.locator("#readonly")).to_contain_text("You can still write a private note for staff.")
    box = ada.get_by_role("textbox", name="Reply")
    expect(box).to_have_attribute("placeholder", "Write a private note…")
    assert_axe_clean(ada, "a colleague's conversation with the notes-only box")
    # When she writes one
    box.fill("Supplier says Friday - tell them that")
    box.press("Enter")
    # Then it is a note for her and for Nora, at once
    expect(ada.locator("#messages li.note", has_text="Supplier says Friday")).to_have_count(1)
    expect(nora.locator("#messages li.note", has_text="Supplier says Friday")).to_have_count(1)
    # And the visitor never gets it, live or after a reload
    nora.get_by_role("textbox", name="Reply").fill("Good news: it is back on Friday.")
    nora.get_by_role("textbox", name="Reply").press("Enter")
    expect(visitor.locator(".log li.theirs")).to_contain_text(["Good news: it is back on Friday."])
    assert "Supplier says" not in visitor.locator(".log").inner_text()
    visitor.reload()
    open_widget(visitor)
    expect(visitor.locator(".log li.theirs")).to_contain_text(["Good news: it is back on Friday."])
    assert "Supplier says" not in visitor.locator(".log").inner_text()
    assert ada.errors == [] and nora.errors == [] and visitor.errors == []


def test_the_visitor_panel_shows_the_visitors_local_time_from_the_widgets_time_zone(browser_stack, pages):
    needs_visitor(browser_stack)
    ada = pages()
    sign_in(ada, browser_stack, ADMIN)
    # Given a visitor whose browser is in Tokyo (the widget sends its IANA zone)
    visitor = pages(timezone_id="Asia/Tokyo")
    visitor.goto(browser_stack.demo_url)
    open_widget(visitor)
    write(visitor, "What time do you close?")
    open_conversation(ada, "What time do you close?")
    # Then the panel shows the visitor's clock now, in their zone, named
    panel = ada.get_by_role("complementary", name="About the visitor")
    expect(panel).to_contain_text("(Asia/Tokyo)")
    import datetime
    from zoneinfo import ZoneInfo

    shown = panel.locator("dd", has_text="Asia/Tokyo").inner_text()
    hour = int(re.match(r"\s*(\d{1,2})", shown).group(1))
    there = datetime.datetime.now(ZoneInfo("Asia/Tokyo"))
    assert hour % 12 in {there.hour % 12, (there.hour + 1) % 12, (there.hour - 1) % 12}, (shown, there)
    # (browsers name some zones by their older ICU spelling - Buenos Aires is "America/Buenos_Aires",
    # Kolkata "Asia/Calcutta" - which the IANA database keeps as links: the server takes both)
    assert ada.errors == [] and visitor.errors == []


def wait_for_status(stack: BrowserStack, page: Any, name: str, status: str, timeout: float = 10.0) -> None:
    """Until GET /staff (with ``page``'s session: no more sign-ins against the rate limit) says
    ``name`` is ``status`` - presence.set is a frame, it lands a moment after the click."""
    import time

    from tests.e2e.test_http import http

    token = page.evaluate("JSON.parse(sessionStorage.getItem('sb.tokens')).access_token")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        staff = {s["name"]: s for s in http(stack, "GET", "/staff", token=token)[2]["staff"]}
        if staff[name]["status"] == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} is {staff[name]} in GET /staff, not {status}")


def test_the_transfer_picker_shows_away_colleagues_greyed_out_and_the_operators_page_clears_a_cap(
        browser_stack, pages):
    needs_staff(browser_stack)
    # Given Ada with a chat, and Nora online but away
    ada = pages()
    sign_in(ada, browser_stack, ADMIN)
    expect(ada.locator("#conn")).to_have_text("Live")
    visitor = visitor_writes(browser_stack, pages, "Can I change my delivery address?")
    open_conversation(ada, "Can I change my delivery address?")
    nora = pages()
    sign_in(nora, browser_stack, NORA)
    expect(nora.locator("#conn")).to_have_text("Live")
    nora.get_by_label("My status").select_option("away")
    wait_for_status(browser_stack, ada, "Nora", "away")
    # When Ada opens Transfer
    ada.get_by_role("button", name="Transfer").click()
    dialog = ada.get_by_role("dialog", name="Transfer this conversation")
    # Then Nora is listed, marked away, and cannot be chosen
    option = dialog.locator("option", has_text="Nora")
    expect(option).to_have_text(re.compile(r"Nora.* - away$"))
    expect(option).to_be_disabled()
    dialog.get_by_role("button", name="Cancel").click()
    # And on the operators page, the cap the server holds is shown, and emptying the field clears it
    ada.get_by_role("link", name="Operators").click()
    field = ada.get_by_label(f"Max chats of {NORA['email']}")
    field.fill("4")
    field.press("Tab")
    expect(ada.locator("#toast")).to_contain_text("at most 4 chats")
    ada.reload()  # drawn from GET /admin/operators alone, not from what this page remembered
    field = ada.get_by_label(f"Max chats of {NORA['email']}")
    expect(field).to_have_value("4")
    field.fill("")
    field.press("Tab")
    expect(ada.locator("#toast")).to_contain_text("has no chat limit now")
    ada.reload()
    expect(ada.get_by_label(f"Max chats of {NORA['email']}")).to_have_value("")
    expect(ada.get_by_label(f"Max chats of {NORA['email']}")).to_have_attribute("placeholder", "no limit")
    nora.get_by_label("My status").select_option("online")
    assert ada.errors == [] and nora.errors == [] and visitor.errors == []
