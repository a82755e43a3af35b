"""The pages' weight and Lighthouse's scores (issue 20).

1. The widget's size: ``web/widget.js`` (the readable source) and ``web/widget.min.js`` (terser,
   ``make widget``), raw and gzipped as the local pages server and CloudFront send them.
2. Lighthouse 12 (pinned in package.json, ``npm ci``) on Debian's Chromium, mobile and desktop
   presets, every category, on the demo page (the widget closed, as a visitor lands) and the back
   office's sign-in page, served by ``switchboard dev`` on loopback (tests/conftest.py's DevStack).
   Loopback has no network latency: the performance scores say what the pages cost the browser,
   not what a slow phone network adds (Lighthouse's simulated throttling models part of that).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium")
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]


def sizes() -> dict[str, Any]:
    rows = []
    for name in ("widget.js", "widget.min.js"):
        data = (ROOT / "web" / name).read_bytes()
        rows.append([f"`{name}`", f"{len(data):,}", f"{len(gzip.compress(data, 6)):,}"])
    return {"title": "The widget's weight (bytes)", "columns": ["file", "raw", "gzipped"], "rows": rows,
            "notes": "gzip level 6, as the local pages server sends it; tests/web/test_widget_build.py holds "
                     "widget.min.js to 13,000 bytes gzipped."}


def lighthouse_scores() -> dict[str, Any]:
    sys.path[:0] = [str(ROOT)]
    from tests.browser_support import BrowserStack

    if not (ROOT / "node_modules" / "lighthouse").exists() or shutil.which("node") is None:
        return {"title": "Lighthouse", "columns": ["skipped"], "rows": [["run `npm ci` (node and npm needed)"]],
                "notes": ""}
    with tempfile.TemporaryDirectory() as seed_dir:
        stack = BrowserStack(Path(seed_dir))
        try:
            pages = {"demo page (widget)": stack.demo_url, "back office sign-in": stack.backoffice_url}
            if os.environ.get("BENCH_TINY") == "1":  # bench/run.py --tiny: the suite's check that this section runs
                pages = dict(list(pages.items())[:1])
            presets = ("desktop",) if os.environ.get("BENCH_TINY") == "1" else ("mobile", "desktop")
            runs = [{"url": url, "preset": preset} for url in pages.values() for preset in presets]
            done = subprocess.run(["node", str(ROOT / "tests" / "lighthouse_runner.mjs"),
                                   json.dumps({"runs": runs, "categories": CATEGORIES})],
                                  cwd=ROOT, env={**os.environ, "CHROME_PATH": CHROMIUM}, capture_output=True,
                                  text=True, timeout=600, check=True)
        finally:
            stack.stop()
    results = json.loads(done.stdout)
    names = [name for name in pages for _ in presets]
    rows = [[name, r["preset"], *(round(100 * r["scores"][c]) for c in CATEGORIES)]
            for name, r in zip(names, results, strict=True)]
    load = os.getloadavg()[0]
    return {"title": "Lighthouse 12 scores (Debian's Chromium, loopback)", "columns": ["page", "preset", *CATEGORIES],
            "rows": rows, "notes": f"load average {load:.1f} during the run."}


def run(quick: bool) -> list[dict[str, Any]]:
    return [sizes(), lighthouse_scores()]
