"""Single sign-on for staff (contract section 7) against a real OpenID provider: the npm
``oidc-provider`` run by Node on loopback (tests/oidc_support.py), its sign-in page driven over
real HTTP. The code flow end to end, then each refusal - each test fails when its check is
removed (see docs/testing.md, "SSO")."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from tests.conftest import ADMIN, OPERATOR, ORIGIN, SEED, TENANT
from tests.oidc_support import OidcProvider, node_ready, sign_in_at_provider, token_for_another_client

pytestmark = pytest.mark.skipif(node_ready() is not None, reason=str(node_ready()))

API = "http://api.test"  # PUBLIC_API_URL: the redirect URI registered at the provider
CALLBACK = f"{API}/auth/oidc/corp/callback"
CALLBACK_HS = f"{API}/auth/oidc/corphs/callback"
OTHER_APP = "http://other.test/cb"
SECRET = "corp-client-secret-0123456789abcdef"
RETURN_TO = f"{ORIGIN}/backoffice/"
ACCOUNTS = [
    {"login": "ana", "password": "ana-at-corp", "sub": "corp-ana", "email": "ana@acme.test", "email_verified": True,
     "name": "Ana Corp"},
    {"login": "newbie", "password": "newbie-at-corp", "sub": "corp-newbie", "email": "newbie@corp.test",
     "email_verified": True, "name": "New Bie"},
    {"login": "stranger", "password": "stranger-pw", "sub": "corp-stranger", "email": "stranger@else.test",
     "email_verified": True, "name": "Stranger"},
    {"login": "otto", "password": "otto-at-corp", "sub": "corp-otto", "email": "otto@acme.test",
     "email_verified": False, "name": "Otto?"},
]


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    provider = OidcProvider(clients=[
        {"client_id": "switchboard", "client_secret": SECRET, "redirect_uris": [CALLBACK]},
        # a client the IdP signs ID tokens for with HS256 (the client secret as key): refused by us
        {"client_id": "switchboard-hs", "client_secret": SECRET + "-hs", "redirect_uris": [CALLBACK_HS],
         "id_token_signed_response_alg": "HS256"},
        {"client_id": "other-app", "client_secret": "other-app-secret-0123456789abcdef",
         "redirect_uris": [OTHER_APP]},
    ], accounts=ACCOUNTS)
    yield provider
    provider.stop()


def sso_seed(issuer: str) -> dict[str, Any]:
    seed = json.loads(json.dumps(SEED))
    seed["tenants"][0]["identity_providers"] = [
        {"id": "corp", "kind": "oidc", "name": "Corp SSO", "issuer": issuer, "client_id": "switchboard",
         "client_secret": SECRET, "scopes": ["openid", "email", "profile"], "allowed_domains": ["corp.test"]},
        {"id": "corphs", "kind": "oidc", "name": "Corp HS", "issuer": issuer, "client_id": "switchboard-hs",
         "client_secret": SECRET + "-hs", "allowed_domains": ["corp.test"]},
    ]
    return seed


@pytest.fixture
def sso(idp: OidcProvider, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> OidcProvider:
    from switchboard.auth import oidc
    from switchboard.runtime import reset_caches, services

    from switchboard_local.seed import apply_seed

    monkeypatch.setenv("PUBLIC_API_URL", API)
    reset_caches()
    oidc.reset()
    apply_seed(services().store, sso_seed(idp.issuer))
    return idp


def authorize(call, provider: str = "corp", return_to: str = RETURN_TO) -> dict[str, Any]:
    return call("GET /auth/oidc/{provider}/authorize", path_params={"provider": provider},
                query={"tenant": TENANT, "return_to": return_to})


def cookie_header(r: dict[str, Any]) -> str:
    return "; ".join(c.split(";", 1)[0] for c in r["cookies"])


def callback(call, back: dict[str, str], cookie: str | None, provider: str = "corp") -> dict[str, Any]:
    return call("GET /auth/oidc/{provider}/callback", path_params={"provider": provider}, query=back,
                headers={"cookie": cookie} if cookie else None)


def fragment(r: dict[str, Any]) -> dict[str, str]:
    assert r["status"] == 302, r
    location = r["headers"]["Location"]
    assert location.startswith(RETURN_TO + "#"), location
    return {k: v[0] for k, v in parse_qs(location.split("#", 1)[1]).items()}


def sso_sign_in(call, login: str, password: str, *, provider: str = "corp",
                edit_location=lambda url: url) -> dict[str, str]:
    """The whole browser side: authorize, the provider's pages, the callback; the fragment."""
    started = authorize(call, provider)
    assert started["status"] == 302, started
    back = sign_in_at_provider(edit_location(started["headers"]["Location"]), login=login, password=password,
                               until=f"{API}/auth/oidc/{provider}/callback")
    return fragment(callback(call, back, cookie_header(started), provider))


