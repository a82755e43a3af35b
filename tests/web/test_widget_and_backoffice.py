"""The widget and the back office in a real browser (Debian's Chromium, Playwright) against
`switchboard dev`: the issue's end-to-end story, then the widget's own promises.

Select them with ``pytest -m browser``; they run in the normal suite (``make test``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support")  # it is also a plugin (below): rewrite it once

from tests.browser_support import (  # noqa: E402
    ADMIN,
    IDENTITY_SECRET,
    OPERATOR,
    TENANT,
    BrowserStack,
    screenshot,
    sign_in,
    submit_sign_in,
    totp_now,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]  # the fixtures: one stack and one browser for all browser tests

THEME_RGB = "rgb(15, 118, 110)"  # the seed's widget colour, #0f766e


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def open_widget(page: Any) -> None:
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    expect(page.get_by_role("dialog", name="Shop support")).to_be_visible()


def write(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def test_a_visitor_and_an_operator_chat_and_a_revoked_operator_is_signed_out(browser_stack, pages):
    # Given a visitor on the demo page, with no operator online
    visitor = pages()
    visitor.goto(browser_stack.demo_url)
    open_widget(visitor)
    expect(visitor.locator(".log")).to_contain_text("Hello! Ask us anything.")  # the tenant's greeting
    # the theme came from the API, and the host page's `button {background: #222}` did not get in
    assert visitor.locator(".send").evaluate("e => getComputedStyle(e).backgroundColor") == THEME_RGB

    # When the visitor writes, the conversation waits in the queue
    write(visitor, "Hi, where is my order?")
    expect(visitor.locator("#sb-status")).to_have_text("Waiting for an operator…")
    expect(visitor.locator(".log li.mine")).to_contain_text(["Hi, where is my order?"])

    # And an operator signs in to the back office, with a TOTP code
    operator = pages()
    sign_in(operator, browser_stack, OPERATOR)
    expect(operator.get_by_role("heading", name="Two-step verification")).to_be_visible()
    operator.get_by_label("Code").fill(totp_now())
    operator.get_by_role("button", name="Verify").click()
    expect(operator.locator("#who")).to_have_text("Otto (operator)")

    # Then the conversation is in the queue; the operator claims it and replies
    operator.get_by_role("tab", name=re.compile("^Queued")).click()
    item = operator.locator(".channel", has_text="where is my order")
    expect(item).to_have_count(1)
    item.get_by_role("link").click()
    expect(operator.locator("#messages")).to_contain_text("Hi, where is my order?")
    operator.get_by_role("button", name="Claim").click()
    expect(operator.locator("#conv-sub")).to_contain_text("assigned to me")

    reply = operator.get_by_role("textbox", name="Reply")
    reply.press_sequentially("On its way", delay=15)
    # the visitor sees the typing indicator and who is there
    expect(visitor.locator(".typing")).to_have_text("Otto is typing…")
    expect(visitor.locator("#sb-status")).to_have_text("You're chatting with Otto")
    reply.press_sequentially("!")
    reply.press("Enter")
    expect(visitor.locator(".log li.theirs")).to_contain_text(["On its way!"])
    expect(visitor.locator(".typing")).to_be_hidden()
    # read receipt: the operator has read the visitor's message
    expect(visitor.locator(".log li.mine").last).to_contain_text("Seen")

    # the visitor answers; it arrives live in the back office
    write(visitor, "Thanks!")
    expect(operator.locator("#messages")).to_contain_text("Thanks!")
    screenshot(visitor, "widget", keep_in_docs=True)

    # With the panel closed, a new reply shows as an unread badge
    visitor.keyboard.press("Escape")
    expect(visitor.get_by_role("dialog")).to_be_hidden()
    reply.fill("Anything else I can do?")
    reply.press("Enter")
    expect(visitor.locator(".badge")).to_have_text("1")
    expect(visitor.locator("#unread-count")).to_have_text("1 unread")  # the page's `unread` listener
    expect(operator.locator("#messages .seen")).to_have_count(0)

    # When the visitor reloads the page, the conversation is still there
    visitor.reload()
    open_widget(visitor)
    expect(visitor.locator(".log li:not(.greeting):not(.sys)")).to_have_text(
        [re.compile("Hi, where is my order"), re.compile("On its way!"), re.compile("Thanks!"),
         re.compile("Anything else I can do")])
    expect(visitor.locator("#sb-status")).to_have_text("You're chatting with Otto")
    # opening the panel read the reply: the operator sees the receipt
    expect(operator.locator("#messages .seen")).to_have_count(1)
    screenshot(operator, "backoffice", keep_in_docs=True)

    # When the operator closes the conversation, the widget shows it has ended
    operator.on("dialog", lambda dialog: dialog.accept())
    operator.locator("#close-channel").click()
    expect(visitor.locator(".closed")).to_contain_text("This conversation has ended.")
    expect(visitor.get_by_role("textbox", name="Message")).to_be_hidden()
    expect(visitor.locator("#sb-status")).to_have_text("Conversation ended")

    # When an admin signs the operator out everywhere from the back office
    admin = pages()
    sign_in(admin, browser_stack, ADMIN)
    expect(admin.locator("#who")).to_have_text("Ada (admin)")
    admin.get_by_role("link", name="Operators").click()
    admin.get_by_role("button", name=f"Sign out everywhere: {OPERATOR['email']}").click()

    # Then the operator's back office is back at the sign-in page at once
    expect(operator.get_by_role("heading", name="Switchboard back office")).to_be_visible(timeout=3000)
    expect(operator.locator("#signin-error")).to_contain_text("revoked")
    screenshot(admin, "backoffice-operators")

    for page in (visitor, operator, admin):
        assert page.errors == [], page.errors


def test_the_widget_works_from_the_keyboard_on_a_phone(browser_stack, pages):
    # Given the demo page on a phone-sized screen
    page = pages(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(browser_stack.demo_url)
    launcher = page.get_by_role("button", name="Open chat")
    expect(launcher).to_have_attribute("aria-expanded", "false")

    # When the visitor opens it with the keyboard
    launcher.focus()
    page.keyboard.press("Enter")

    # Then the panel fills the screen, the message box has the focus, Escape closes it again
    panel = page.get_by_role("dialog", name="Shop support")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None and box["width"] == 390 and box["height"] == 844
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    page.keyboard.type("typed from the keyboard")
    page.keyboard.press("Enter")
    expect(page.locator(".log li.mine")).to_contain_text(["typed from the keyboard"])
    screenshot(page, "widget-phone")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.get_by_role("button", name="Open chat")).to_be_focused()
    assert page.errors == []


def test_a_first_message_still_in_flight_when_the_site_identifies_the_visitor_comes_along(browser_stack, pages):
    # Given an anonymous visitor whose very first message is on its way (no session, no
    # conversation yet: the widget is signing in, connecting, opening the conversation)
    page = pages()
    answers: list[str] = []  # what the API and the chat answered, for the failure message
    page.on("response", lambda r: answers.append(f"{r.status} {r.request.method} {r.url.split('/', 3)[-1]}"))
    page.on("console", lambda m: answers.append(f"console: {m.text[:160]}"))

    def on_socket(ws: Any) -> None:
        answers.append("socket opened")
        ws.on("framesent", lambda f: answers.append(f"sent {str(f)[:100]}"))
        ws.on("framereceived", lambda f: answers.append(f"got {str(f)[:100]}"))
        ws.on("close", lambda _: answers.append("socket closed"))

    page.on("websocket", on_socket)
    page.goto(browser_stack.demo_url)
    open_widget(page)
    write(page, "my first question")
    # When the website identifies them before that message is acknowledged
    digest = hmac.new(IDENTITY_SECRET.encode(), b"customer-9", hashlib.sha256).hexdigest()
    page.evaluate("u => Switchboard.identify(u)", {"id": "customer-9", "name": "Jo", "hash": digest})
    # Then the message is delivered once, in the known visitor's conversation (a reconnect may be
    # part of the way there: more time than the default 5 s on a loaded machine)
    try:
        expect(page.locator(".log li.mine:not(.pending)")).to_have_text([re.compile("my first question")],
                                                                         timeout=20_000)
    except AssertionError as failed:
        raise AssertionError(f"{failed}\nAPI answers: {answers}") from None
    user = page.evaluate(f"JSON.parse(localStorage.getItem('switchboard:{TENANT}:{browser_stack.http}')).user")
    assert user["id"] == "v-customer-9"
    page.reload()
    open_widget(page)
    expect(page.locator(".log li.mine")).to_have_text([re.compile("my first question")])
    assert page.errors == [], page.errors


def test_identify_signs_the_visitor_in_as_the_websites_user(browser_stack, pages):
    # Given an anonymous visitor
    page = pages()
    page.goto(browser_stack.demo_url)
    open_widget(page)
    write(page, "before signing in")
    expect(page.locator(".log li.mine:not(.pending)")).to_contain_text(["before signing in"])  # stored

    # When the website identifies them with its backend's HMAC
    digest = hmac.new(IDENTITY_SECRET.encode(), b"customer-7", hashlib.sha256).hexdigest()
    page.evaluate("u => Switchboard.identify(u)", {"id": "customer-7", "name": "Jo", "hash": digest})

    # Then the stored session is the known visitor's (level 1), under the contract's v- id
    user = page.evaluate(f"JSON.parse(localStorage.getItem('switchboard:{TENANT}:{browser_stack.http}')).user")
    assert (user["id"], user["anonymous"], user["level"]) == ("v-customer-7", False, 1)
    write(page, "now signed in")
    expect(page.locator(".log li.mine")).to_contain_text(["now signed in"])
    # And the conversation begun anonymously came along: after a reload both messages are there
    page.reload()
    open_widget(page)
    expect(page.locator(".log li.mine")).to_contain_text(["before signing in", "now signed in"])

    # And a wrong hash is refused: the visitor stays who they were
    page.evaluate("u => Switchboard.identify(u)", {"id": "customer-8", "hash": "0" * 64})
    user = page.evaluate(f"JSON.parse(localStorage.getItem('switchboard:{TENANT}:{browser_stack.http}')).user")
    assert user["id"] == "v-customer-7"

    # And the visitor can end the conversation; writing again starts a new one
    page.get_by_role("button", name="End chat", exact=True).click()
    page.get_by_role("button", name="Yes, end chat").click()
    expect(page.locator("#sb-status")).to_have_text("Conversation ended")
    page.get_by_role("button", name="New conversation").click()
    write(page, "a new question")
    expect(page.locator("#sb-status")).to_have_text("Waiting for an operator…")
    expect(page.locator(".log li.mine")).to_have_text([re.compile("a new question")])

    # And logout ends the session: a fresh page starts with an empty conversation
    page.evaluate("Switchboard.logout()")
    assert page.evaluate(f"localStorage.getItem('switchboard:{TENANT}:{browser_stack.http}')") is None


def test_the_host_pages_css_cannot_move_or_hide_the_widget(browser_stack, pages):
    # Given a host page whose CSS targets every div with more specificity than the widget's :host
    page = pages(viewport={"width": 1200, "height": 800})
    page.goto(browser_stack.demo_url)
    page.add_style_tag(content="div:not(.x){transform:translate(-3000px,2000px)!important;filter:blur(4px);"
                               "display:none;opacity:0}")
    # Then the launcher is still in the bottom-right corner, visible, and opens the chat
    launcher = page.get_by_role("button", name=re.compile("^Open chat"))
    box = launcher.bounding_box()
    assert box is not None and 1000 < box["x"] < 1200 and 600 < box["y"] < 800, box
    open_widget(page)
    panel = page.get_by_role("dialog", name="Shop support").bounding_box()
    assert panel is not None and panel["x"] > 600 and panel["y"] >= 0, panel


def signed_in_as(page: Any, stack: BrowserStack) -> str | None:
    stored = page.evaluate(f"localStorage.getItem('switchboard:{TENANT}:{stack.http}')")
    return json.loads(stored)["user"]["id"] if stored else None


def session_is_live(stack: BrowserStack, access_token: str) -> bool:
    """GET /auth/me with that token: 200 while its session lives, 401 once it is revoked."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(stack.http + "/auth/me", headers={"authorization": f"Bearer {access_token}"})
    try:
        with urllib.request.urlopen(req, timeout=10):
            return True
    except urllib.error.HTTPError as refused:
        assert refused.code == 401, refused.code
        return False


