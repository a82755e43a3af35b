"""The layer's folders hold: domain modules never import an edge, no module imports another in a
circle (lazy imports inside functions count), packages import nothing eagerly, and pyproject
installs every folder. docs/architecture.md ("The layer's map") says which module goes where."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from tests.conftest import ROOT

LAYER = ROOT / "layers" / "shared" / "python"
PACKAGE = LAYER / "switchboard"


def module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every layer module ``path`` imports, wherever the import statement stands (top level,
    inside a function, under ``if TYPE_CHECKING``): ``from switchboard.a import b`` names the
    module ``switchboard.a.b`` if there is one, else ``switchboard.a``."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != me}


def import_graph() -> dict[str, set[str]]:
    modules = layer_modules()
    return {name: imported_modules(path, set(modules)) for name, path in modules.items()}


def is_edge(module: str) -> bool:
    return module == "switchboard.edge" or module.startswith("switchboard.edge.")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as the path that closes it), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_reader_sees_lazy_imports_and_resolves_modules():
    # Given a module that imports one module at the top and another inside a function
    graph = import_graph()
    # Then both are edges of the graph (the checks below would be blind without this)
    assert "switchboard.chat.actions" in graph["switchboard.edge.actions"]  # top level
    assert "switchboard.tokens.access" in graph["switchboard.runtime"]  # lazy, inside a method
    assert "switchboard.tokens.keys" in graph["switchboard.tokens.key_rotation"]  # from ... import names
    # And a cycle, also through a lazy import, is found
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_domain_module_imports_an_edge():
    # Given every module of the layer and what it imports (lazily too)
    graph = import_graph()
    # Then only the edges import the edges: the domain takes domain arguments
    offenders = {m: sorted(filter(is_edge, deps)) for m, deps in graph.items() if not is_edge(m)}
    assert {m: deps for m, deps in offenders.items() if deps} == {}


def test_the_layer_has_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_the_layer_folders_are_the_documented_ones():
    # Given the layer's folders
    folders = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    # Then they are the rooms docs/architecture.md describes (a new one is documented there first)
    documented = (ROOT / "docs" / "architecture.md").read_text()
    for folder in folders:
        assert f"| `{folder}/` |" in documented, folder  # its row of the table


#: packages whose __init__ is their API: ``store`` is the ``Store`` facade, which every function
#: that touches the table builds at its first call, with every door (small, pure-Python modules)
EAGER_BY_DESIGN = {PACKAGE / "store" / "__init__.py"}


def test_packages_import_nothing_eagerly():
    # cold start: `import switchboard.chat.actions` must not load every module of chat/
    for init in set(PACKAGE.rglob("__init__.py")) - EAGER_BY_DESIGN:
        tree = ast.parse(init.read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                    and not (isinstance(n, ast.Import) and [a.name for a in n.names] == ["gc"])], init


def test_pyproject_installs_every_folder_of_the_layer():
    # `pip install -e .` (the tests, `switchboard dev`) and a wheel must both carry every subpackage
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {module_name(init) for init in PACKAGE.rglob("__init__.py")}
    assert folders <= listed, sorted(folders - listed)
