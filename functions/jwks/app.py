"""GET /.well-known/jwks.json - the public keys that verify Switchboard's tokens."""

from switchboard.edge.httpapi import Request, Response, endpoint, public_json_response
from switchboard.runtime import services
from switchboard.tokens.keys import JWKS_MAX_AGE


def route(request: Request) -> Response:
    return public_json_response(services().keys.ring().jwks(), max_age=JWKS_MAX_AGE)


handler = endpoint(route)
