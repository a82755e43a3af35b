"""GET /.well-known/jwks.json - the public keys that verify Switchboard's tokens."""

from switchboard.edge.httpapi import Request, Response, endpoint, json_response
from switchboard.runtime import services


def route(request: Request) -> Response:
    return json_response(services().keys.ring().jwks(), headers={"Cache-Control": "public, max-age=300"})


handler = endpoint(route)
