"""The OpenAPI document (``switchboard openapi``, ``docs/openapi.json``, ``GET /openapi.json``
of ``switchboard dev``): valid, the same everywhere, and naming what the handlers really read."""

from __future__ import annotations

import json
import subprocess
import typing
import urllib.request
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from openapi_spec_validator import validate
from switchboard.edge import validation

from switchboard_local.openapi import SKIPPED, document, render
from switchboard_local.template import Template
from tests.conftest import ROOT, DevStack, switchboard_command

COMMITTED = ROOT / "docs" / "openapi.json"


def test_the_document_is_valid_openapi_3_1(template: Template) -> None:
    # Given the document made from the template and the request models
    doc = document(template)
    # Then openapi-spec-validator accepts it, as OpenAPI 3.1
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_the_committed_document_is_a_fresh_generation() -> None:
    # Given the CLI a newcomer runs (`make openapi`), When it prints the document
    fresh = subprocess.run([*switchboard_command(), "openapi"], cwd=ROOT, capture_output=True, text=True, check=True)
    # Then docs/openapi.json holds exactly that: regenerate it (make openapi) after changing a route or a model
    assert COMMITTED.read_text() == fresh.stdout


@pytest.mark.e2e
def test_the_dev_stack_serves_the_committed_document(dev_stack: DevStack) -> None:
    # When a client generator fetches the document from the running stack
    with urllib.request.urlopen(f"{dev_stack.http}/openapi.json", timeout=30) as r:
        served, kind = r.read().decode(), r.headers["Content-Type"]
    # Then it is the committed one, as JSON
    assert kind.startswith("application/json")
    assert served == COMMITTED.read_text()


def test_every_http_route_of_the_template_is_documented(template: Template) -> None:
    doc = document(template)
    documented = {f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in item}
    assert documented == {r.route_key for r in template.http_routes()} - SKIPPED


