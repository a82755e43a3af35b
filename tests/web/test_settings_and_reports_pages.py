"""The back office's Settings page (a change shows in the live preview, then on the demo page's
widget) and Reports page (charts, the CSV download, search), in a real browser.

Select with ``pytest -m browser``.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support")

from tests.browser_support import ADMIN, TENANT, WIDGET, screenshot, sign_in  # noqa: E402
from tests.conftest import settled  # noqa: E402
from tests.reports_support import generate  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]

ARCHIVE = "switchboard-local-archive"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def test_a_settings_change_shows_in_the_preview_and_on_the_demo_pages_widget(browser_stack, pages):
    admin = pages()
    sign_in(admin, browser_stack, ADMIN)
    admin.get_by_role("link", name="Settings").click()
    expect(admin.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    preview = admin.get_by_test_id("widget-preview")
    expect(preview.locator(".pv-greeting")).to_have_text(WIDGET["greeting"])
    try:
        # When the admin types a new greeting and colour: the preview follows as they type
        admin.get_by_label("Greeting").fill("Bonjour! We answer in minutes.")
        expect(preview.locator(".pv-greeting")).to_have_text("Bonjour! We answer in minutes.")
        admin.get_by_label("Colour", exact=True).fill("#b42318")
        assert preview.locator(".pv-head").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(180, 35, 24)"
        admin.get_by_label("Position").select_option("left")
        expect(preview).to_have_attribute("data-position", "left")
        screenshot(admin, "backoffice-settings", keep_in_docs=True)
        # And saves
        admin.get_by_role("button", name="Save settings").click()
        expect(admin.locator("#toast")).to_contain_text("Settings saved.")
        settled()  # the widget settings function's container caches the tenant for a while
        # Then a visitor on the demo page gets the new greeting
        visitor = pages()
        visitor.goto(browser_stack.demo_url)
        visitor.get_by_role("button", name=re.compile("^Open chat")).click()
        expect(visitor.locator(".log")).to_contain_text("Bonjour! We answer in minutes.")
        # And a bad value is refused with the field named, and changes nothing
        admin.get_by_label("Colour", exact=True).fill("red")
        admin.get_by_role("button", name="Save settings").click()
        expect(admin.get_by_role("alert")).to_contain_text("color")
    finally:  # the other browser tests expect the seeded widget
        from tests.e2e.test_http import http

        token = http(browser_stack, "POST", "/auth/internal",
                     {"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})[2]["access_token"]
        assert http(browser_stack, "PATCH", "/admin/tenant", {"widget": WIDGET}, token=token)[0] == 200
        settled()


def test_the_reports_page_charts_the_figures_downloads_csv_and_searches(browser_stack, pages):
    # Given 80 closed conversations of the shop in the archive (March 2026)
    generate(browser_stack.client("s3"), ARCHIVE, TENANT, 80, seed=11)
    admin = pages(accept_downloads=True)
    sign_in(admin, browser_stack, ADMIN)
    admin.get_by_role("link", name="Reports").click()
    admin.get_by_label("From", exact=True).fill("2026-03-01")
    admin.get_by_label("To", exact=True).fill("2026-03-31")
    admin.get_by_role("button", name="Show").click()
    expect(admin.locator("section.reports > p[role=status]")).to_contain_text("80 conversations closed")
    # Then the charts are images with a text alternative, and the figures are in tables too
    days = admin.get_by_role("img", name="Conversations closed per day")
    expect(days).to_be_visible()
    assert days.locator("rect").count() >= 10
    expect(admin.get_by_role("img", name="Conversations per operator")).to_be_visible()
    expect(admin.get_by_role("table", name="Figures per day")).to_be_visible()
    screenshot(admin, "backoffice-reports", keep_in_docs=True)
    # And the CSV downloads with the same total
    with admin.expect_download() as info:
        admin.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "report-2026-03-01-2026-03-31.csv"
    with open(download.path(), encoding="utf-8") as saved:
        rows = list(csv.DictReader(io.StringIO(saved.read())))
    assert next(r for r in rows if r["row"] == "total")["conversations"] == "80"
    # And search finds conversations by a word of a message, keyboard only
    admin.get_by_label("Words in a message").fill("refund")
    admin.get_by_label("Words in a message").press("Enter")
    expect(admin.locator(".results li").first).to_contain_text("refund")