def socket_user(url: str) -> str:
    """Whom a widget's WebSocket is signed in as: the ``sub`` of the chat token in its URL."""
    import base64
    from urllib.parse import parse_qs, urlsplit

    payload = parse_qs(urlsplit(url).query)["token"][0].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def identity(user_id: str) -> dict[str, str]:
    return {"id": user_id, "hash": hmac.new(IDENTITY_SECRET.encode(), user_id.encode(), hashlib.sha256).hexdigest()}


class HeldSignIns:
    """Holds the page's POST /auth/external requests until the test lets each go, and keeps
    what the API answered to each (the tokens a page got and may no longer want)."""

    def __init__(self, page: Any) -> None:
        self.page, self.held, self.answers, self.holding = page, [], [], True
        page.route("**/auth/external", lambda route: self.held.append(route) if self.holding else route.continue_())
        page.on("response", lambda r: self.answers.append(r.json()) if r.url.endswith("/auth/external") else None)

    def wait_for(self, n: int) -> None:
        for _ in range(100):
            if len(self.held) >= n:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{n} sign-ins expected, {len(self.held)} held")

    def release_all(self) -> None:
        self.holding = False
        for route in self.held:
            route.continue_()

    def answer_for(self, user_id: str) -> dict[str, Any]:
        """The one sign-in answer for that user."""
        answers = [a for a in self.answers if a.get("user", {}).get("id") == user_id]
        assert len(answers) == 1, self.answers
        return answers[0]


