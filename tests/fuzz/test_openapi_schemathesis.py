"""Schemathesis against ``switchboard dev``: requests made from the OpenAPI document the
stack serves (``GET /openapi.json``), over real HTTP, and every answer held to that document.

Checks: no 5xx; the status is one the operation documents; the content type is the one
documented for it (``application/problem+json`` for problems); the body matches its schema
(the token response, the problem with its ``code`` enum per status); documented response
headers are present. Bearer routes get a real access token of the seeded tenant's admin
(signed in again when an example ended its session), so they are exercised past the
authentication, not only refused at it.

The dev stack runs with raised rate limits (``--env RATE_LIMIT_IP=...``): hundreds of
requests from one address would otherwise be answered 429 after the first minute's quota,
and the run would explore nothing else. Examples per operation: ``SCHEMATHESIS_EXAMPLES``
(default 15, derandomized so CI runs the same ones; ``FUZZ_SEED=random`` explores anew).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ADMIN, ROOT, SEED, TENANT, DevStack

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
LIMITS = "1000000/10000000"  # per minute / per hour: out of the way of the examples


class Admin:
    """The seeded tenant's admin, signed in over HTTP; again when an example ended the session
    (``POST /auth/revoke`` of one's own session is a valid request)."""

    def __init__(self, base: str) -> None:
        self.base, self.session = base, requests.Session()
        self.token = self._sign_in()

    def _sign_in(self) -> str:
        r = self.session.post(f"{self.base}/auth/internal",
                              json={"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]},
                              timeout=30)
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def header(self) -> dict[str, str]:
        if self.session.get(f"{self.base}/auth/me", headers={"authorization": f"Bearer {self.token}"},
                            timeout=30).status_code != 200:
            self.token = self._sign_in()
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def schemathesis_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    seed: Path = tmp_path_factory.mktemp("seed") / "seed.json"
    seed.write_text(json.dumps(SEED))
    stack = DevStack(["--seed", str(seed), "--env", f"RATE_LIMIT_IP={LIMITS}", "--env", f"RATE_LIMIT_ACCOUNT={LIMITS}"])
    yield stack
    assert stack.stop() == 0, stack.output[-3000:]


@pytest.fixture(scope="module")
def admin(schemathesis_stack: DevStack) -> Admin:
    return Admin(schemathesis_stack.http)


@pytest.fixture(scope="module")
def api_schema(schemathesis_stack: DevStack) -> Any:
    return schemathesis.openapi.from_url(f"{schemathesis_stack.http}/openapi.json")


# The operations, read from the committed document (tests/local/test_openapi.py keeps it equal to
# the served one) so that each is a test of its own. (schemathesis.pytest.from_fixture would
# read them from the stack, but its lazy loader fails on pytest 9: no ``Function._nodeid``.)
OPERATIONS = [(method.upper(), path)
              for path, item in json.loads((ROOT / "docs" / "openapi.json").read_text())["paths"].items()
              for method in item]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@given(data=st.data())
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=os.environ.get("FUZZ_SEED") != "random",
          suppress_health_check=list(HealthCheck))
def test_every_answer_conforms_to_the_document(method: str, path: str, data: st.DataObject, api_schema: Any,
                                               schemathesis_stack: DevStack, admin: Admin) -> None:
    # Given a request the document allows, or one with something wrong in it, with a real
    # bearer token where the operation wants one
    operation = api_schema[path][method]
    case = data.draw(st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                               operation.as_strategy(GenerationMode.NEGATIVE)))
    wants_bearer = any("bearerAuth" in s for s in operation.definition.raw.get("security", []))
    headers = admin.header() if wants_bearer else None
    # When it is sent to the running stack, Then the answer is no 5xx and is what the document says
    case.call_and_validate(base_url=schemathesis_stack.http, headers=headers, checks=CHECKS, timeout=60)
