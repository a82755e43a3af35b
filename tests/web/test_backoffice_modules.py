"""The back office's files, read as text: native ES modules that the browser loads one by one
(no build step), so what a bundler would check is checked here - every import names a file
and a name that file exports, no module imports itself back (the views sit above api, socket
and state; main wires what the lower modules hand up), every module is reached from main.js
and says at its top what it holds.

The imports are parsed with a regular expression, not a JavaScript parser: the project has no
JavaScript toolchain, and the pages use one import form only (``import { a, b } from "./x.js";``),
which the first test holds them to, so no other form can slip past the rest.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BACKOFFICE = Path(__file__).resolve().parents[2] / "web" / "backoffice"
IMPORT = re.compile(r'^import \{([^}]*)\} from "(\.{1,2}/[\w/.-]+\.js)";', re.M)
EXPORT = re.compile(r"^export (?:async function|function|const|let|class) ([\w$]+)", re.M)


def modules() -> dict[Path, str]:
    return {p: p.read_text() for p in sorted(BACKOFFICE.rglob("*.js"))}


def imports(path: Path, text: str) -> list[tuple[Path, list[str]]]:
    return [((path.parent / source).resolve(), [n.strip() for n in names.split(",") if n.strip()])
            for names, source in IMPORT.findall(text)]


def test_every_import_is_the_one_static_form():
    for path, text in modules().items():
        statements = re.findall(r"^\s*(?:import|export \{|export \*)\b.*", text, re.M)
        plain = [m.group(0) for m in IMPORT.finditer(text)]
        assert len(statements) == len(plain), (path.name, statements)
        assert "import(" not in text, path.name


def test_every_import_names_a_module_and_a_name_it_exports():
    found = modules()
    exported = {p.resolve(): set(EXPORT.findall(t)) for p, t in found.items()}
    for path, text in found.items():
        for target, names in imports(path, text):
            assert target in exported, f"{path.name} imports {target.name}, which does not exist"
            missing = set(names) - exported[target]
            assert not missing, f"{path.name} imports {missing} from {target.name}, which does not export it"


def test_no_module_imports_itself_back():
    graph = {p.resolve(): [t for t, _ in imports(p, text)] for p, text in modules().items()}
    done: set[Path] = set()

    def visit(node: Path, trail: tuple[Path, ...]) -> None:
        if node in trail:
            cycle = " -> ".join(p.relative_to(BACKOFFICE).as_posix() for p in (*trail[trail.index(node):], node))
            pytest.fail(f"import cycle: {cycle}")
        if node in done:
            return
        for target in graph.get(node, []):
            visit(target, (*trail, node))
        done.add(node)

    for node in graph:
        visit(node, ())


def test_the_page_loads_main_as_a_module_and_main_reaches_every_module():
    html = (BACKOFFICE / "index.html").read_text()
    assert re.findall(r"<script\b[^>]*>", html) == ['<script type="module" src="main.js">']
    found = {p.resolve(): text for p, text in modules().items()}
    reached, todo = set(), [(BACKOFFICE / "main.js").resolve()]
    while todo:
        node = todo.pop()
        if node not in reached:
            reached.add(node)
            todo.extend(t for t, _ in imports(node, found[node]))
    assert sorted(p.name for p in set(found) - reached) == []


def test_every_module_says_at_its_top_what_it_holds():
    for path, text in modules().items():
        header = re.match(r"(?://[^\n]*\n)+", text)
        assert header and len(header.group(0)) > 40, f"{path.name} has no header comment"
