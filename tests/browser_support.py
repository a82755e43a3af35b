"""Browser tests' plumbing: `switchboard dev` with a seed whose tenant allows the web origin,
Debian's Chromium driven by Playwright, screenshots into ``test-artifacts/``.

Chromium is the system one (``apt-get install -y chromium``), never a downloaded build:
``executable_path=/usr/bin/chromium``, headless, no sandbox (containers, root), no background
networking (no calls home during tests). Without Playwright or Chromium the browser tests are
skipped, unless ``SWITCHBOARD_REQUIRE_BROWSER=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, DevStack

CHROMIUM = os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"

TENANT = "shop"
IDENTITY_SECRET = "shop-identity-secret-0123456789"
OPERATOR_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # base32, test only
ADMIN = {"email": "ada@shop.test", "password": "ada-correct-horse-battery", "role": "admin", "name": "Ada"}
OPERATOR = {"email": "otto@shop.test", "password": "otto-correct-horse-battery", "role": "operator", "name": "Otto",
            "totp_secret": OPERATOR_TOTP}
MIA = {"email": "mia@shop.test", "password": "mia-correct-horse-battery", "role": "operator", "name": "Mia"}
GALLERY, GALLERY_SECRET = "gallery", "gallery-identity-secret-0123456789"
GIL = {"email": "gil@gallery.test", "password": "gil-correct-horse-battery", "role": "operator", "name": "Gil"}
# an operator whose name is markup: pages must show it as the characters it is (tests/web/test_guards.py)
MAX = {"email": "max@gallery.test", "password": "max-correct-horse-battery", "role": "operator",
       "name": "<b>Max</b>"}
WIDGET = {"title": "Shop support", "color": "#0f766e", "greeting": "Hello! Ask us anything.", "position": "right"}


def browser_seed(web_origins: list[str]) -> dict[str, Any]:
    return {"tenants": [{
        "id": TENANT, "name": "The Shop", "identity_secret": IDENTITY_SECRET,
        "hook_secret": "shop-hook-secret-0123456789abcd", "allowed_origins": web_origins,
        "visitor_attachments": False, "widget": WIDGET, "operators": [ADMIN, OPERATOR, MIA],
    }, {  # a second tenant whose known visitors may attach files
        "id": GALLERY, "name": "The Gallery", "identity_secret": GALLERY_SECRET,
        "hook_secret": "gallery-hook-secret-0123456789", "allowed_origins": web_origins,
        "visitor_attachments": True, "widget": {"title": "Gallery support"}, "operators": [GIL, MAX],
    }]}


class BrowserStack(DevStack):
    """``switchboard dev`` on free ports, seeded so that its own web origin may use the API."""

    def __init__(self, seed_dir: Path, ready_timeout: float = 60.0) -> None:
        # every page of every browser test comes from 127.0.0.1: the per-IP sign-in quota, made for
        # one client's address, would otherwise throttle the suite (rate limits have tests of their own);
        # so would the per-account quota (10 a minute): the support-day modules sign the seed's admin
        # in more than ten times within a minute
        # follow-up mail (issue 17) after 3 s, its scheduled sender run every 2 s: the email test
        # reads the outbox in seconds, not the template's 2-3 minutes
        super().__init__(["--env", "RATE_LIMIT_IP=1000/20000", "--env", "RATE_LIMIT_ACCOUNT=100/2000",
                          "--env", "FOLLOWUP_DELAY_SECONDS=3",
                          "--schedule-every", "2"], ready_timeout=ready_timeout, seed_for=browser_seed,
                         seed_dir=seed_dir)

    def query(self) -> str:
        """The pages' configuration: where the APIs are, which tenant."""
        from urllib.parse import urlencode

        return urlencode({"api": self.http, "ws": self.ws, "tenant": TENANT})

    @property
    def demo_url(self) -> str:
        return f"{self.web}/demo/?{self.query()}"

    @property
    def backoffice_url(self) -> str:
        return f"{self.web}/backoffice/?{self.query()}"


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="session")
def browser_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserStack]:
    missing = _missing_browser()
    if missing:
        if os.environ.get("SWITCHBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)
    stack = BrowserStack(tmp_path_factory.mktemp("browser"))
    yield stack
    assert stack.stop() == 0, "\n".join(stack.lines[-60:])


@pytest.fixture(scope="module")
def browser(browser_stack: BrowserStack) -> Iterator[Any]:
    """Per module, not per session: while Playwright's sync API is alive, its event loop counts as
    running in this thread, and the other tests' ``asyncio.run`` would refuse to start."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-background-networking"])
        yield b
        b.close()


def new_page(browser: Any, *, viewport: dict[str, int] | None = None, **options: Any) -> Any:
    """A page in a fresh context (its own storage: one person), failing on page errors."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800}, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # checked by the tests
    # what the back office's Content-Security-Policy refused: every browser test fails on one
    # (the `pages` fixture checks), so the page is known to work under the policy it gets
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.csp_violations = violations
    return page


@pytest.fixture
def pages(browser: Any) -> Iterator[Any]:
    """``pages(**context_options)`` -> a new page in its own context; all closed after the test
    (a back office left open would stay online staff and take the next test's conversations)."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        page = new_page(browser, **options)
        made.append(page)
        return page

    yield make
    refused = [v for page in made for v in page.csp_violations]
    for page in made:
        page.context.close()
    assert not refused, f"the Content-Security-Policy refused: {refused}"


def screenshot(page: Any, name: str, *, keep_in_docs: bool = False) -> Path:
    """Save to test-artifacts/ (gitignored). ``keep_in_docs``: also to docs/screenshots/ when it is
    not there yet or ``SWITCHBOARD_UPDATE_SCREENSHOTS=1`` (so a test run leaves the tree clean)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    docs_copy = SCREENSHOTS / f"{name}.png"
    if keep_in_docs and (not docs_copy.exists() or os.environ.get("SWITCHBOARD_UPDATE_SCREENSHOTS") == "1"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / f"{name}.png")
    return path


def submit_sign_in(page: Any, who: dict[str, str]) -> None:
    """Fill in the back office's sign-in form, open on ``page``, as ``who`` and send it."""
    page.get_by_label("E-mail").fill(who["email"])
    page.get_by_label("Password", exact=True).fill(who["password"])
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Any, stack: BrowserStack, who: dict[str, str]) -> None:
    """Open the back office of ``stack`` and sign in as ``who``."""
    page.goto(stack.backoffice_url)
    submit_sign_in(page, who)


def totp_now(secret: str = OPERATOR_TOTP) -> str:
    import pyotp

    return str(pyotp.TOTP(secret).now())