def complete(call, code: str) -> dict[str, Any]:
    return call("POST /auth/oidc/complete", body={"code": code})


def operators(svc) -> dict[str, Any]:
    return {o.email: o for o in svc.store.staff.of_tenant(TENANT)}


# -- the flow -------------------------------------------------------------------------------------------
def test_the_providers_are_listed_without_a_secret(call, sso):
    r = call("GET /auth/providers", query={"tenant": TENANT})
    assert r["status"] == 200
    assert r["json"] == {"password": True, "providers": [{"id": "corp", "kind": "oidc", "name": "Corp SSO"},
                                                         {"id": "corphs", "kind": "oidc", "name": "Corp HS"}]}
    assert SECRET not in json.dumps(r["json"])
    assert call("GET /auth/providers", query={"tenant": "nope"})["status"] == 404


def test_the_client_secret_is_in_secrets_manager_not_in_the_table(sso, svc):
    import boto3

    item = svc.store.client.get_item(TableName=svc.store.table, Key={"pk": {"S": f"T#{TENANT}"},
                                                                      "sk": {"S": "TENANT"}})["Item"]
    assert SECRET not in json.dumps(item)
    assert boto3.client("secretsmanager").get_secret_value(
        SecretId="switchboard-local/oidc/acme/corp")["SecretString"] == SECRET


