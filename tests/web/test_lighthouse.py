"""Lighthouse's accessibility audit (pinned in package.json, run by node on Debian's Chromium,
on loopback) scores the widget's demo page and the back office's sign-in page 100, with the
mobile and the desktop presets. Lighthouse is axe-core plus its own checks (tap targets, the
viewport, the document's language and title...), as the issue's audit ran it.

One Chromium for the four runs (tests/lighthouse_runner.mjs), the accessibility category only
(about 30 s in all); the full categories are bench/lighthouse_bench.py's, recorded in the README.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser_support", "tests.a11y_support")

from tests.a11y_support import NODE_MODULES, require_node_tool  # noqa: E402
from tests.browser_support import CHROMIUM, BrowserStack  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
pytest_plugins = ["tests.browser_support"]

RUNNER = ROOT / "tests" / "lighthouse_runner.mjs"
PAGES = ["demo", "backoffice"]
PRESETS = ["mobile", "desktop"]


def lighthouse(runs: list[dict[str, str]], categories: list[str]) -> list[dict[str, Any]]:
    """Lighthouse's results for each run ({url, preset}), from one Chromium (CHROME_PATH)."""
    require_node_tool(NODE_MODULES / "lighthouse", "Lighthouse")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is missing")
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    done = subprocess.run([node, str(RUNNER), json.dumps({"runs": runs, "categories": categories})],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


@pytest.fixture(scope="module")
def audits(browser_stack: BrowserStack) -> dict[tuple[str, str], dict[str, Any]]:
    urls = {"demo": browser_stack.demo_url, "backoffice": browser_stack.backoffice_url}
    runs = [{"url": urls[page], "preset": preset} for page in PAGES for preset in PRESETS]
    results = lighthouse(runs, ["accessibility"])
    return {(page, preset): result for (page, preset), result in
            zip([(p, s) for p in PAGES for s in PRESETS], results, strict=True)}


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("page", PAGES)
def test_lighthouse_scores_the_page_100_for_accessibility(audits, page, preset):
    result = audits[(page, preset)]
    assert result["runtimeError"] is None, result["runtimeError"]
    assert result["scores"]["accessibility"] == 1, result["failed"]
    assert result["failed"] == []
