"""POST /auth/exchange - a website's own JWT for a level-1 visitor (contract section 7).

The website's issuer is real: RSA and EC keys made with ``cryptography``, a JWKS served over
HTTP on loopback (tests/jwks_server.py), tokens signed by pyjwt. Each refusal below fails if
its check is taken out of ``switchboard.auth.exchange``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from msgspec.structs import replace
from switchboard.auth.identity import chat_safe_id, exchanged_visitor_id
from switchboard.models import TrustedIssuer

from tests.conftest import ORIGIN, TENANT
from tests.jwks_server import Issuer, JwksServer, jwks_server

JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


@pytest.fixture
def issuers(seeded: Any, svc: Any) -> Iterator[tuple[JwksServer, Issuer, Issuer]]:
    """The acme tenant trusts two website issuers, ``shop`` and ``blog``, each with its own JWKS."""
    from switchboard.auth import exchange

    with jwks_server() as server:
        shop, blog = server.issuer("shop"), server.issuer("blog")
        tenant = svc.store.tenants.get(TENANT)
        svc.store.tenants.put(replace(tenant, trusted_issuers=(TrustedIssuer(**shop.config()),
                                                               TrustedIssuer(**blog.config()))))
        svc.tenants.forget()
        exchange.forget_keys()
        yield server, shop, blog
        exchange.forget_keys()


def _exchange(call: Any, token: str, **extra: Any) -> dict[str, Any]:
    headers = extra.pop("headers", {"origin": ORIGIN})
    body = {"tenant": TENANT, "subject_token": token, "subject_token_type": JWT_TYPE, **extra}
    return call("POST /auth/exchange", body=body, headers=headers)


def _refused(r: dict[str, Any]) -> None:
    assert r["status"] == 401, r
    assert r["json"]["code"] == "invalid_identity"
    assert "access_token" not in r["json"]


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_a_trusted_issuers_token_makes_a_level_1_visitor(call, issuers, svc, alg):
    _, shop, _ = issuers
    # When the widget hands over the website's token, signed with any allowed algorithm
    r = _exchange(call, shop.token(alg))
    # Then the visitor is a known level-1 visitor with the stable id of (issuer, sub) and the token's name
    assert r["status"] == 200, r
    expected = exchanged_visitor_id(shop.issuer, "customer-42")
    assert r["json"]["user"] == {"id": expected, "role": "visitor", "level": 1, "anonymous": False,
                                 "name": "Jo Shopper"}
    claims = svc.tokens.verify_access(r["json"]["access_token"])
    assert claims.sub == expected and claims.lvl == 1 and claims.anon is False
    assert jwt.decode(r["json"]["access_token"], options={"verify_signature": False})["client_id"] == \
        "switchboard-widget"
    assert svc.tokens.verify_chat(r["json"]["chat_token"]).sub == expected
    # And the browser may read the answer
    assert r["headers"]["Access-Control-Allow-Origin"] == ORIGIN


def test_the_visitor_id_is_stable_and_chat_safe(call, issuers):
    _, shop, _ = issuers
    first = _exchange(call, shop.token(sub="Customer|42"))["json"]["user"]["id"]
    again = _exchange(call, shop.token("ES256", sub="Customer|42"))["json"]["user"]["id"]
    assert first == again
    assert first.startswith("x-customer42-") and len(first) <= 128
    assert all(c in "abcdefghijklmnopqrstuvwxyz0123456789@_-" for c in first)


def test_two_issuers_never_collide(call, issuers):
    _, shop, blog = issuers
    # Given the same user id from two issuers the tenant trusts
    a = _exchange(call, shop.token(sub="customer-42"))
    b = _exchange(call, blog.token(sub="customer-42"))
    # Then they are two chat users
    assert a["status"] == b["status"] == 200
    assert a["json"]["user"]["id"] != b["json"]["user"]["id"]


def test_the_derivation_keeps_pairs_apart_that_a_naive_join_would_merge():
    # ("https://shop.", "c") and ("https://shop", ".c") join to the same text and read the same
    # ("c"); the JSON pair keeps them apart
    assert exchanged_visitor_id("https://shop.", "c") != exchanged_visitor_id("https://shop", ".c")
    assert exchanged_visitor_id("https://shop", "Bob") != exchanged_visitor_id("https://shop", "bob")
    # and no provider id mapped by chat_safe_id takes the exchange's form
    taken = exchanged_visitor_id("https://shop", "bob")
    assert chat_safe_id(taken) != taken and chat_safe_id(taken).startswith("h-")


def test_an_untrusted_issuer_is_refused(call, issuers):
    server, shop, _ = issuers
    # a token signed by the trusted key, but naming an issuer the tenant does not list
    _refused(_exchange(call, shop.token(iss="https://evil.test")))
    # and a token of an issuer that is real but trusted by nobody here (its JWKS is never fetched)
    stranger = server.issuer("stranger")
    before = len(server.hits)
    _refused(_exchange(call, stranger.token()))
    assert not [h for h in server.hits[before:] if h.startswith("/stranger/")]


def test_an_issuer_trusted_by_another_tenant_only_is_refused(call, issuers, svc):
    _, shop, _ = issuers
    r = call("POST /auth/exchange", body={"tenant": "globex", "subject_token": shop.token(),
                                          "subject_token_type": JWT_TYPE})
    _refused(r)


def test_a_token_for_another_audience_is_refused(call, issuers):
    _, shop, _ = issuers
    _refused(_exchange(call, shop.token(aud="another-service")))
    _refused(_exchange(call, shop.token(aud=["another-service"])))


def test_a_token_without_an_audience_is_refused(call, issuers):
    _, shop, _ = issuers
    claims = shop.claims()
    del claims["aud"]
    token = jwt.encode(claims, shop.rsa, algorithm="RS256", headers={"kid": "shop-rsa"})
    _refused(_exchange(call, token))


def test_an_expired_token_is_refused(call, issuers):
    _, shop, _ = issuers
    _refused(_exchange(call, shop.token(exp=int(time.time()) - 60)))


def test_a_token_without_expiry_is_refused(call, issuers):
    _, shop, _ = issuers
    claims = shop.claims()
    del claims["exp"]
    _refused(_exchange(call, jwt.encode(claims, shop.rsa, algorithm="RS256", headers={"kid": "shop-rsa"})))


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_a_token_from_the_future_is_refused(call, issuers, claim):
    _, shop, _ = issuers
    _refused(_exchange(call, shop.token(**{claim: int(time.time()) + 600})))


def test_a_bad_signature_is_refused(call, issuers):
    _, shop, _ = issuers
    # signed by another RSA key under the trusted key's kid
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _refused(_exchange(call, shop.token("RS256", key=other, kid="shop-rsa")))
    # the right token with its signature edited
    head, body, sig = shop.token().split(".")
    flipped = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
    _refused(_exchange(call, f"{head}.{body}.{flipped}"))
    # the right signature over edited claims
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "customer-1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    _refused(_exchange(call, f"{head}.{forged}.{sig}"))


def test_a_key_of_another_issuer_is_refused(call, issuers):
    _, shop, blog = issuers
    # blog's key signs a token naming shop (kid: blog's): shop's JWKS has no such key
    _refused(_exchange(call, shop.token("RS256", key=blog.rsa, kid="blog-rsa")))


def test_alg_none_is_refused(call, issuers):
    _, shop, _ = issuers
    token = jwt.encode(shop.claims(), None, algorithm="none", headers={"kid": "shop-rsa"})
    _refused(_exchange(call, token))


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """An HS256 token made by hand: pyjwt (rightly) refuses to use a public key as an HMAC secret."""
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "." + b64(
        json.dumps(claims).encode())
    return signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest())


@pytest.mark.parametrize("form", ["pem", "jwk-n"])
def test_algorithm_confusion_hs256_with_the_public_key_is_refused(call, issuers, form):
    _, shop, _ = issuers
    # the attacker knows the public key (it is published) and "signs" with it as an HMAC secret
    public = shop.rsa.public_key()
    secret = (public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
              if form == "pem" else shop.published[0]["n"].encode())
    _refused(_exchange(call, _hs256(shop.claims(), secret, "shop-rsa")))


@pytest.mark.parametrize("alg", ["RS384", "ES384", "EdDSA", "HS512"])
def test_algorithms_off_the_list_are_refused(call, issuers, alg):
    _, shop, _ = issuers
    if alg == "ES384":
        from cryptography.hazmat.primitives.asymmetric import ec

        token = jwt.encode(shop.claims(), ec.generate_private_key(ec.SECP384R1()), algorithm=alg,
                           headers={"kid": "shop-ec"})
    elif alg == "EdDSA":
        from cryptography.hazmat.primitives.asymmetric import ed25519

        token = jwt.encode(shop.claims(), ed25519.Ed25519PrivateKey.generate(), algorithm=alg,
                           headers={"kid": "shop-ec"})
    elif alg == "HS512":
        token = jwt.encode(shop.claims(), "x" * 64, algorithm=alg, headers={"kid": "shop-rsa"})
    else:  # RS384 with the trusted RSA key itself: a valid signature, an algorithm not on the list
        token = shop.token(alg)
    _refused(_exchange(call, token))


@pytest.mark.parametrize("sub", [None, "", 12.5, True, ["customer-42"], "x" * 257])
def test_a_token_without_a_usable_user_claim_is_refused(call, issuers, sub):
    _, shop, _ = issuers
    claims = shop.claims(sub=sub)
    if sub is None:
        del claims["sub"]
    _refused(_exchange(call, jwt.encode(claims, shop.rsa, algorithm="RS256", headers={"kid": "shop-rsa"})))


def test_the_configured_user_and_name_claims_are_read(call, issuers, svc):
    _, shop, _ = issuers
    tenant = svc.store.tenants.get(TENANT)
    svc.store.tenants.put(replace(tenant, trusted_issuers=(TrustedIssuer(**shop.config(
        user_claim="uid", name_claim="display")),)))
    svc.tenants.forget()
    r = _exchange(call, shop.token(sub="ignored", uid=1234, display="  Mo  "))
    assert r["status"] == 200, r
    assert r["json"]["user"]["id"] == exchanged_visitor_id(shop.issuer, "1234")
    assert r["json"]["user"]["name"] == "Mo"


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "e30.e30.", "x" * 8192])
def test_garbage_is_refused(call, issuers, token):
    _refused(_exchange(call, token))


def test_another_token_type_is_a_validation_error(call, issuers):
    _, shop, _ = issuers
    r = _exchange(call, shop.token(), subject_token_type="urn:ietf:params:oauth:token-type:access_token")
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"


def test_an_origin_the_tenant_does_not_allow_is_forbidden(call, issuers):
    _, shop, _ = issuers
    r = _exchange(call, shop.token(), headers={"origin": "https://evil.test"})
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"


def test_a_refusal_is_audited_without_the_token(call, issuers, svc, json_logs):
    _, shop, _ = issuers
    token = shop.token(aud="another-service")
    _refused(_exchange(call, token))
    events, _ = svc.store.events.page(TENANT, limit=5)
    assert events[0].kind == "sign_in_failed" and events[0].detail["reason"] == "invalid_identity"
    assert token not in json.dumps([e.detail for e in events]) and token not in json_logs.text


def test_forged_kids_refetch_the_jwks_at_most_every_30_seconds(call, issuers):
    server, shop, _ = issuers
    assert _exchange(call, shop.token())["status"] == 200  # the set is fetched and cached
    before = len(server.hits)
    for n in range(5):
        _refused(_exchange(call, shop.token(kid=f"forged-{n}")))
    # one refetch for the first unknown kid, none for the next four
    assert len(server.hits) - before == 1
    # and a real token still passes from the cache, without another fetch
    assert _exchange(call, shop.token("ES256"))["status"] == 200
    assert len(server.hits) - before == 1


def test_a_rotated_key_is_found_by_one_refetch(call, issuers):
    _, shop, _ = issuers
    assert _exchange(call, shop.token())["status"] == 200
    # the website rotates: a new key is published after the set was cached
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    from jwt.algorithms import RSAAlgorithm

    shop.published.append({**json.loads(RSAAlgorithm.to_jwk(new.public_key())), "kid": "shop-rsa-2"})
    assert _exchange(call, shop.token("RS256", key=new, kid="shop-rsa-2"))["status"] == 200


def test_an_unreachable_jwks_is_unavailable_not_a_refusal(call, issuers):
    server, shop, _ = issuers
    server.down = True
    r = _exchange(call, shop.token())
    assert r["status"] == 503 and r["json"]["code"] == "unavailable"


def test_the_anonymous_conversation_is_carried_over(call, issuers, svc):
    _, shop, _ = issuers
    # Given an anonymous visitor
    anon = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": ORIGIN})["json"]
    # When they hand the website's token over with their anonymous session's access token
    r = _exchange(call, shop.token(), headers={"origin": ORIGIN, "authorization": f"Bearer {anon['access_token']}"})
    assert r["status"] == 200, r
    # Then the anonymous session has ended (its conversation, if any, moved to the known visitor)
    me = call("GET /auth/me", token=anon["access_token"])
    assert me["status"] == 401 and me["json"]["code"] == "session_revoked"
