"""WCAG 2.2 AA for the widget and the back office (issue 20), in Debian's Chromium against
`switchboard dev`: axe-core finds nothing (the widget's shadow root included), the keyboard
reaches and leaves everything as promised, text follows the reader's font size and zoom, and
phones get full-screen panels, 16 px inputs and 24 px targets. docs/web.md, "Accessibility".

One browser and one conversation (a visitor's widget, Ada's back office on it) serve the module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.register_assert_rewrite("tests.browser_support", "tests.a11y_support")

from tests.a11y_support import assert_axe_clean  # noqa: E402
from tests.browser_support import (  # noqa: E402
    ADMIN,
    GALLERY,
    MIA,
    OPERATOR,
    BrowserStack,
    new_page,
    screenshot,
    sign_in,
    submit_sign_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 640}
ZOOMED = {"width": 640, "height": 360}  # a 1280 x 720 window at 200 % zoom
SIZES = {"desktop": DESKTOP, "phone": PHONE}
THEME_RGB = "rgb(15, 118, 110)"  # the seed's widget colour, #0f766e


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def open_widget(page: Any) -> None:
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    expect(page.get_by_role("dialog")).to_be_visible()


def write(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")
    # stored (acknowledged): more time than expect's 5 s default, for a loaded machine
    expect(page.locator(".log li.mine:not(.pending)", has_text=text)).to_have_count(1, timeout=15_000)


def focused_in_widget(page: Any) -> str | None:
    """What has the focus inside the widget's shadow root (its text or label), None if outside."""
    return page.evaluate("""() => {
      const host = document.getElementById('switchboard-widget');
      if (document.activeElement !== host) return null;
      const el = host.shadowRoot.activeElement;
      if (!el) return null;
      const inPanel = !!el.closest('.panel');
      return (inPanel ? 'panel:' : 'outside:') + (el.getAttribute('aria-label') || el.textContent.trim().slice(0, 20));
    }""")


