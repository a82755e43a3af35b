"""The widget's weight: ``web/widget.min.js`` is published beside the readable ``widget.js``
(which is what development runs - no build step), and it is what terser, pinned in
package-lock.json, makes of widget.js today. ``make widget`` (``npm run build:widget``) makes it
again after a change; docs/web.md, "The widget's weight".
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess

import pytest

pytest.register_assert_rewrite("tests.a11y_support")

from tests.a11y_support import NODE_MODULES, require_node_tool  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

WIDGET = ROOT / "web" / "widget.js"
MINIFIED = ROOT / "web" / "widget.min.js"
# What a visitor downloads (gzipped, as CloudFront and the local pages server send it): the
# budget the widget's features share. 9.9 KB when it was set (issue 20); the readable file
# gzipped was 14.6 KB before that.
# Raised to 15 KB by issue 17 (the support day), at 14.1 KB: the English and Spanish catalogue
# (every string twice, ~1.6 KB gzipped), the pre-chat and offline form, CSAT, page context and
# the resume link (~1.1 KB). A new language adds ~0.7 KB; past this budget, languages beyond
# the first two would be fetched on demand instead (docs/web.md, "The widget's weight").
# Raised to 15.5 KB at 15,023 bytes: the visitor's control to change the follow-up email, the
# widget speaking only the tenant's languages, and the visitor's time zone sent with the page.
GZIP_BUDGET = 15_500


def build_script() -> list[str]:
    """The build command package.json names, as argv (it runs terser from node_modules/.bin)."""
    import shlex

    script = json.loads((ROOT / "package.json").read_text())["scripts"]["build:widget"]
    argv = shlex.split(script)
    assert argv[0] == "terser" and "--output" in argv, argv
    return [str(NODE_MODULES / ".bin" / "terser"), *argv[1:argv.index("--output")]]


def test_the_minified_widget_is_what_terser_makes_of_widget_js_today(tmp_path):
    require_node_tool(NODE_MODULES / ".bin" / "terser", "terser")
    if not shutil.which("node"):
        pytest.skip("node is missing")
    # When the build runs on the readable widget as it is now
    made = subprocess.run([*build_script(), "--output", str(tmp_path / "widget.min.js")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    # Then the committed minified widget is exactly that (else: `make widget`, and commit it)
    assert (tmp_path / "widget.min.js").read_bytes() == MINIFIED.read_bytes(), (
        "web/widget.min.js is stale: run `make widget` and commit it")


def test_the_minified_widget_says_where_its_readable_source_is():
    head = MINIFIED.read_text()[:200]
    assert head.startswith("/*! Switchboard chat widget. Readable source: widget.js;") and head.count("/*") == 1


def test_the_widget_a_visitor_downloads_stays_within_its_budget():
    # Given the minified widget, gzipped as it is served
    size = len(gzip.compress(MINIFIED.read_bytes(), 6))
    # Then it is within the budget, and smaller than the readable one gzipped
    assert size <= GZIP_BUDGET, f"widget.min.js is {size} bytes gzipped, over the {GZIP_BUDGET} budget"
    assert size < len(gzip.compress(WIDGET.read_bytes(), 6))


# -- the catalogues (issue 17): every language has every key, and docs/web.md lists them ------

def _catalogue(path: str, start: str) -> dict[str, dict[str, str]]:
    """The ``STRINGS`` object literal of a page's script, read by node (it is plain JS)."""
    if not shutil.which("node"):
        pytest.skip("node is missing")
    script = ("const src = require('fs').readFileSync(process.argv[1], 'utf8');"
              f"const i = src.indexOf({json.dumps(start)}) + {len(start)};"
              # the object ends at the first line that is only its closing brace (any indent)
              "const close = /\\n\\s*};/g; close.lastIndex = i; const m = close.exec(src);"
              "const body = src.slice(i, m.index + m[0].length - 1);"
              "process.stdout.write(JSON.stringify(new Function('return (' + body + ')')()));")
    made = subprocess.run(["node", "-e", script, str(ROOT / path)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    return dict(json.loads(made.stdout))


@pytest.mark.parametrize(("path", "start"), [("web/widget.js", "var STRINGS = "),
                                             ("web/backoffice/i18n.js", "const STRINGS = ")])
def test_every_language_of_a_catalogue_has_every_key(path, start):
    strings = _catalogue(path, start)
    assert set(strings) >= {"en", "es"}
    for lang, texts in strings.items():
        assert set(texts) == set(strings["en"]), (lang, set(texts) ^ set(strings["en"]))
        # the {placeholders} a text is filled with are the same in every language
        for key, text in texts.items():
            holes = sorted(re.findall(r"\{\w+\}", text))
            assert holes == sorted(re.findall(r"\{\w+\}", strings["en"][key])), (lang, key)


def test_docs_list_every_string_of_the_widget():
    documented = set(re.findall(r"^\| `(\w+)` \|", (ROOT / "docs" / "web.md").read_text(), re.M))
    missing = set(_catalogue("web/widget.js", "var STRINGS = ")["en"]) - documented
    assert not missing, f"docs/web.md, 'The widget's strings', lacks {sorted(missing)}"
