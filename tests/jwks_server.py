"""A website's token issuer, for the token-exchange tests: real keys (``cryptography``), a real
JWKS served over HTTP on loopback, tokens signed by pyjwt as a website's backend would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

__all__ = ["Issuer", "JwksServer", "jwks_server"]


class Issuer:
    """One issuer: an RSA and an EC key (kids ``<name>-rsa``, ``<name>-ec``) published at
    ``/<name>/jwks.json``, and tokens signed with them."""

    def __init__(self, server: JwksServer, name: str, *, audience: str = "switchboard") -> None:
        self.name = name
        self.issuer = f"https://{name}.acme.test"
        self.audience = audience
        self.jwks_uri = f"{server.base}/{name}/jwks.json"
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.published: list[dict[str, Any]] = [
            {**json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key())), "kid": f"{name}-rsa", "use": "sig"},
            {**json.loads(ECAlgorithm.to_jwk(self.ec.public_key())), "kid": f"{name}-ec", "use": "sig"},
        ]

    def config(self, **overrides: Any) -> dict[str, Any]:
        """The tenant's ``trusted_issuers`` entry for this issuer."""
        return {"id": self.name, "issuer": self.issuer, "jwks_uri": self.jwks_uri, "audience": self.audience,
                "user_claim": "sub", "name_claim": "name", **overrides}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.issuer, "aud": self.audience, "sub": "customer-42", "name": "Jo Shopper",
                "iat": now, "exp": now + 300, **overrides}

    def token(self, alg: str = "RS256", *, key: Any = None, kid: str | None = None, **claims: Any) -> str:
        if key is None:
            key = self.ec if alg.startswith("ES") else self.rsa
        if kid is None:
            kid = f"{self.name}-ec" if alg.startswith("ES") else f"{self.name}-rsa"
        return jwt.encode(self.claims(**claims), key, algorithm=alg, headers={"kid": kid})


class JwksServer:
    def __init__(self) -> None:
        self.issuers: dict[str, Issuer] = {}
        self.hits: list[str] = []
        self.down = False

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits.append(self.path)
                name = self.path.strip("/").split("/")[0]
                issuer = outer.issuers.get(name)
                if outer.down or issuer is None or not self.path.endswith("/jwks.json"):
                    self.send_response(503 if outer.down else 404)
                    self.end_headers()
                    return
                body = json.dumps({"keys": issuer.published}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def issuer(self, name: str, **kwargs: Any) -> Issuer:
        made = self.issuers[name] = Issuer(self, name, **kwargs)
        return made


@contextmanager
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