def test_authorize_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(call, sso):
    r = authorize(call)
    assert r["status"] == 302
    url = urlsplit(r["headers"]["Location"])
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}" == sso.issuer
    assert q["response_type"] == "code" and q["client_id"] == "switchboard" and q["redirect_uri"] == CALLBACK
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 43 and len(q["nonce"]) >= 43 and set(q["scope"].split()) == {"openid", "email",
                                                                                            "profile"}
    # and the flow is bound to this browser by an HttpOnly cookie sent only to the SSO routes
    (cookie,) = r["cookies"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/auth/oidc/" in cookie


def test_the_code_flow_signs_an_invited_admin_in_on_her_record(call, sso, seeded, svc):
    # When Ana signs in at the company's provider with the email she was invited with (verified)
    got = sso_sign_in(call, "ana", "ana-at-corp")
    # Then the browser comes back with a one-time code, swapped for our tokens
    r = complete(call, got["code"])
    assert r["status"] == 200, r
    assert r["json"]["user"]["id"] == seeded[ADMIN["email"]]["id"] and r["json"]["user"]["role"] == "admin"
    me = call("GET /auth/me", token=r["json"]["access_token"])["json"]
    assert me["session"]["method"] == "oidc:corp"
    # And her record now has two ways in
    ids = call("GET /auth/identities", token=r["json"]["access_token"])["json"]["identities"]
    assert [i["kind"] for i in ids] == ["password", "oidc"]
    assert ids[1]["provider"] == "corp" and ids[1]["email"] == "ana@acme.test" and ids[1]["linked_at"] > 0
    # And a second SSO sign-in lands on the same record, linking nothing new
    again = complete(call, sso_sign_in(call, "ana", "ana-at-corp")["code"])
    assert again["json"]["user"]["id"] == seeded[ADMIN["email"]]["id"]
    assert len(operators(svc)["ana@acme.test"].linked) == 1


def test_mfa_is_the_providers_for_sso_identities(call, sso, seeded, svc):
    # Given Ana has TOTP on for her password
    from msgspec.structs import replace

    ana = operators(svc)["ana@acme.test"]
    svc.store.staff.put(replace(ana, totp_enabled=True, totp_secret="JBSWY3DPEHPK3PXP"))
    # When she signs in by SSO, she is not asked for our code (docs/architecture.md, "Single sign-on")
    r = complete(call, sso_sign_in(call, "ana", "ana-at-corp")["code"])
    assert r["status"] == 200
    # while her password alone still is
    pw = call("POST /auth/internal", body={"tenant": TENANT, "email": ADMIN["email"], "password": ADMIN["password"]})
    assert pw["status"] == 401 and pw["json"]["code"] == "mfa_required"


def test_an_allowed_domain_makes_an_operator_listed_and_manageable_like_everyone(call, sso, svc, admin):
    r = complete(call, sso_sign_in(call, "newbie", "newbie-at-corp")["code"])
    assert r["status"] == 200 and r["json"]["user"]["role"] == "operator"
    newbie = operators(svc)["newbie@corp.test"]
    assert r["json"]["user"]["id"] == newbie.id and newbie.password_hash is None
    listed = call("GET /admin/operators", token=admin)["json"]["operators"]
    row = next(o for o in listed if o["email"] == "newbie@corp.test")
    assert row["invited"] is False and row["identities"] == ["oidc:corp"]
    staff = call("GET /staff", token=admin)["json"]["staff"]
    assert newbie.id in [s["id"] for s in staff]


def test_a_person_nobody_invited_is_refused_and_nothing_is_created(call, sso, svc):
    before = set(operators(svc))
    got = sso_sign_in(call, "stranger", "stranger-pw")
    assert got == {"error": "not_invited"}
    assert set(operators(svc)) == before
    assert svc.store.identities.find(TENANT, "oidc:corp", "corp-stranger") is None


def test_an_unverified_email_links_nothing(call, sso, svc):
    # Otto was invited as otto@acme.test; the provider has that address but has not verified it
    got = sso_sign_in(call, "otto", "otto-at-corp")
    assert got == {"error": "email_not_verified"}
    assert operators(svc)["otto@acme.test"].linked == {}
    assert svc.store.identities.find(TENANT, "oidc:corp", "corp-otto") is None


# -- refusals of the flow itself ------------------------------------------------------------------------------
def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    q[name] = value
    return urlunsplit(parts._replace(query=urlencode(q)))


def test_a_wrong_nonce_is_refused(call, sso, svc):
    # the provider puts in the ID token the nonce it was sent: not the one this flow stored
    got = sso_sign_in(call, "ana", "ana-at-corp", edit_location=lambda u: _with_param(u, "nonce", "x" * 43))
    assert got == {"error": "invalid_identity"}
    assert operators(svc)["ana@acme.test"].linked == {}


def test_a_state_from_another_browser_is_refused(call, sso, svc):
    started = authorize(call)
    back = sign_in_at_provider(started["headers"]["Location"], login="ana", password="ana-at-corp", until=CALLBACK)
    # the callback URL opened in another browser: no cookie, or that browser's own cookie
    assert fragment(callback(call, back, None)) == {"error": "invalid_state"}
    assert operators(svc)["ana@acme.test"].linked == {}
    other = authorize(call)
    started2 = authorize(call)
    back2 = sign_in_at_provider(started2["headers"]["Location"], login="ana", password="ana-at-corp", until=CALLBACK)
    forged = cookie_header(other).split("=", 1)[1]
    name = cookie_header(started2).split("=", 1)[0]
    assert fragment(callback(call, back2, f"{name}={forged}")) == {"error": "invalid_state"}
    assert operators(svc)["ana@acme.test"].linked == {}


def test_a_state_never_issued_or_used_twice_is_refused(call, sso):
    started = authorize(call)
    back = sign_in_at_provider(started["headers"]["Location"], login="ana", password="ana-at-corp", until=CALLBACK)
    assert "code" in fragment(callback(call, back, cookie_header(started)))
    replay = callback(call, back, cookie_header(started))
    assert replay["status"] == 401 and replay["json"]["code"] == "invalid_token"
    forged = callback(call, {**back, "state": "never-issued-" + "x" * 40}, cookie_header(started))
    assert forged["status"] == 401 and forged["json"]["code"] == "invalid_token"


def test_a_one_time_code_works_once(call, sso):
    code = sso_sign_in(call, "ana", "ana-at-corp")["code"]
    assert complete(call, code)["status"] == 200
    again = complete(call, code)
    assert again["status"] == 401 and again["json"]["code"] == "invalid_token"


def test_a_one_time_code_expires_after_60_seconds(call, sso, monkeypatch):
    from switchboard.auth import oidc

    code = sso_sign_in(call, "ana", "ana-at-corp")["code"]
    real = time.time
    monkeypatch.setattr(oidc.time, "time", lambda: real() + 61)
    r = complete(call, code)
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"


def test_a_return_to_off_the_tenants_origins_is_400_and_stores_nothing(call, sso, svc):
    for bad in ("https://evil.test/backoffice/", "https://shop.acme.test.evil.test/", "javascript:alert(1)",
                "https://user@shop.acme.test/", f"{ORIGIN}/x#frag", "//evil.test/",
                # control characters: urlsplit drops CR, LF and tab before it looks, the Location
                # header would carry them (found by the probe of the local stack)
                f"{ORIGIN}/\r\nSet-Cookie: x=1", f"{ORIGIN}/\tx", f"{ORIGIN}/a b", f"{ORIGIN}/\x7f"):
        r = authorize(call, return_to=bad)
        assert r["status"] == 400 and r["json"]["code"] == "validation_error", bad
        assert not r["cookies"]


def test_starting_sign_ins_is_rate_limited_per_address_and_a_refused_start_stores_no_state(call, sso, svc,
                                                                                           monkeypatch):
    # every start stores a state record: a script starting sign-ins from one address stops at the
    # address's quota (RateLimitIp, 60 a minute) instead of filling the table
    def states() -> int:
        items = svc.store.client.scan(TableName=svc.store.table)["Items"]  # the test's view only
        return sum(1 for i in items if "verifier" in json.dumps(i))

    from types import SimpleNamespace

    from switchboard.auth import oidc

    # one clock minute for all the starts (the windows are clock minutes)
    frozen = (int(time.time()) // 60) * 60 + 5
    monkeypatch.setattr(oidc, "time", SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic))
    per_minute = svc.settings.rate_limit_ip[0]
    before = states()
    answers = [call("GET /auth/oidc/{provider}/authorize", path_params={"provider": "corp"},
                    query={"tenant": TENANT, "return_to": RETURN_TO}, source_ip="10.7.7.7")["status"]
               for _ in range(per_minute + 1)]
    assert answers == [302] * per_minute + [429]
    assert states() == before + per_minute
    # another address is not held up
    assert call("GET /auth/oidc/{provider}/authorize", path_params={"provider": "corp"},
                query={"tenant": TENANT, "return_to": RETURN_TO}, source_ip="10.7.7.8")["status"] == 302


def test_an_id_token_for_another_audience_is_refused(sso, svc):
    from switchboard.auth import oidc
    from switchboard.errors import InvalidIdentity

    tenant = svc.tenants.get(TENANT)
    corp = tenant.provider("corp")
    meta = oidc.discover(sso.issuer)
    theirs = token_for_another_client(sso, client_id="other-app", client_secret="other-app-secret-0123456789abcdef",
                                      redirect_uri=OTHER_APP, login="ana", password="ana-at-corp", nonce="n" * 43)
    with pytest.raises(InvalidIdentity, match="InvalidAudience"):
        oidc.verify_id_token(meta, corp, theirs, nonce="n" * 43)
    # the same token is good for the client it was issued to (what the check tells apart)
    assert oidc.verify_id_token(meta, corp.__class__(**{**_fields(corp), "client_id": "other-app"}), theirs,
                                nonce="n" * 43)["sub"] == "corp-ana"


def _fields(p: Any) -> dict[str, Any]:
    import msgspec

    return msgspec.structs.asdict(p)


def test_an_hs256_id_token_is_refused(call, sso, svc, json_logs):
    # the provider signs this client's ID tokens with HS256 (the client secret as key)
    got = sso_sign_in(call, "newbie", "newbie-at-corp", provider="corphs")
    assert got == {"error": "invalid_identity"}
    assert "newbie@corp.test" not in operators(svc)
    # refused for its algorithm, before any key is looked up
    assert any("algorithm is not allowed" in str(r.get("reason")) for r in json_logs.records), json_logs.text


def test_an_unsigned_id_token_is_refused(sso, svc):
    from switchboard.auth import oidc
    from switchboard.errors import InvalidIdentity

    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": sso.issuer, "aud": "switchboard", "sub": "corp-ana", "iat": now, "exp": now + 300,
              "nonce": "n" * 43, "email": "ana@acme.test", "email_verified": True}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    corp = svc.tenants.get(TENANT).provider("corp")
    with pytest.raises(InvalidIdentity, match="algorithm"):
        oidc.verify_id_token(oidc.discover(sso.issuer), corp, unsigned, nonce="n" * 43)


