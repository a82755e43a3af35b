"""CORS per tenant, the preflight, and GET /tenants/{tenant}/widget (the widget's public settings)."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN, ORIGIN, TENANT

OTHER_ORIGIN = "https://globex.test"  # allowed by tenant globex, not by acme


def test_a_preflight_lets_any_browser_send_its_request(call):
    # When a browser asks before a cross-origin POST with a JSON body and a bearer token
    r = call("OPTIONS /{proxy+}", headers={"origin": "https://anywhere.test",
                                          "access-control-request-method": "POST"})
    # Then it may send it (the real answer decides whether the page may read it)
    assert r["status"] == 204
    assert r["headers"]["Access-Control-Allow-Origin"] == "https://anywhere.test"
    assert "authorization" in r["headers"]["Access-Control-Allow-Headers"]
    assert "PATCH" in r["headers"]["Access-Control-Allow-Methods"]


def test_answers_are_readable_only_from_the_tenants_own_origins(call, seeded, tokens_for):
    # Given an admin of acme
    access = tokens_for(ADMIN)["access_token"]
    # When the back office on acme's origin calls the API, its page may read the answer
    r = call("GET /auth/me", token=access, headers={"origin": ORIGIN})
    assert r["status"] == 200
    assert r["headers"]["Access-Control-Allow-Origin"] == ORIGIN
    assert "RateLimit" in r["headers"]["Access-Control-Expose-Headers"]
    # But a page of another tenant's origin, holding the same token, may not
    r = call("GET /auth/me", token=access, headers={"origin": OTHER_ORIGIN})
    assert r["status"] == 200 and "Access-Control-Allow-Origin" not in r["headers"]


def test_a_preflight_never_lets_credentials_along(call):
    # When a browser asks before a cross-origin request
    r = call("OPTIONS /{proxy+}", headers={"origin": "https://anywhere.test",
                                          "access-control-request-method": "POST"})
    # Then it is not told it may send cookies or HTTP auth (tokens go in the Authorization header,
    # and a preflight answered for any Origin must not open the door to credentialed requests)
    assert r["status"] == 204
    assert "Access-Control-Allow-Credentials" not in r["headers"]
    assert r["headers"]["Vary"] == "Origin"


def test_an_answer_a_page_may_read_varies_by_origin_and_exposes_the_rate_limit_headers(call, seeded, tokens_for):
    access = tokens_for(ADMIN)["access_token"]
    # When the back office on acme's origin calls the API
    r = call("GET /auth/me", token=access, headers={"origin": ORIGIN})
    # Then the answer says it depends on the Origin (so no cache serves it to another page)
    assert r["headers"]["Access-Control-Allow-Origin"] == ORIGIN and r["headers"]["Vary"] == "Origin"
    # And the page may read the headers a client needs to back off and to re-authenticate
    exposed = {name.strip() for name in r["headers"]["Access-Control-Expose-Headers"].split(",")}
    assert {"Retry-After", "RateLimit", "RateLimit-Policy", "WWW-Authenticate"} <= exposed
    # And an answer the page may not read varies by Origin too
    r = call("GET /auth/me", token=access, headers={"origin": OTHER_ORIGIN})
    assert "Access-Control-Allow-Origin" not in r["headers"] and r["headers"]["Vary"] == "Origin"


def test_a_query_naming_another_tenant_does_not_open_the_answer_to_its_origin(call, seeded, tokens_for):
    # Given acme's tokens, in a page on globex's origin
    tokens = tokens_for(ADMIN)
    # When the request names ?tenant=globex (the tenant whose origin this page is on)
    me = call("GET /auth/me", token=tokens["access_token"], headers={"origin": OTHER_ORIGIN},
              query={"tenant": "globex"})
    refresh = call("POST /auth/refresh", body={"refresh_token": tokens["refresh_token"]},
                   headers={"origin": OTHER_ORIGIN}, query={"tenant": "globex"})
    # Then the answers are still acme's, which globex's origin may not read
    for r in (me, refresh):
        assert "Access-Control-Allow-Origin" not in r["headers"], r


def test_errors_carry_cors_headers_so_the_page_can_read_the_problem(call, seeded):
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": ADMIN["email"], "password": "wrong"},
             headers={"origin": ORIGIN})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_credentials"
    assert r["headers"]["Access-Control-Allow-Origin"] == ORIGIN


def test_a_hostile_bearer_token_is_a_401_for_the_page_not_a_crash(call, seeded):
    # Given a browser request whose bearer token nests its JSON deeper than the parser goes
    # (the CORS answer looks for the tenant a verified token names)
    import base64

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    deep = b'{"tid":' + b"[" * 3000 + b"]" * 3000 + b"}"
    for header, payload in ((b'{"alg":"ES256"}', deep), (deep, b"{}")):
        token = f"{b64(header)}.{b64(payload)}.{b64(bytes(64))}"
        r = call("GET /auth/me", token=token, headers={"origin": ORIGIN})
        # Then the answer is the contract's 401, not an unhandled error
        assert r["status"] == 401 and r["json"]["code"] == "invalid_token"


def _renamed(token: str, **claims) -> str:
    """``token`` with its payload edited (the signature left as it was)."""
    import base64
    import json

    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(claims)
    edited = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"


def test_a_token_edited_to_name_another_tenant_does_not_open_the_answer_to_its_origin(call, seeded, tokens_for):
    # Given acme's access token edited to say tid=globex, sent from a page on globex's origin
    forged = _renamed(tokens_for(ADMIN)["access_token"], tid="globex")
    # When it calls the API
    r = call("GET /auth/me", token=forged, headers={"origin": OTHER_ORIGIN})
    # Then the 401 is not readable by globex's origin: the tenant comes from verified tokens only
    assert r["status"] == 401 and r["json"]["code"] == "invalid_token"
    assert "Access-Control-Allow-Origin" not in r["headers"] and r["headers"]["Vary"] == "Origin"


def test_an_expired_token_s_401_is_readable_by_its_tenants_page(call, seeded, svc):
    # Given an access token of acme's, signed by us, expired an hour ago
    import time

    expired = svc.tokens.mint_access(sub="u-gone", tid=TENANT, sid="s-gone", role="admin", lvl=3,
                                     scopes=("chat:read",), anon=False, client_id="switchboard-backoffice",
                                     now=int(time.time()) - 3600 - 900)
    # When the back office on acme's origin calls with it
    r = call("GET /auth/me", token=expired, headers={"origin": ORIGIN})
    # Then the page may read the 401 (and so knows to refresh); another tenant's origin may not
    assert r["status"] == 401 and r["headers"]["Access-Control-Allow-Origin"] == ORIGIN
    other = call("GET /auth/me", token=expired, headers={"origin": OTHER_ORIGIN})
    assert "Access-Control-Allow-Origin" not in other["headers"]


def test_a_refresh_from_the_tenants_origin_is_readable(call, seeded, tokens_for):
    refresh = tokens_for(ADMIN)["refresh_token"]
    r = call("POST /auth/refresh", body={"refresh_token": refresh}, headers={"origin": ORIGIN})
    assert r["status"] == 200 and r["headers"]["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize(("widget", "expected"), [
    ({}, {"title": "Acme", "color": "#2f6feb", "greeting": "Hi! How can we help?", "position": "right"}),
    ({"title": "Acme help", "color": "#aa3300", "position": "left", "greeting": "Ask us"},
     {"title": "Acme help", "color": "#aa3300", "greeting": "Ask us", "position": "left"}),
    ({"color": "red;background:url(https://evil.test)", "position": "middle"},
     {"title": "Acme", "color": "#2f6feb", "greeting": "Hi! How can we help?", "position": "right"}),
])
def test_widget_settings(widget_call, svc, widget, expected):
    from msgspec.structs import replace

    svc.store.tenants.put(replace(svc.store.tenants.get(TENANT), widget=widget))
    svc.tenants.forget()
    r = widget_call(TENANT)
    assert r["status"] == 200
    # (the support day's fields beside the theme: tests/http/test_widget_support_day.py)
    assert {k: r["json"][k] for k in (*expected, "attachments")} == {**expected, "attachments": True}
    assert r["headers"]["Access-Control-Allow-Origin"] == ORIGIN


def test_an_unknown_tenant_has_no_widget(widget_call):
    r = widget_call("nobody")
    assert r["status"] == 404 and r["json"]["code"] == "not_found"


@pytest.fixture
def widget_call(template, seeded):
    import json

    from switchboard_local.lambda_runtime import LambdaContext, http_event, load_handler

    def _call(tenant: str) -> dict:
        event = http_event("GET", f"/tenants/{tenant}/widget", route_path="/tenants/{tenant}/widget",
                           headers={"origin": ORIGIN}, path_params={"tenant": tenant})
        result = load_handler(template, "WidgetSettingsFunction")(event, LambdaContext("WidgetSettingsFunction"))
        return {"status": result["statusCode"], "headers": result["headers"], "json": json.loads(result["body"])}

    return _call


@pytest.mark.parametrize("origin", ["https://verifier.example", ORIGIN, None])
def test_any_page_may_read_the_jwks_without_credentials(call, seeded, tokens_for, origin):
    # Given a page of any origin - one no tenant lists, a tenant's own, or a server with none -
    # even one that sends a bearer token of a tenant along
    headers = {"origin": origin} if origin else {}
    access = tokens_for(ADMIN)["access_token"]
    for token in (None, access):
        # When it fetches the public keys
        r = call("GET /.well-known/jwks.json", headers=headers, token=token)
        # Then it may read them: the same public document for everyone, never with credentials
        assert r["status"] == 200 and r["json"]["keys"]
        assert r["headers"]["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in r["headers"]
        assert "Origin" not in r["headers"].get("Vary", "")  # one answer for all: caches keep one copy
        assert r["headers"]["Cache-Control"].startswith("public, max-age=")