def has_written(page: Any, stack: BrowserStack, text: str) -> None:
    """An anonymous visitor on the demo page whose first message is stored."""
    page.goto(stack.demo_url)
    open_widget(page)
    write(page, text)
    expect(page.locator(".log li.mine:not(.pending)")).to_contain_text([text])


def wait_until_ended(page: Any, stack: BrowserStack, tokens: dict[str, Any], what: str) -> None:
    """The session of ``tokens`` is revoked within 2 s (the page sends the revoke without waiting)."""
    for _ in range(40):
        if not session_is_live(stack, tokens["access_token"]):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{what} is still live")


def test_logout_while_identify_is_signing_in_ends_signed_out_and_the_late_session_is_ended(browser_stack, pages):
    # Given an anonymous visitor who has written, and a site that identifies them...
    page = pages()
    has_written(page, browser_stack, "a question")
    sign_ins = HeldSignIns(page)
    page.evaluate("u => { window.identified = Switchboard.identify(u); }", identity("customer-21"))
    sign_ins.wait_for(1)
    # When the site logs them out before the sign-in has answered (a shared computer: the next
    # person must not find the last one signed in)
    page.evaluate("Switchboard.logout()")
    sign_ins.release_all()
    page.evaluate("window.identified")
    # Then the widget ends signed out, and the session the late answer carried is ended too
    page.wait_for_timeout(300)  # the late session's revoke is sent without waiting for it
    assert signed_in_as(page, browser_stack) is None
    wait_until_ended(page, browser_stack, sign_ins.answer_for("v-customer-21"),
                     "the session of a sign-in the page no longer wanted")
    assert page.errors == [], page.errors


