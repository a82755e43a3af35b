"""A real OpenID provider for the tests: the npm package ``oidc-provider`` (certified), run by
Node on loopback from ``tools/oidc/provider.mjs`` (installed by ``npm ci``: ``make test``), and
a person signing in at its pages, driven over real HTTP with ``requests``."""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from switchboard_local.oidc_provider import LocalOidcProvider as OidcProvider
from switchboard_local.oidc_provider import unavailable as node_ready

__all__ = ["OidcProvider", "node_ready", "sign_in_at_provider", "token_for_another_client"]


def sign_in_at_provider(location: str, *, login: str, password: str, until: str,
                        browser: requests.Session | None = None) -> dict[str, str]:
    """Follow ``location`` (our authorize answer's) through the provider's pages as a person
    would: its login form, then its redirects, until one goes to ``until`` (our callback).
    Returns that redirect's query (``code``, ``state``, ``iss``...)."""
    s = browser or requests.Session()
    url = location
    for _ in range(20):
        if url.startswith(until):
            return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        r = s.get(url, allow_redirects=False, timeout=10)
        if r.status_code in (302, 303):
            url = urljoin(url, r.headers["location"])
            continue
        assert r.status_code == 200 and "<form" in r.text, (r.status_code, r.text[:500])
        action = r.text.split('action="', 1)[1].split('"', 1)[0]
        r = s.post(urljoin(url, action), data={"login": login, "password": password}, allow_redirects=False,
                   timeout=10)
        assert r.status_code in (302, 303), (r.status_code, r.text[:300])
        url = urljoin(url, r.headers["location"])
    raise AssertionError("the provider never sent the browser back")


def token_for_another_client(provider: OidcProvider, *, client_id: str, client_secret: str, redirect_uri: str,
                             login: str, password: str, nonce: str) -> str:
    """An ID token the provider issues to another client (its own code flow, as that client)."""
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    meta = requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=10).json()
    query = requests.models.RequestEncodingMixin._encode_params({  # type: ignore[attr-defined]
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid email",
        "state": "s", "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"})
    back = sign_in_at_provider(f"{meta['authorization_endpoint']}?{query}", login=login, password=password,
                               until=redirect_uri)
    r = requests.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": back["code"],
                                                    "redirect_uri": redirect_uri, "code_verifier": verifier},
                      auth=(client_id, client_secret), timeout=10)
    r.raise_for_status()
    return str(r.json()["id_token"])