def font_px(locator: Any) -> float:
    return float(locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


def set_default_font_size(page: Any, px: int) -> None:
    """The browser's font-size setting (Settings > Appearance), as a reader would raise it."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": px, "fixed": px}})


def one_line(locator: Any) -> bool:
    """The element's text is laid out on one line (it does not wrap)."""
    return bool(locator.evaluate("""e => {
      const r = document.createRange(); r.selectNodeContents(e);
      const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
      return tops.size === 1;
    }"""))


@pytest.fixture(scope="module")
def chat(browser: Any, browser_stack: BrowserStack) -> Iterator[SimpleNamespace]:
    """A visitor who has written, and Ada (admin) in the back office who claimed the conversation
    and replied; the visitor's message is read ("Seen"). Both pages are closed after the module
    (staff left online would be given the next module's conversations)."""
    visitor = new_page(browser)
    visitor.goto(browser_stack.demo_url)
    open_widget(visitor)
    write(visitor, "Where is my parcel?")
    admin = new_page(browser)
    sign_in(admin, browser_stack, ADMIN)
    admin.get_by_role("tab", name=re.compile("^Queued")).click()
    admin.locator(".channel", has_text="Where is my parcel").get_by_role("link").click()
    admin.get_by_role("button", name="Claim").click()
    reply = admin.get_by_role("textbox", name="Reply")
    reply.fill("It left the warehouse this morning.")
    reply.press("Enter")
    expect(visitor.locator(".log li.theirs")).to_contain_text(["It left the warehouse"])
    expect(visitor.locator(".log li.mine").last).to_contain_text("Seen")
    write(visitor, "Thank you!")
    expect(admin.locator("#messages")).to_contain_text("Thank you!")
    yield SimpleNamespace(visitor=visitor, admin=admin, conversation="#" + admin.url.split("#", 1)[1])
    for page in (visitor, admin):
        assert page.errors == [], page.errors
        assert page.csp_violations == [], page.csp_violations
        page.context.close()


# -- axe-core finds nothing ------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_axe_finds_nothing_in_the_widget_closed_open_and_asking_to_end(chat, size):
    # Given the visitor's widget, at a desktop's or a phone's size
    page = chat.visitor
    page.set_viewport_size(SIZES[size])
    # When the panel is closed (the launcher alone)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    # Then axe finds nothing, in the page or in the widget's shadow root
    assert_axe_clean(page, f"the demo page, widget closed ({size})")
    # Nor with the conversation open: the visitor's messages (with "Seen"), the operator's reply
    open_widget(page)
    expect(page.locator(".log li.mine").first).to_contain_text("Seen")
    assert_axe_clean(page, f"the widget open with a conversation ({size})")
    screenshot(page, f"widget-{size}", keep_in_docs=size == "phone")
    # Nor while it asks whether to end the conversation
    page.get_by_role("button", name="End chat", exact=True).click()
    expect(page.get_by_role("group", name="End this conversation?")).to_be_visible()
    assert_axe_clean(page, f"the widget asking to end the conversation ({size})")
    page.get_by_role("button", name="Keep chatting").click()
    page.set_viewport_size(DESKTOP)


def test_axe_finds_nothing_in_the_widget_of_a_tenant_with_a_light_colour(browser_stack, pages):
    # Given a tenant whose colour is a light yellow (white text on it would be 1.4:1)
    page = pages()
    page.goto(f"{browser_stack.web}/demo/?" + urlencode(
        {"api": browser_stack.http, "ws": browser_stack.ws, "tenant": GALLERY, "color": "#ffd84d"}))
    # When the visitor writes
    open_widget(page)
    write(page, "Is the gallery open on Sunday?")
    # Then the text drawn on the colour (title, status, own messages) is dark, and axe finds nothing
    assert page.locator(".head").evaluate("e => getComputedStyle(e).color") == "rgb(29, 35, 48)"
    assert_axe_clean(page, "the widget in a light tenant colour")


def go(page: Any, route: str) -> None:
    """Follow a link within the back office (never a reload: Ada going offline would put her
    conversation back in the queue)."""
    page.evaluate("r => { location.hash = r; }", route)


def back_office_views(page: Any, conversation: str) -> Iterator[str]:
    """Walk ``page`` (Ada, signed in) through every view; yields each view's name once shown."""
    go(page, "#/inbox")
    expect(page.get_by_role("heading", name="Inbox")).to_be_attached()
    yield "inbox"
    go(page, conversation)
    expect(page.locator("#messages")).to_contain_text("Thank you!")
    expect(page.get_by_role("textbox", name="Reply")).to_be_visible()
    yield "conversation"
    # every link of the navigation, so a view added later is checked without being named here
    links = page.get_by_role("navigation", name="Sections").get_by_role("link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    for href in hrefs:
        view = href.removeprefix("#/")
        if view == "inbox":
            continue
        page.get_by_role("navigation", name="Sections").locator(f'a[href="{href}"]').click()
        expect(page.locator("#main h1")).to_be_attached()
        if view == "operators":
            expect(page.locator("tr[data-operator]").first).to_be_visible()
            page.get_by_role("button", name=f"Sessions of {OPERATOR['email']}").click()
            expect(page.locator("#op-sessions [role=status]")).not_to_have_text("Loading…")
        elif view in ("sessions", "events"):
            expect(page.locator(".page [role=status]").first).not_to_have_text("Loading…")
        yield view


@pytest.mark.parametrize("size", SIZES)
def test_axe_finds_nothing_on_the_back_offices_sign_in_and_every_view(chat, browser, browser_stack, size):
    # Given the back office's sign-in page, and its two-step verification step
    page = new_page(browser, viewport=SIZES[size])
    try:
        page.goto(browser_stack.backoffice_url)
        expect(page.get_by_role("heading", name="Switchboard back office")).to_be_visible()
        assert_axe_clean(page, f"the sign-in page ({size})")
        submit_sign_in(page, OPERATOR)
        expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
        assert_axe_clean(page, f"the two-step verification step ({size})")
        assert page.csp_violations == []
    finally:
        page.context.close()
    # Then every view Ada reaches, the conversation included, has no violation either
    admin = chat.admin
    admin.set_viewport_size(SIZES[size])
    seen = []
    for view in back_office_views(admin, chat.conversation):
        assert_axe_clean(admin, f"the back office's {view} ({size})")
        if view == "conversation":
            screenshot(admin, f"backoffice-{size}", keep_in_docs=size == "phone")
        seen.append(view)
    assert {"inbox", "conversation", "team", "operators", "sessions", "events", "security", "canned"} <= set(seen), seen
    admin.set_viewport_size(DESKTOP)
    go(admin, chat.conversation)


# -- the keyboard ------------------------------------------------------------------------------

def test_on_a_phone_the_full_screen_panel_is_modal_and_tab_stays_inside_it(chat):
    # Given the open panel on a phone, where it fills the screen and hides the page
    page = chat.visitor
    page.set_viewport_size(PHONE)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_have_attribute("aria-modal", "true")
    page.get_by_role("textbox", name="Message").focus()
    # When the visitor presses Tab, then Shift+Tab, more times than the panel has controls
    forward = []
    for _ in range(8):
        page.keyboard.press("Tab")
        forward.append(focused_in_widget(page))
    page.get_by_role("textbox", name="Message").focus()
    backward = []
    for _ in range(8):
        page.keyboard.press("Shift+Tab")
        backward.append(focused_in_widget(page))
    # Then the focus never leaves the panel, and goes round it in order
    assert all(f and f.startswith("panel:") for f in forward + backward), (forward, backward)
    # (the follow-up address's button sits between the conversation and the message box)
    assert forward[:6] == ["panel:Send message", "panel:End chat", "panel:Close chat", "panel:Conversation",
                           "panel:Add email", "panel:Message"], forward
    assert backward[:5] == ["panel:Add email", "panel:Conversation", "panel:Close chat", "panel:End chat",
                            "panel:Send message"], backward
    page.set_viewport_size(DESKTOP)


def test_on_a_desktop_the_panel_is_not_modal_and_tab_moves_on_to_the_page(chat):
    # Given the open panel on a desktop, beside the page
    page = chat.visitor
    page.set_viewport_size(DESKTOP)
    expect(page.get_by_role("dialog")).not_to_have_attribute("aria-modal", "true")
    page.get_by_role("textbox", name="Message").focus()
    # When the visitor tabs on from the message box
    page.keyboard.press("Tab")
    after_box = focused_in_widget(page)
    page.keyboard.press("Tab")
    # Then Send comes next, then the launcher (which closes the panel), not a trap
    assert (after_box, focused_in_widget(page)) == ("panel:Send message", "outside:Close chat")


def test_escape_closes_the_panel_from_the_launcher_too_and_the_focus_stays_on_it(chat):
    # Given the open panel, with the focus on the launcher (a desktop: it stays beside the panel)
    page = chat.visitor
    page.set_viewport_size(DESKTOP)
    launcher = page.locator(".launcher")
    launcher.focus()
    expect(page.get_by_role("dialog")).to_be_visible()
    # When the visitor presses Escape
    page.keyboard.press("Escape")
    # Then the panel closes, and the focus is on the launcher, which says it opens the chat
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    open_widget(page)
    # And from inside the panel Escape does the same
    page.get_by_role("textbox", name="Message").press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()
    open_widget(page)


def test_ending_a_conversation_asks_once_then_focuses_new_conversation(browser_stack, pages):
    # Given a visitor in a conversation
    page = pages()
    page.goto(browser_stack.demo_url)
    open_widget(page)
    write(page, "Never mind, found it")
    # When they press End chat
    page.get_by_role("button", name="End chat", exact=True).press("Enter")
    # Then nothing has ended yet: the panel asks, with the focus on the answer that keeps it
    question = page.get_by_role("group", name="End this conversation?")
    expect(question).to_be_visible()
    expect(page.get_by_role("button", name="Keep chatting")).to_be_focused()
    expect(page.locator("#sb-status")).not_to_have_text("Conversation ended")
    # And keeping it gives the focus back to End chat
    page.keyboard.press("Enter")
    expect(question).to_be_hidden()
    expect(page.get_by_role("button", name="End chat", exact=True)).to_be_focused()
    # When they confirm
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Yes, end chat").press("Enter")
    # Then the conversation ends and the focus is on New conversation (End chat is gone)
    expect(page.locator("#sb-status")).to_have_text("Conversation ended")
    expect(page.get_by_role("button", name="New conversation")).to_be_focused()
    assert page.errors == []


def test_the_back_office_moves_the_focus_to_the_new_views_heading(chat):
    # Given Ada in the back office
    page = chat.admin
    page.set_viewport_size(DESKTOP)
    # When she follows a navigation link with the keyboard
    page.get_by_role("link", name="Operators").focus()
    page.keyboard.press("Enter")
    # Then the focus is on the new view's heading, not lost on <body>
    expect(page.get_by_role("heading", name="Operators", level=1)).to_be_focused()
    # And opening a conversation from the list puts it on the conversation's title
    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("tab", name=re.compile("^Assigned to me")).click()
    page.locator(".channel", has_text="Thank you").get_by_role("link").press("Enter")
    expect(page.locator("#conv-title")).to_be_focused()
    expect(page.locator("#conv-title")).not_to_be_empty()


def test_the_inbox_tabs_are_one_tab_stop_moved_with_the_arrow_keys(chat):
    # Given Ada on the inbox's tabs
    page = chat.admin
    go(page, "#/team")  # (the inbox drawn afresh: it opens on "Assigned to me")
    expect(page.get_by_role("heading", name="Team channels")).to_be_attached()
    go(page, chat.conversation)
    page.get_by_role("tab", name=re.compile("^Assigned to me")).focus()
    # When she presses the right arrow, then Tab
    page.keyboard.press("ArrowRight")
    # Then the next tab is selected and focused, and Tab leaves the tab list
    queued = page.get_by_role("tab", name=re.compile("^Queued"))
    expect(queued).to_be_focused()
    expect(queued).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('role')") != "tab"
    # And the selected tab is the list's one tab stop (roving tabindex: Tab comes back to it)
    stops = page.locator("[role=tab]").evaluate_all("ts => ts.filter(t => t.tabIndex === 0).map(t => t.id)")
    assert stops == ["tab-queued"], stops


# -- font size, zoom, phones -----------------------------------------------------------------

def test_the_widgets_and_the_back_offices_text_follow_the_browsers_font_size(browser_stack, pages):
    # Given the demo page with the widget open, and the back office's sign-in page, at 16 px
    page = pages()
    page.goto(browser_stack.demo_url)
    open_widget(page)
    greeting, box, launcher = page.locator(".log li").first, page.locator("textarea"), page.locator(".launcher")
    office = pages()
    office.goto(browser_stack.backoffice_url)
    label = office.get_by_text("E-mail", exact=True)
    before = (font_px(greeting), font_px(box), font_px(label), font_px(office.get_by_label("E-mail")))
    launcher_before = launcher.bounding_box()
    # When the reader raises the browser's default font size to 32 px
    set_default_font_size(page, 32)
    set_default_font_size(office, 32)
    page.keyboard.press("Escape")  # the launcher is drawn again, now larger
    # Then the widget's messages and message box, and the back office's labels and inputs, double
    after = (font_px(greeting), font_px(box), font_px(label), font_px(office.get_by_label("E-mail")))
    # (at least: at 32 px the panel goes full screen, where the message box's own minimum is larger)
    assert all(a >= 2 * b for a, b in zip(after, before, strict=True)), (before, after)
    assert launcher.bounding_box()["width"] == 2 * launcher_before["width"]
    # And nothing is clipped: the panel fits the window, no button's text overflows it
    open_widget(page)
    panel = page.get_by_role("dialog").bounding_box()
    assert panel["x"] >= 0 and panel["y"] >= 0 and panel["x"] + panel["width"] <= DESKTOP["width"]
    assert panel["y"] + panel["height"] <= DESKTOP["height"]
    clipped = page.locator(".panel button:visible, .panel h2").evaluate_all(
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)")
    assert clipped == []
    assert office.evaluate("document.documentElement.scrollWidth <= innerWidth")
    screenshot(page, "widget-font-32", keep_in_docs=True)
    sign_in(office, browser_stack, MIA)
    expect(office.locator("#who")).to_have_text("Mia (operator)")
    assert one_line(office.get_by_role("button", name="Sign out"))
    screenshot(office, "backoffice-font-32", keep_in_docs=True)
    # (signed out again: other tests count Mia's live sessions)
    office.get_by_role("button", name="Sign out").click()
    expect(office.get_by_role("heading", name="Switchboard back office")).to_be_visible()


def test_at_200_percent_zoom_the_panel_fills_the_window_even_though_it_is_wide(browser_stack, pages):
    # Given a laptop's 1280 x 720 window at 200 % zoom: 640 x 360 CSS px, wider than a phone
    page = pages(viewport=ZOOMED)
    page.goto(browser_stack.demo_url)
    # When the visitor opens the chat
    open_widget(page)
    # Then the panel fills the window (too short for the floating one) and is modal
    assert page.get_by_role("dialog").bounding_box() == {"x": 0, "y": 0, **ZOOMED}
    expect(page.get_by_role("dialog")).to_have_attribute("aria-modal", "true")
    expect(page.get_by_role("textbox", name="Message")).to_be_in_viewport()


def test_on_a_phone_inputs_are_16px_and_targets_at_least_24px(chat):
    # Given the open widget on a 360 x 640 phone
    page = chat.visitor
    page.set_viewport_size(PHONE)
    open_widget(page) if not page.get_by_role("dialog").is_visible() else None
    # Then the message box is at least 16 px (iOS Safari zooms into anything smaller)
    assert font_px(page.get_by_role("textbox", name="Message")) >= 16
    # And every control is at least 24 x 24 px, and the panel's own buttons 44 px high
    sizes = page.locator(".panel button:visible, .panel textarea").evaluate_all(
        "els => els.map(e => [e.getAttribute('aria-label') || e.textContent, e.offsetWidth, e.offsetHeight])")
    assert sizes and all(w >= 24 and h >= 24 for _, w, h in sizes), sizes
    big = {name: h for name, _, h in sizes if name in ("End chat", "Close chat", "Send message", "Message")}
    assert len(big) == 4 and min(big.values()) >= 44, big
    page.set_viewport_size(DESKTOP)


def test_on_a_phone_the_back_offices_header_holds_and_the_reply_box_is_on_screen(chat):
    # Given Ada's back office on a 360 x 640 phone, in a conversation she may answer
    page = chat.admin
    page.set_viewport_size(PHONE)
    go(page, chat.conversation)
    reply = page.get_by_role("textbox", name="Reply")
    expect(reply).to_be_visible()
    # (more messages than the screen holds: the reply box must not be pushed down by them)
    for n in range(12):
        reply.fill(f"Update {n}: still on its way.")
        reply.press("Enter")
    expect(page.locator("#messages li:not(.pending)", has_text="Update 11")).to_have_count(1)
    # Then "Sign out" is on one line, the reply box is on screen without scrolling, 16 px high text
    assert one_line(page.get_by_role("button", name="Sign out"))
    expect(reply).to_be_in_viewport()
    # (and with the text twice as large - a phone at 200 %: the header wraps whole items, never the button)
    set_default_font_size(page, 32)
    assert one_line(page.get_by_role("button", name="Sign out"))
    set_default_font_size(page, 16)
    box = reply.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"]
    assert font_px(reply) >= 16
    # And every button and link there is at least 24 x 24 px
    small = page.locator("button:visible, a:visible").evaluate_all(
        "els => els.filter(e => !e.closest('.skip') && (e.offsetWidth < 24 || e.offsetHeight < 24))"
        ".map(e => [e.textContent, e.offsetWidth, e.offsetHeight, e.className])")
    assert small == [], small
    # And the list is a link away ("← Inbox"), since a phone shows one of the two
    page.get_by_role("link", name="← Inbox").click()
    expect(page.get_by_role("tabpanel")).to_be_visible()
    expect(page.get_by_role("textbox", name="Reply")).to_be_hidden()
    page.set_viewport_size(DESKTOP)
    go(page, chat.conversation)


# -- no colour flash ---------------------------------------------------------------------------

def test_the_launcher_waits_for_the_tenants_colour_and_not_longer_than_its_timeout(browser_stack, pages):
    # Given a page whose widget theme request is held back
    page = pages()
    held: list[Any] = []
    page.route("**/tenants/*/widget", lambda route: held.append(route))
    page.goto(browser_stack.demo_url)
    launcher = page.locator(".launcher")
    expect(launcher).to_be_attached()
    # Then the launcher is not drawn while the colour is unknown
    page.wait_for_timeout(500)
    assert not launcher.is_visible()
    # And after the timeout (1.5 s) it is drawn anyway, in the default colour
    expect(launcher).to_be_visible(timeout=3000)
    assert launcher.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(48, 86, 211)"
    # And the theme, once it arrives, colours it
    held[0].continue_()
    expect(launcher).to_have_css("background-color", THEME_RGB)


def test_a_data_color_attribute_draws_the_launcher_at_once_in_that_colour(browser_stack, pages):
    # Given a site that gives the colour on the script tag (data-color), its theme request held back
    page = pages()
    page.route("**/tenants/*/widget", lambda route: None)
    page.goto(f"{browser_stack.demo_url}&color=%230f766e")
    # Then the launcher is drawn at once, in that colour
    launcher = page.locator(".launcher")
    expect(launcher).to_be_visible(timeout=1000)
    assert launcher.evaluate("e => getComputedStyle(e).backgroundColor") == THEME_RGB


# -- the minified widget -----------------------------------------------------------------------

def test_the_minified_widget_chats_and_passes_axe_like_the_readable_one(browser_stack, pages):
    # Given the demo page loading widget.min.js
    page = pages()
    page.goto(f"{browser_stack.demo_url}&build=min")
    # (the demo page adds the widget's script tag as it starts: wait for it, then check which)
    page.wait_for_function("[...document.scripts].some(s => /\\/widget(\\.min)?\\.js$/.test(s.src))")
    assert page.evaluate("[...document.scripts].some(s => s.src.endsWith('/widget.min.js'))")
    # When the visitor writes
    open_widget(page)
    write(page, "Sent from the minified widget")
    # Then it is stored (write() waits for that), and axe finds nothing
    assert_axe_clean(page, "the minified widget")
    assert page.errors == []


@pytest.mark.parametrize("size", SIZES)
def test_axe_finds_nothing_on_this_waves_sign_in_pages(chat, browser, browser_stack, size):
    """The pages issue 16 added outside the navigation: forgot password, the reset link's page,
    the recovery-code step and the device approval page (the axe test above walks the navigation)."""
    page = new_page(browser, viewport=SIZES[size])
    try:
        # Given the sign-in page's "Forgot password?"
        page.goto(browser_stack.backoffice_url)
        page.get_by_role("button", name="Forgot password?").click()
        expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
        assert_axe_clean(page, f"the forgot-password page ({size})")
        # a reset link's page (the token is checked only when the form is sent)
        page.goto(browser_stack.backoffice_url + "#reset=" + "x" * 43)
        page.reload()  # only the fragment changed: the page boots again to read it
        expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        assert_axe_clean(page, f"the reset page ({size})")
        # the two-step step, switched to a recovery code
        page.goto(browser_stack.backoffice_url)
        submit_sign_in(page, OPERATOR)
        expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
        page.get_by_role("button", name="Use a recovery code instead").click()
        assert_axe_clean(page, f"the recovery-code step ({size})")
        assert page.csp_violations == []
    finally:
        page.context.close()
    # and the device approval page, which the CLI's link opens in an admin's back office
    admin = chat.admin
    admin.set_viewport_size(SIZES[size])
    go(admin, "#/device")
    expect(admin.get_by_role("heading", name="Sign in a device")).to_be_visible()
    assert_axe_clean(admin, f"the device approval page ({size})")
    admin.set_viewport_size(DESKTOP)
    go(admin, chat.conversation)