def test_identify_twice_in_a_row_ends_as_the_second_visitor(browser_stack, pages):
    # Given an anonymous visitor
    page = pages()
    has_written(page, browser_stack, "hello")
    sign_ins = HeldSignIns(page)
    # When the site identifies them as one user, then - before that has answered - as another
    page.evaluate("u => { window.first = Switchboard.identify(u); }", identity("customer-31"))
    sign_ins.wait_for(1)
    page.evaluate("u => { window.second = Switchboard.identify(u); }", identity("customer-32"))
    sign_ins.release_all()
    page.evaluate("Promise.all([window.first, window.second])")
    # Then the widget is the second user's, and the first sign-in's session was ended
    assert signed_in_as(page, browser_stack) == "v-customer-32"
    wait_until_ended(page, browser_stack, sign_ins.answer_for("v-customer-31"), "the first identify()'s session")
    # And it chats as the second user
    write(page, "as the second user")
    expect(page.locator(".log li.mine:not(.pending)")).to_contain_text(["as the second user"])
    assert page.errors == [], page.errors


def test_an_identify_that_fails_after_a_later_one_was_called_leaves_the_later_one_to_finish(browser_stack, pages):
    # Given an anonymous visitor in a conversation
    page = pages()
    sent: list[tuple[str, str]] = []  # (who the socket is signed in as, frame)
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append((socket_user(ws.url), str(f)))))
    has_written(page, browser_stack, "my question")
    sign_ins = HeldSignIns(page)
    # When the site identifies them with a wrong hash, then - before that answers - rightly
    page.evaluate("u => { window.first = Switchboard.identify(u); }", {"id": "customer-41", "hash": "0" * 64})
    sign_ins.wait_for(1)
    write(page, "written while signing in")  # waits in the outbox: nothing is sent mid-identify
    page.evaluate("u => { window.second = Switchboard.identify(u); }", identity("customer-42"))
    sign_ins.release_all()
    page.evaluate("Promise.all([window.first, window.second])")
    # Then the first one's failure does not undo the second: the visitor is the second user,
    # not signed out, and the conversation, with the message written meanwhile, came along
    assert signed_in_as(page, browser_stack) == "v-customer-42"
    expect(page.locator(".log li.mine:not(.pending)")).to_contain_text(["my question", "written while signing in"])
    expect(page.get_by_text("You were signed out")).to_have_count(0)
    # and the message written meanwhile went out as the known visitor, never as the anonymous one
    senders = {who for who, frame in sent if "written while signing in" in frame}
    assert senders == {"v-customer-42"}, sent
    page.reload()
    open_widget(page)
    expect(page.locator(".log li.mine")).to_contain_text(["my question", "written while signing in"])
    assert page.errors == [], page.errors


