"""Accessibility checks' plumbing: axe-core (pinned in package.json, installed by ``npm ci``)
run inside Debian's Chromium on pages Playwright drives, shadow roots included.

axe-core is a tool nobody here wrote: the tests assert what it finds, not what we think of our
pages. Without ``node_modules`` (``npm ci`` not run) the checks are skipped, unless
``SWITCHBOARD_REQUIRE_BROWSER=1`` (CI, ``make test``), where that is a failure.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.conftest import ROOT

NODE_MODULES = ROOT / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"

# What axe checks: every WCAG 2.0/2.1/2.2 A and AA rule, and its best practices (landmarks,
# one h1, ...). A WCAG failure of any impact fails; a best practice too, unless it is named
# in ``allowed`` with its reason beside it.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TAGS = [*WCAG_TAGS, "best-practice"]


def require_node_tool(path: Any, what: str) -> None:
    if path.exists():
        return
    message = f"{what} is not installed ({path} is missing: run `npm ci`)"
    if os.environ.get("SWITCHBOARD_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def axe(page: Any, *, context: str = "document") -> list[dict[str, Any]]:
    """axe-core's violations on ``page`` as it is now (shadow roots included: axe walks open ones)."""
    require_node_tool(AXE, "axe-core")
    if not page.evaluate("typeof window.axe === 'object'"):
        # evaluated through the DevTools protocol, not a <script>: the back office's CSP allows
        # no inline script, and the check must not need one
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "([ctx, tags]) => axe.run(ctx === 'document' ? document : document.querySelector(ctx), "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, tags: v.tags, help: v.help, "
        "nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))})))",
        [context, TAGS])
    return list(result)


def assert_axe_clean(page: Any, where: str, *, allowed: dict[str, str] | None = None) -> None:
    """No axe violation on ``page``, but the best practices named in ``allowed`` (rule id -> why)."""
    allowed = allowed or {}
    found = axe(page)
    bad = [v for v in found if v["id"] not in allowed or any(t in WCAG_TAGS for t in v["tags"])]
    assert not bad, f"axe on {where}:\n" + json.dumps(bad, indent=1)