# -- identities ------------------------------------------------------------------------------------------
def test_the_last_way_in_cannot_be_unlinked(call, sso, svc):
    # Given a person whose only way in is SSO
    r = complete(call, sso_sign_in(call, "newbie", "newbie-at-corp")["code"])
    token = r["json"]["access_token"]
    (only,) = call("GET /auth/identities", token=token)["json"]["identities"]
    # When they unlink it: 409, and it stays
    gone = call("DELETE /auth/identities/{id}", path_params={"id": only["id"]}, token=token)
    assert gone["status"] == 409 and gone["json"]["code"] == "conflict"
    assert call("GET /auth/identities", token=token)["json"]["identities"] == [only]


def test_unlinking_one_of_two_ways_in_ends_its_sessions(call, sso, tokens_for, svc):
    sso_tokens = complete(call, sso_sign_in(call, "ana", "ana-at-corp")["code"])["json"]
    pw_tokens = tokens_for(ADMIN)
    ids = call("GET /auth/identities", token=pw_tokens["access_token"])["json"]["identities"]
    oidc_id = next(i["id"] for i in ids if i["kind"] == "oidc")
    r = call("DELETE /auth/identities/{id}", path_params={"id": oidc_id}, token=pw_tokens["access_token"])
    assert r["status"] == 200 and r["json"]["revoked_sessions"] == 1
    assert call("GET /auth/me", token=sso_tokens["access_token"])["status"] == 401
    assert call("GET /auth/me", token=pw_tokens["access_token"])["status"] == 200
    # now the password is the last way in
    last = call("DELETE /auth/identities/{id}", path_params={"id": "password"}, token=pw_tokens["access_token"])
    assert last["status"] == 409
    # and the unlinked identity signs in again only by being linked anew (by the invited email)
    again = complete(call, sso_sign_in(call, "ana", "ana-at-corp")["code"])
    assert again["status"] == 200