def test_a_message_whose_ack_was_lost_is_resent_with_its_client_id_and_stored_once(browser_stack, pages):
    # Given a visitor whose first connection drops right after sending a message (no reply reaches the page)
    page = pages()
    dropped: list[str] = []

    def proxy(ws: Any) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            server.send(message)
            if frame.get("action") == "message.send" and not dropped:
                dropped.append(frame["client_id"])
                ws.close()  # the ack never arrives

        ws.on_message(from_page)
        server.on_message(lambda message: ws.send(message))

    page.route_web_socket(re.compile(r"^ws://"), proxy)
    page.goto(browser_stack.demo_url)
    open_widget(page)

    # When the visitor writes
    write(page, "sent once, acknowledged late")

    # Then the widget reconnects, sends it again with the same client_id, and it is there once
    expect(page.locator(".log li.mine:not(.pending)")).to_have_count(1, timeout=10_000)
    assert len(dropped) == 1
    page.reload()
    open_widget(page)
    mine = page.locator(".log li.mine")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text(["sent once, acknowledged late"])
    assert page.errors == []


def test_the_widget_renews_its_tokens_before_they_expire(browser_stack, pages):
    # Given a visitor in a conversation, with the page's clock under the test's control
    page = pages()
    page.clock.install()
    page.goto(browser_stack.demo_url)
    open_widget(page)
    write(page, "first")
    expect(page.locator(".log li.mine:not(.pending)")).to_have_count(1)
    key = f"switchboard:{TENANT}:{browser_stack.http}"
    before = page.evaluate(f"JSON.parse(localStorage.getItem({json.dumps(key)}))")

    # When 14.5 minutes pass (the access token lives 15)
    page.clock.fast_forward("14:30")

    # Then the widget has rotated its refresh token, and is still the same visitor in the same conversation
    page.wait_for_function(f"JSON.parse(localStorage.getItem({json.dumps(key)})).refresh_token !== "
                           f"{json.dumps(before['refresh_token'])}")
    after = page.evaluate(f"JSON.parse(localStorage.getItem({json.dumps(key)}))")
    assert (after["user"]["id"], after["channel_id"]) == (before["user"]["id"], before["channel_id"])
    write(page, "second")
    expect(page.locator(".log li.mine:not(.pending)")).to_have_count(2)
    assert page.errors == []


