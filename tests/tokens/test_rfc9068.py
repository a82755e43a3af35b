"""Access tokens as a strict RFC 9068 ("JWT Profile for OAuth 2.0 Access Tokens") resource server
sees them: authlib's validator, fed only the published JWKS, accepts the tokens of every client, and
PyJWT reads the same claims, ``client_id`` included."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from authlib.oauth2.rfc6750.errors import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from switchboard.tokens.access import CLIENT_BY_METHOD, client_id_for

from tests.conftest import OPERATOR, TENANT


def rfc9068_validator(jwks: dict[str, Any], issuer: str) -> JWTBearerTokenValidator:
    from joserfc.jwk import KeySet

    class FromJwks(JWTBearerTokenValidator):  # type: ignore[misc]
        def get_jwks(self) -> KeySet:
            return KeySet.import_key_set(jwks)

    return FromJwks(issuer=issuer, resource_server="switchboard-api")


def sign_ins(call) -> dict[str, dict[str, Any]]:
    """The tokens of one sign-in per client: the widget (a visitor) and the back office (staff)."""
    widget = call("POST /auth/external", body={"tenant": TENANT})["json"]
    office = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                               "password": OPERATOR["password"]})["json"]
    return {"switchboard-widget": widget, "switchboard-backoffice": office}


def test_a_strict_rfc9068_validator_accepts_every_clients_access_token(call, seeded, svc):
    # Given a resource server that knows only our issuer, its audience and the published JWKS
    validator = rfc9068_validator(call("GET /.well-known/jwks.json")["json"], svc.settings.issuer)
    for client, tokens in sign_ins(call).items():
        # When it validates an access token, as RFC 9068 section 4 says (typ, iss, aud, exp, and
        # the required sub, client_id, iat, jti), asking for a scope the token holds
        claims = validator.authenticate_token(tokens["access_token"])
        validator.validate_token(claims, scopes=["chat:read"], request=None)
        # Then it accepts it, and the token names the client that asked for it
        assert claims["client_id"] == client and claims["sub"] == tokens["user"]["id"]
        # And refreshing keeps the client
        refreshed = call("POST /auth/refresh", body={"refresh_token": tokens["refresh_token"]})["json"]
        assert validator.authenticate_token(refreshed["access_token"])["client_id"] == client


def test_the_access_tokens_claims_read_by_pyjwt_keep_every_claim_and_add_client_id(call, seeded, svc):
    jwks = call("GET /.well-known/jwks.json")["json"]
    for client, tokens in sign_ins(call).items():
        token = tokens["access_token"]
        header = jwt.get_unverified_header(token)
        key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"])).key
        claims = jwt.decode(token, key, algorithms=["ES256"], audience="switchboard-api", issuer=svc.settings.issuer,
                            options={"require": ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"]})
        assert header["typ"] == "at+jwt"
        assert claims["client_id"] == client
        kept = {"iss", "aud", "sub", "tid", "sid", "role", "lvl", "scope", "anon", "jti", "iat", "nbf", "exp"}
        assert kept <= set(claims)  # every claim there was before


def test_a_validator_refuses_a_token_for_another_resource_server(call, seeded, svc):
    # (the check above is no rubber stamp: the same validator, for another audience, refuses ours)
    validator = rfc9068_validator(call("GET /.well-known/jwks.json")["json"], svc.settings.issuer)
    validator.resource_server = "another-api"
    claims = validator.authenticate_token(sign_ins(call)["switchboard-widget"]["access_token"])
    with pytest.raises(InvalidTokenError):
        validator.validate_token(claims, scopes=[], request=None)


def test_every_sign_in_method_has_a_client_and_an_unknown_one_is_refused():
    assert client_id_for("anonymous") == client_id_for("identified") == "switchboard-widget"
    assert {client_id_for(m) for m in ("password", "password+totp", "invitation")} == {"switchboard-backoffice"}
    assert (client_id_for("auth0"), client_id_for("cognito")) == ("auth0", "cognito")
    assert set(CLIENT_BY_METHOD) >= {"anonymous", "identified", "password", "password+totp", "invitation",
                                     "auth0", "cognito", "federated"}
    with pytest.raises(ValueError, match="no client_id"):
        client_id_for("carrier-pigeon")