def test_a_route_missing_from_the_generator_is_refused(template: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a template route the generator has no description for
    from switchboard_local import openapi

    monkeypatch.delitem(openapi.ROUTES, "GET /staff")
    # Then no document is made without it
    with pytest.raises(KeyError, match="GET /staff"):
        render(template)


def test_problems_and_tokens_are_described_as_the_contract_says(template: Template) -> None:
    doc = document(template)
    components = doc["components"]
    problem = components["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert set(problem["properties"]["code"]["enum"]) >= {
        "validation_error", "invalid_credentials", "invalid_identity", "mfa_required", "invalid_mfa", "invalid_token",
        "token_reused", "session_revoked", "forbidden", "not_found", "rate_limited", "unavailable"}
    assert set(components["responses"]["Problem429"]["headers"]) == {"Retry-After", "RateLimit-Policy", "RateLimit"}
    tokens = components["schemas"]["TokenResponse"]
    assert set(tokens["required"]) == {"access_token", "token_type", "expires_in", "refresh_token", "chat_token",
                                       "user"}
    ops = {f"{m.upper()} {p}": op for p, item in doc["paths"].items() for m, op in item.items()}
    assert ops["GET /auth/me"]["security"] == [{"bearerAuth": []}]
    assert ops["POST /hooks/post-login"]["security"] == [{"hookSignature": []}]
    assert components["securitySchemes"]["hookSignature"]["name"].lower() == "switchboard-signature"
    assert ops["POST /auth/external"]["security"] == []


def test_a_real_429_conforms_to_the_document(template: Template, call: Callable[..., dict[str, Any]],
                                             seeded: dict[str, Any]) -> None:
    import jsonschema

    # Given a client over its sign-in quota
    for _ in range(200):
        r = call("POST /auth/internal", body={"tenant": "acme", "email": "nobody@acme.test", "password": "x"},
                 source_ip="192.0.2.7")
        if r["status"] == 429:
            break
    # Then its 429 carries the documented headers and a body the documented schema accepts
    assert r["status"] == 429, r
    doc = document(template)
    response = doc["components"]["responses"]["Problem429"]
    assert {name.lower() for name in response["headers"]} <= {name.lower() for name in r["headers"]}
    assert r["headers"]["Content-Type"] in response["content"]
    schema = {**response["content"]["application/problem+json"]["schema"], "components": doc["components"]}
    jsonschema.validate(r["json"], schema)


def _named_models(operation: dict[str, Any]) -> set[str]:
    """The request models an operation's document names: its body's, and its query's."""
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    refs = [schema, *schema.get("anyOf", [])]
    return {ref["$ref"].rsplit("/", 1)[1] for ref in refs if "$ref" in ref}


def test_every_handler_decodes_only_the_models_its_document_names(
        template: Template, call: Callable[..., dict[str, Any]], admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a record of every type the layer's validation decodes or converts a request into
    seen: list[Any] = []
    decoder, convert = validation._decoder, msgspec.convert

    def spying_decoder(type: Any) -> Any:
        seen.append(type)
        return decoder(type)

    def spying_convert(obj: Any, type: Any, **kwargs: Any) -> Any:
        seen.append(type)
        return convert(obj, type, **kwargs)

    monkeypatch.setattr(validation, "_decoder", spying_decoder)
    monkeypatch.setattr(msgspec, "convert", spying_convert)
    doc = document(template)
    for route in template.http_routes():
        if route.route_key in SKIPPED:
            continue
        operation = doc["paths"][route.path][route.method.lower()]
        params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        seen.clear()
        # When each route's real handler gets a request (an admin's, so it gets past authentication)
        call(route.route_key, body={}, token=admin, path_params={n: "x" for n in ("tenant", "id")},
             query={"limit": "5"} if params else None)
        # Then every request model it decoded is one its operation names: as the body, or as the query
        decoded = {t for seen_type in seen for t in (typing.get_args(seen_type) or (seen_type,))
                   if isinstance(t, type) and issubclass(t, msgspec.Struct) and "requests" in t.__module__}
        for model in decoded:
            as_query = params == {f.encode_name for f in msgspec.structs.fields(model)}
            assert model.__name__ in _named_models(operation) or as_query, \
                f"{route.route_key} decodes {model.__name__}, which its document does not name"
        if "requestBody" in operation:
            assert decoded, f"{route.route_key}: the document names a body its handler never decodes"


def test_the_openapi_command_writes_a_file(tmp_path: Any) -> None:
    out = tmp_path / "openapi.json"
    subprocess.run([*switchboard_command(), "openapi", "-o", str(out)], cwd=ROOT, check=True)
    assert json.loads(out.read_text())["paths"]


def test_every_pattern_in_the_document_is_a_valid_javascript_pattern_with_the_same_meaning():
    # JSON Schema patterns are ECMA-262 (ajv compiles them with the "u" flag): Python's \Z or an
    # escaped quote would make a client refuse every value or fail to compile the schema
    import shutil

    node = shutil.which("node")
    assert node, "node is installed by `make test` (package-lock.json)"
    script = r"""
const doc = require(process.argv[1]); const found = new Set();
(function walk(o) { if (o && typeof o === "object") for (const [k, v] of Object.entries(o))
  (k === "pattern" && typeof v === "string") ? found.add(v) : walk(v); })(doc);
const out = {bad: [], count: found.size};
for (const p of found) { try { new RegExp(p, "u"); } catch (e) { out.bad.push(p + ": " + e.message); } }
const mail = [...found].find((p) => p.includes("(?=[^@]"));
out.mail = ["ana@acme.test", "x,y@b.co", "Eve<a@evil.com>", "ana@acme.test\n"]
  .map((s) => new RegExp(mail, "u").test(s));
const hour = [...found].find((p) => p.includes("24:00"));
out.hour = ["09:30", "24:00", "24:01", "9:30"].map((s) => new RegExp(hour, "u").test(s));
console.log(JSON.stringify(out));
"""
    out = json.loads(subprocess.run([node, "-e", script, str(ROOT / "docs" / "openapi.json")], capture_output=True,
                                    text=True, timeout=60, check=True).stdout)
    assert out["count"] > 10 and out["bad"] == []
    assert out["mail"] == [True, False, False, False]
    assert out["hour"] == [True, True, False, False]
