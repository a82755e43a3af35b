"""The store is the one door to DynamoDB: no module of the layer or of a function outside
``switchboard/store/`` spells a table key or index name, or reaches DynamoDB itself.

The list of what counts as a key comes from ``switchboard.store.keys`` (``PREFIXES``,
``ATTRIBUTES``), so a key added there is guarded here too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from switchboard.store import keys

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared" / "python" / "switchboard"
STORE = LAYER / "store"
DYNAMODB_MODULES = re.compile(r"^(mypy_boto3_dynamodb|boto3\.dynamodb|botocore\.dynamodb)\b")


def _outside_the_store() -> list[Path]:
    sources = [p for p in LAYER.rglob("*.py") if STORE not in p.parents]
    return sorted([*sources, *(ROOT / "functions").rglob("*.py")])


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (prose may name a key; code may not)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _strings(source: Path) -> list[tuple[int, str]]:
    """Every string literal of the code (f-strings: their literal parts), docstrings left out."""
    tree = ast.parse(source.read_text(), str(source))
    skip = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip]


def _key_strings(source: Path, root: Path = ROOT) -> list[str]:
    attributes = re.compile(r"\b(" + "|".join(map(re.escape, keys.ATTRIBUTES)) + r")\b")
    return [f"{source.relative_to(root)}:{line}: {value!r}" for line, value in _strings(source)
            if value.startswith(keys.PREFIXES) or attributes.search(value)]


def _dynamodb_uses(source: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(source.read_text(), str(source))
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        found += [f"{source.relative_to(root)}:{node.lineno}: import {n}" for n in names if DYNAMODB_MODULES.match(n)]
        # client("dynamodb"), resource("dynamodb"), a service name passed on: the service named at all
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                and node.value.lower() == "dynamodb"):
            found.append(f"{source.relative_to(root)}:{node.lineno}: {node.value!r}")
    return found


def test_no_key_is_spelled_outside_the_store():
    # Given every module of the layer and of the functions, except the store package
    sources = _outside_the_store()
    assert len(sources) > 30
    # When their string literals are read
    spelled = [hit for source in sources for hit in _key_strings(source)]
    # Then none is a table key (T#, MEM#, ASG#, ST#, ...) or an index attribute (gsi2pk, ...)
    assert spelled == []


def test_the_checks_see_what_they_look_for(tmp_path):
    # Given a module (here a scratch one) that builds an index key, names an index attribute
    # and makes its own DynamoDB client - with a docstring that may name them
    careless = tmp_path / "careless.py"
    careless.write_text('''"""Lists MEM#<tid>#<uid> from gsi2pk: prose, not code."""
from mypy_boto3_dynamodb import DynamoDBClient
from switchboard import aws

def mine(tenant, user):
    aws.client("dynamodb").query(IndexName="GSI2", KeyConditionExpression="gsi2pk = :p",
                                 ExpressionAttributeValues={":p": {"S": f"MEM#{tenant}#{user}"}})
''')
    # When both checks read it
    spelled, uses = _key_strings(careless, tmp_path), _dynamodb_uses(careless, tmp_path)
    # Then the key check sees the key prefix and both index names, and not the docstring
    assert sorted(hit.split(": ", 1)[1] for hit in spelled) == ["'GSI2'", "'MEM#'", "'gsi2pk = :p'"]
    # And the DynamoDB check sees the import and the client
    assert sorted(hit.split(": ", 1)[1] for hit in uses) == [
        "'dynamodb'", "import mypy_boto3_dynamodb", "import mypy_boto3_dynamodb.DynamoDBClient"]


def test_only_the_store_reaches_dynamodb():
    # Given every module outside the store
    # Then none imports boto3's DynamoDB types or names the service for a client
    assert [hit for source in _outside_the_store() for hit in _dynamodb_uses(source)] == []
