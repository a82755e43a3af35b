"""``user.attributes`` on POST /auth/external and /auth/exchange (contract section 8): signed by
the website's ``attributes_hash`` (or covered by its token), or kept as unsigned; never mixed,
bounded, and a wrong signature refuses the sign-in and stores nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from msgspec.structs import replace
from switchboard.auth.identity import attributes_hash, known_visitor_id, visitor_hash

from tests.conftest import IDENTITY_SECRET, ORIGIN, ROOT, TENANT
from tests.jwks_server import Issuer, jwks_server

ATTRS = {"plan": "gold", "orders": 12, "vip": True, "ltv": 99.5, "account": "https://shop.example/admin/c/42"}
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def external(call: Any, user: dict[str, Any]) -> dict[str, Any]:
    return call("POST /auth/external", body={"tenant": TENANT, "user": user}, headers={"origin": ORIGIN})


def signed_user(user_id: str = "customer-42", attrs: dict[str, Any] | None = None,
                secret: str = IDENTITY_SECRET) -> dict[str, Any]:
    attrs = ATTRS if attrs is None else attrs
    return {"id": user_id, "name": "Jo", "hash": visitor_hash(secret, user_id), "attributes": attrs,
            "attributes_hash": attributes_hash(secret, user_id, attrs)}


def stored(svc: Any, user_id: str = "customer-42") -> Any:
    return svc.store.visitors.attributes(TENANT, known_visitor_id(user_id))


def test_signed_attributes_are_kept_as_signed(call, svc, seeded):
    # When the website signs its visitor in with attributes and their hash
    r = external(call, signed_user())
    # Then the sign-in works and the visitor's attributes are kept, marked signed
    assert r["status"] == 200, r
    got = stored(svc)
    assert (got.values, got.signed) == (ATTRS, True)


def test_attributes_without_a_hash_are_kept_as_unsigned(call, svc, seeded):
    user = signed_user()
    del user["attributes_hash"]
    assert external(call, user)["status"] == 200
    got = stored(svc)
    assert (got.values, got.signed) == (ATTRS, False)
    # and the next sign-in's set replaces the whole set: signed and unsigned never mix
    assert external(call, signed_user(attrs={"plan": "silver"}))["status"] == 200
    got = stored(svc)
    assert (got.values, got.signed) == ({"plan": "silver"}, True)


@pytest.mark.parametrize("tamper", ["wrong hash", "changed value", "added attribute", "other user's hash",
                                    "hash of the id only"])
def test_a_wrong_attributes_hash_refuses_the_sign_in_and_keeps_nothing(call, svc, seeded, tamper):
    user = signed_user()
    if tamper == "wrong hash":
        user["attributes_hash"] = "ab" * 32
    elif tamper == "changed value":
        user["attributes"] = {**ATTRS, "plan": "platinum"}
    elif tamper == "added attribute":
        user["attributes"] = {**ATTRS, "admin": True}
    elif tamper == "other user's hash":
        user["attributes_hash"] = attributes_hash(IDENTITY_SECRET, "customer-43", ATTRS)
    else:
        user["attributes_hash"] = user["hash"]
    r = external(call, user)
    assert r["status"] == 401 and r["json"]["code"] == "invalid_identity", r
    assert stored(svc) is None


@pytest.mark.parametrize("attrs", [
    {"nested": {"a": 1}},
    {"list": [1, 2]},
    {"null": None},
    {"bad name": "x"},
    {"long": "x" * 1001},
    {f"k{i}": i for i in range(51)},
    {f"key{i}": "v" * 990 for i in range(5)},  # each value fits; the set is over 4 KB
])
def test_attributes_that_are_not_a_flat_object_of_4_kb_are_a_400(call, svc, seeded, attrs):
    r = external(call, signed_user(attrs=attrs))
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    assert stored(svc) is None


def test_the_old_identity_secret_signs_attributes_inside_its_grace(call, admin, svc, monkeypatch):
    from switchboard.auth import visitors

    now = int(time.time())
    r = call("POST /admin/tenant/identity-secret", token=admin, body={"grace_seconds": 3600})
    new = r["json"]["secret"]
    monkeypatch.setattr(visitors, "time", SimpleNamespace(time=lambda: now + 3590, monotonic=time.monotonic))
    assert external(call, signed_user(secret=IDENTITY_SECRET))["status"] == 200
    assert external(call, signed_user(secret=new))["status"] == 200
    monkeypatch.setattr(visitors, "time", SimpleNamespace(time=lambda: now + 3601, monotonic=time.monotonic))
    old = signed_user(secret=IDENTITY_SECRET)
    old["hash"] = visitor_hash(new, "customer-42")  # the id signed right, the attributes by the retired secret
    assert external(call, old)["status"] == 401


def test_a_new_sign_in_updates_the_open_conversation(call, chat, svc, seeded):
    from tests.chat_support import visitor_tokens

    # Given a known visitor with an open conversation
    tokens = visitor_tokens(call, user=signed_user(attrs={"plan": "gold"}))
    guest = chat.connect(tokens)
    channel = guest.ok("support.open")["channel"]
    assert svc.store.channels.get(channel["id"]).attributes == {"plan": "gold"}
    # When the website signs them in again with new attributes
    assert external(call, signed_user(attrs={"plan": "platinum"}))["status"] == 200
    # Then the conversation shows the new set
    ch = svc.store.channels.get(channel["id"])
    assert (ch.attributes, ch.attributes_signed) == ({"plan": "platinum"}, True)


def test_the_documented_worked_example_is_right():
    # docs/integrations.md shows one attributes_hash worked out: it must be what we verify
    doc = (ROOT / "docs" / "integrations.md").read_text()
    example = attributes_hash("sk_example_identity_secret", "customer-42", {"plan": "gold", "orders": 12})
    assert example in doc
    assert '{"orders":12,"plan":"gold"}' in doc


# -- the trusted-token form -------------------------------------------------------------------------
@pytest.fixture
def shop(seeded: Any, svc: Any) -> Iterator[Issuer]:
    from switchboard.auth import exchange
    from switchboard.models import TrustedIssuer

    with jwks_server() as server:
        issuer = server.issuer("shop")
        tenant = svc.store.tenants.get(TENANT)
        svc.store.tenants.put(replace(tenant, trusted_issuers=(TrustedIssuer(**issuer.config()),)))
        svc.tenants.forget()
        exchange.forget_keys()
        yield issuer
        exchange.forget_keys()


def _exchange(call: Any, token: str, **extra: Any) -> dict[str, Any]:
    body = {"tenant": TENANT, "subject_token": token, "subject_token_type": JWT_TYPE, **extra}
    return call("POST /auth/exchange", body=body, headers={"origin": ORIGIN})


def _exchanged(svc: Any, shop: Issuer) -> Any:
    from switchboard.auth.identity import exchanged_visitor_id

    return svc.store.visitors.attributes(TENANT, exchanged_visitor_id(shop.issuer, "customer-42"))


def test_the_tokens_attributes_claim_is_signed(call, svc, shop):
    r = _exchange(call, shop.token(attributes=ATTRS))
    assert r["status"] == 200, r
    got = _exchanged(svc, shop)
    assert (got.values, got.signed) == (ATTRS, True)


def test_attributes_in_the_body_beside_a_token_are_unsigned(call, svc, shop):
    r = _exchange(call, shop.token(), user={"attributes": {"plan": "gold"}})
    assert r["status"] == 200, r
    got = _exchanged(svc, shop)
    assert (got.values, got.signed) == ({"plan": "gold"}, False)


def test_attributes_in_both_places_are_a_400(call, svc, shop):
    r = _exchange(call, shop.token(attributes=ATTRS), user={"attributes": {"plan": "platinum"}})
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    assert _exchanged(svc, shop) is None


@pytest.mark.parametrize("claim", [{"nested": {"a": 1}}, ["plan"], "gold", {"k": "x" * 1001}])
def test_a_malformed_attributes_claim_refuses_the_token(call, svc, shop, claim):
    r = _exchange(call, shop.token(attributes=claim))
    assert r["status"] == 401 and r["json"]["code"] == "invalid_identity", r
    assert _exchanged(svc, shop) is None