def test_a_known_visitor_attaches_a_file_where_the_tenant_allows_it(browser_stack, pages, tmp_path):
    from urllib.parse import urlencode

    from tests.browser_support import GALLERY, GALLERY_SECRET

    # Given a known visitor of a tenant that allows visitor attachments, in a conversation
    page = pages()
    page.goto(f"{browser_stack.web}/demo/?"
              + urlencode({"api": browser_stack.http, "ws": browser_stack.ws, "tenant": GALLERY}))
    digest = hmac.new(GALLERY_SECRET.encode(), b"collector-1", hashlib.sha256).hexdigest()
    page.evaluate("u => Switchboard.identify(u)", {"id": "collector-1", "name": "Cy", "hash": digest})
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    write(page, "here is the invoice")
    expect(page.locator(".log li.mine:not(.pending)")).to_contain_text(["here is the invoice"])
    # When they attach a file
    receipt = tmp_path / "receipt.txt"
    receipt.write_text("paid in full")
    attach = page.get_by_role("button", name="Attach a file")
    expect(attach).to_be_visible()
    with page.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files(str(receipt))
    # Then the message shows it, and the file went to the attachments bucket through the presigned POST
    expect(page.locator(".log li.mine:not(.pending) .att")).to_contain_text(["receipt.txt"])
    s3 = browser_stack.client("s3")
    # (this visitor's uploads only: other tests of the session upload to the same tenant's bucket)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="switchboard-local-attachments",
                                                  Prefix=f"attachments/{GALLERY}/").get("Contents", [])
            if "/v-collector-1/" in o["Key"]]
    assert len(keys) == 1
    assert s3.get_object(Bucket="switchboard-local-attachments", Key=keys[0])["Body"].read() == b"paid in full"
    # And a click on it downloads the file under its name (attachment.open's short-lived link),
    # while the page stays where it is
    with page.expect_download() as download:
        page.locator(".log li.mine:not(.pending) .att").click()
    assert download.value.suggested_filename == "receipt.txt"
    assert Path(download.value.path()).read_bytes() == b"paid in full"
    assert page.url.startswith(browser_stack.web)
    assert page.errors == [], page.errors

    # And the tenant's operator, in the back office, downloads it from the queued conversation
    from tests.browser_support import GIL

    operator = pages()
    operator.goto(f"{browser_stack.web}/backoffice/?tenant={GALLERY}")
    submit_sign_in(operator, GIL)
    operator.get_by_role("tab", name=re.compile("^Queued")).click()
    operator.locator(".channel", has_text="Cy").get_by_role("link").click()
    with operator.expect_download() as download:
        operator.get_by_role("button", name="Download receipt.txt").click()
    assert download.value.suggested_filename == "receipt.txt"
    assert Path(download.value.path()).read_bytes() == b"paid in full"
    assert operator.errors == [], operator.errors