def test_blocking_a_federated_operator_ends_their_sessions_and_their_sso(call, sso, svc, admin):
    r = complete(call, sso_sign_in(call, "newbie", "newbie-at-corp")["code"])["json"]
    newbie = operators(svc)["newbie@corp.test"]
    blocked = call("PATCH /admin/operators/{id}", path_params={"id": newbie.id}, body={"blocked": True}, token=admin)
    assert blocked["status"] == 200 and blocked["json"]["revoked_sessions"] == 1
    assert call("GET /auth/me", token=r["access_token"])["status"] == 401
    assert call("POST /auth/refresh", body={"refresh_token": r["refresh_token"]})["status"] == 401
    assert sso_sign_in(call, "newbie", "newbie-at-corp") == {"error": "access_denied"}
    # and removing them frees the identity: nothing dangles
    assert call("DELETE /admin/operators/{id}", path_params={"id": newbie.id}, token=admin)["status"] == 200
    assert svc.store.identities.find(TENANT, "oidc:corp", "corp-newbie") is None


def test_a_code_issued_before_a_block_opens_no_session(call, sso, svc, admin):
    code = sso_sign_in(call, "newbie", "newbie-at-corp")["code"]
    newbie = operators(svc)["newbie@corp.test"]
    call("PATCH /admin/operators/{id}", path_params={"id": newbie.id}, body={"blocked": True}, token=admin)
    r = complete(call, code)
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"


def test_the_client_secret_and_tokens_stay_out_of_the_logs(call, sso, json_logs):
    got = sso_sign_in(call, "ana", "ana-at-corp")
    r = complete(call, got["code"])
    assert r["status"] == 200
    for secret in (SECRET, got["code"], r["json"]["access_token"], r["json"]["refresh_token"]):
        assert secret not in json_logs.text


def test_operator_seeded_password_still_works_beside_sso(call, sso):
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                          "password": OPERATOR["password"]})
    assert r["status"] == 200


@pytest.mark.parametrize("claims, verified", [
    ({"email_verified": True}, True),
    ({"xms_edov": True}, True),  # Entra ID's optional claim: the email's domain is the organisation's
    ({"email_verified": "true"}, False),  # a string is not the JSON boolean
    ({"email_verified": False, "xms_edov": False}, False),
    ({}, False),
])
def test_which_claims_vouch_for_an_email(claims, verified):
    from switchboard.auth import oidc

    assert oidc.email_verified(claims) is verified
