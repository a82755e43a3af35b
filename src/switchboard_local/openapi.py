"""The OpenAPI 3.1 document of the HTTP API, made from what already defines the API.

* paths, methods and path parameters: the functions' ``HttpApi`` events in ``template.yaml``
  (as the local stack's routes are);
* request bodies and query strings: the msgspec Structs that the handlers decode, found
  through the one table that says which route reads which (``switchboard.edge.requests.BODIES``
  and ``QUERIES``; ``Request.parse`` decodes with it), as JSON Schema from
  :func:`msgspec.json.schema_components`;
* problems: RFC 9457 ``application/problem+json``, one response per status, the ``code``
  enum of each made from the error tree (``switchboard.errors``), 429 with its headers.

What is written here by hand is only what no code says: a route's summary, who may call it,
its success answer (token responses exactly, the others more loosely but truly) and which
problem statuses it can answer. :func:`document` refuses a template route this module does
not describe, so a new route cannot slip out of the document.

This lives in the local tooling, never in a Lambda: nothing here is on a cold start. It is
the one module of ``switchboard_local`` that imports the layer's request and error modules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from switchboard_local.template import Template

__all__ = ["OPENAPI_PATH", "document", "render"]

#: where ``switchboard dev`` serves the document, on the HTTP API's port
OPENAPI_PATH = "/openapi.json"

Security = Literal["none", "bearer", "hook"]
REF = "#/components/schemas/{name}"


@dataclass(frozen=True)
class _Op:
    summary: str
    security: Security
    ok: dict[str, Any]  # the success answer's schema
    problems: tuple[int, ...]
    status: int = 200
    description: str = ""
    #: a 302 answer (the SSO hops): no body, a ``Location`` (and maybe a ``Set-Cookie``)
    redirect: bool = False


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object with these properties (more may come: loose, as the brief for non-token answers allows)."""
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required)}


_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_NULLABLE_STR = {"type": ["string", "null"]}
_TOKENS = {"$ref": REF.format(name="TokenResponse")}
_SESSION = _obj({"id": _STR, "method": _STR, "created_at": _INT, "last_used_at": _INT, "expires_at": _INT},
                {"device": _NULLABLE_STR})
_OPERATOR = _obj({"id": _STR, "email": _STR, "name": _STR, "role": {"enum": ["operator", "admin"]}, "blocked": _BOOL,
                  "mfa_enabled": _BOOL, "created_at": _INT, "invited": _BOOL},
                 {"identities": {"type": "array", "items": _STR}})
_IDENTITY = _obj({"id": _STR, "kind": {"enum": ["password", "oidc", "cognito", "auth0"]}, "linked_at": _INT},
                 {"provider": _STR, "email": _STR})

_TENANT_SETTINGS = _obj({k: {} for k in (
    "name", "widget", "allowed_origins", "visitor_attachments", "verified_visitors_only", "hours", "away_message",
    "email_when_offline", "prechat", "message_retention_days", "webhooks")})
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_FIGURES = _obj({"conversations": _INT, "first_response_p50": _NUMBER_OR_NULL, "first_response_p90": _NUMBER_OR_NULL,
                 "resolution_p50": _NUMBER_OR_NULL, "resolution_p90": _NUMBER_OR_NULL,
                 "queue_wait_p50": _NUMBER_OR_NULL, "csat_avg": _NUMBER_OR_NULL, "csat_count": _INT,
                 "outside_hours": {"type": ["integer", "null"]}})

# the problem statuses by kind of route (which the handlers' code can raise)
_SIGN_IN = (400, 401, 403, 404, 409, 429, 500, 503)
_BEARER = (400, 401, 403, 404, 409, 429, 500, 503)

#: Every HTTP route of the template but the CORS preflight (``OPTIONS /{proxy+}``: browser
#: plumbing that answers any path, not an operation a client calls).
ROUTES: dict[str, _Op] = {
    "POST /auth/external": _Op(
        "Sign a website visitor in: anonymous, or vouched for by the website (HMAC of the user id)", "none",
        _TOKENS, _SIGN_IN, description="The Origin must be one of the tenant's allowed origins (else 403)."),
    "POST /auth/exchange": _Op(
        "Exchange a website's own JWT (an issuer the tenant trusts) for a level-1 visitor's tokens", "none",
        _TOKENS, _SIGN_IN,
        description="RFC 8693's request shape. The Origin is checked as for `POST /auth/external`; an untrusted "
                    "issuer, another audience, an expired token, a bad signature or an algorithm other than "
                    "RS256, PS256 or ES256 answers 401 `invalid_identity`."),
    "POST /auth/resume": _Op(
        "Sign a visitor back in to their conversation with a follow-up mail's single-use link", "none",
        _TOKENS, _SIGN_IN,
        description="The token from the mail's `?resume=` link. The Origin must be one of the tenant's (403 "
                    "otherwise, the link untouched). A used, expired or wrong link answers 401 "
                    "`invalid_identity` and signs nobody in."),
    "POST /auth/internal": _Op(
        "Sign an operator or admin in with email and password", "none", _TOKENS, _SIGN_IN,
        description="An operator with TOTP gets 401 `mfa_required` with an `mfa_token` for `POST /auth/mfa`."),
    "POST /auth/mfa": _Op(
        "Exchange an mfa_token and a TOTP code (or one of the recovery codes) for tokens", "none", _TOKENS, _SIGN_IN,
        description="Send `code` or `recovery_code`, not both. A recovery code works once; wrong ones count as wrong "
                    "TOTP codes (5 per challenge, the account's rate limit)."),
    "POST /auth/refresh": _Op(
        "Rotate a refresh token", "none", _TOKENS, _SIGN_IN,
        description="A refresh token presented again after its rotation revokes the session (401 `token_reused`)."),
    "POST /auth/revoke": _Op(
        "End a session, all of a user's sessions, or some scopes", "bearer",
        _obj({"revoked": _obj({"kind": {"enum": ["session", "user", "scopes"]}, "user_id": _STR,
                               "sessions": {"type": "array", "items": _STR}},
                              {"scopes": {"type": "array", "items": _STR}})}), _BEARER),
    "GET /auth/me": _Op(
        "Who the caller is, their session and their scopes now", "bearer",
        _obj({"user": {"$ref": REF.format(name="User")}, "session": _SESSION,
              "scopes": {"type": "array", "items": _STR}}), _BEARER),
    "GET /auth/sessions": _Op(
        "The caller's live sessions (another user's, with admin:sessions)", "bearer",
        _obj({"sessions": {"type": "array", "items": {"allOf": [_SESSION, _obj({"current": _BOOL})]}}}), _BEARER),
    "GET /.well-known/jwks.json": _Op(
        "The public keys that verify Switchboard's tokens", "none",
        _obj({"keys": {"type": "array", "items": _obj({"kty": _STR, "kid": _STR})}}), (500, 503)),
    "GET /tenants/{tenant}/widget": _Op(
        "The chat widget's public settings", "none",
        _obj({"title": _STR, "color": _STR, "greeting": _STR, "position": {"enum": ["left", "right"]},
              "attachments": _BOOL}), (400, 404, 500, 503)),
    "POST /hooks/post-login": _Op(
        "The post-login hook for an Auth0 Action: a chat token for a signed-in user", "hook",
        _obj({"chat_token": _STR, "claims": {"type": "object"}}), _SIGN_IN),
    "POST /auth/totp/enroll": _Op(
        "Start enrolling a TOTP second factor (operators and admins)", "bearer",
        _obj({"secret": _STR, "otpauth_uri": _STR, "qr_svg": _STR}), _BEARER),
    "POST /auth/totp/confirm": _Op(
        "Confirm the TOTP enrolment with a code: MFA on; answers 10 single-use recovery codes, shown once", "bearer",
        _obj({"mfa_enabled": _BOOL, "revoked_sessions": _INT,
              "recovery_codes": {"type": "array", "items": _STR, "minItems": 10, "maxItems": 10}}), _BEARER),
    "POST /auth/totp/disable": _Op(
        "Turn one's TOTP second factor off, with a code", "bearer",
        _obj({"mfa_enabled": _BOOL, "revoked_sessions": _INT}), _BEARER),
    "POST /auth/password": _Op(
        "Change one's password (other sessions end)", "bearer",
        _obj({"changed": _BOOL, "revoked_sessions": _INT}), _BEARER),
    "POST /auth/invite": _Op("Accept an invitation: set a password, get tokens", "none", _TOKENS, _SIGN_IN),
    "POST /auth/password/forgot": _Op(
        "Mail a single-use password reset link (valid 30 minutes)", "none", _obj({"accepted": _BOOL}),
        (400, 429, 500, 503), status=202,
        description="Always 202 with the same body, and the same work, whether or not the email is an operator's "
                    "(no enumeration). Rate limited per client address and per email."),
    "POST /auth/password/reset": _Op(
        "Set a new password with a mailed reset link; every session of that person ends", "none",
        _obj({"reset": _BOOL, "revoked_sessions": _INT}), (400, 401, 429, 500, 503),
        description="A used, expired or edited link answers 401 `invalid_token`. It does not sign in."),
    "POST /auth/device": _Op(
        "Start a device sign-in for the command line (RFC 8628 device authorization)", "none",
        _obj({"device_code": _STR, "user_code": _STR, "verification_uri": _STR, "verification_uri_complete": _STR,
              "expires_in": _INT, "interval": _INT}), (400, 404, 429, 500, 503),
        description="An admin approves the `user_code` in the back office (`POST /auth/device/approve`); the "
                    "device signs in as that admin."),
    "POST /auth/device/token": _Op(
        "Poll for the device's tokens (RFC 8628 §3.4)", "none", _TOKENS, (400, 401, 429, 500, 503),
        description="400 `authorization_pending` (poll again after `interval`), `slow_down` (the interval grew by "
                    "5 s), `access_denied`, `expired_token` - each with OAuth's `error` beside `code`; once "
                    "approved, the approving admin's tokens, once."),
    "POST /auth/device/approve": _Op(
        "Approve (or deny) a device sign-in's user code: the device is signed in as the caller (admins only)",
        "bearer", _obj({"user_code": _STR, "approved": _BOOL}), _BEARER),
    "GET /staff": _Op(
        "The tenant's active operators and admins, by name", "bearer",
        _obj({"staff": {"type": "array", "items": _obj({"id": _STR, "name": _STR, "role": _STR})}}), _BEARER),
    "GET /admin/operators": _Op(
        "The tenant's operators and admins (admin:operators)", "bearer",
        _obj({"operators": {"type": "array", "items": _OPERATOR}}), _BEARER),
    "POST /admin/operators": _Op(
        "Create an operator, or invite one (no password: the answer holds a one-time invite_token)", "bearer",
        _obj({"operator": _OPERATOR}, {"invite_token": _STR}), _BEARER, status=201),
    "PATCH /admin/operators/{id}": _Op(
        "Change an operator's role or name, block them, or reset their second factor", "bearer",
        _obj({"operator": _OPERATOR, "revoked_sessions": _INT}), _BEARER),
    "DELETE /admin/operators/{id}": _Op(
        "Remove an operator (their sessions end)", "bearer",
        _obj({"removed": _STR, "revoked_sessions": _INT}), _BEARER),
    "GET /auth/providers": _Op(
        "How a tenant's staff may sign in: password, and each SSO provider (never a secret)", "none",
        _obj({"password": _BOOL, "providers": {"type": "array", "items": _obj(
            {"id": _STR, "kind": {"const": "oidc"}, "name": _STR})}}), (400, 404, 500, 503)),
    "GET /auth/oidc/{provider}/authorize": _Op(
        "Start an SSO sign-in: 302 to the provider (code flow, PKCE S256, state, nonce)", "none", {},
        (400, 404, 500, 503), status=302, redirect=True,
        description="`return_to` must be on one of the tenant's allowed origins (else 400). The answer sets "
                    "an HttpOnly cookie binding the sign-in to this browser."),
    "GET /auth/oidc/{provider}/callback": _Op(
        "The provider's redirect back: 302 to return_to#code=<one-time code>, or return_to#error=<code>", "none",
        {}, (400, 401, 429, 500, 503), status=302, redirect=True,
        description="Refusals (`not_invited`, `email_not_verified`, `access_denied`, `invalid_identity`, "
                    "`invalid_state`, `temporarily_unavailable`) go back in the fragment and create nothing. A "
                    "state never issued, used or expired is 401 `invalid_token` (there is nowhere to go back to)."),
    "POST /auth/oidc/complete": _Op(
        "Swap an SSO one-time code (single use, 60 s) for tokens; the session's method is oidc:<provider>",
        "none", _TOKENS, _SIGN_IN),
    "GET /auth/identities": _Op(
        "The caller's ways in: password, linked SSO, Cognito and Auth0 identities", "bearer",
        _obj({"identities": {"type": "array", "items": _IDENTITY}}), _BEARER),
    "DELETE /auth/identities/{id}": _Op(
        "Unlink one of the caller's ways in (never the last: 409 conflict); its sessions end", "bearer",
        _obj({"unlinked": _STR, "revoked_sessions": _INT}), _BEARER),
    "GET /admin/events": _Op(
        "The tenant's audit events, newest first, paginated (admin:sessions)", "bearer",
        _obj({"events": {"type": "array", "items": _obj({"id": _STR, "kind": _STR, "at": _INT})},
              "cursor": _NULLABLE_STR}), _BEARER),
    "GET /admin/tenant": _Op(
        "The tenant's settings (admin:tenant); never a secret", "bearer", _TENANT_SETTINGS, _BEARER),
    "PATCH /admin/tenant": _Op(
        "Change the tenant's settings: the fields sent (admin:tenant); audited with old and new values", "bearer",
        _TENANT_SETTINGS, _BEARER),
    "POST /admin/tenant/identity-secret": _Op(
        "A new identity secret, answered once; the previous one works for grace_seconds (default 86400)",
        "bearer", _obj({"secret": _STR}), _BEARER,
        description="The body is optional: none, or {}, means the default grace."),
    "POST /admin/tenant/hook-secret": _Op(
        "A new hook secret, answered once; the previous one works for grace_seconds (default 86400)",
        "bearer", _obj({"secret": _STR}), _BEARER,
        description="The body is optional: none, or {}, means the default grace."),
    "GET /admin/reports": _Op(
        "Support figures per day, per operator and in total, times in seconds (admin:tenant)", "bearer",
        _obj({"days": {"type": "array", "items": _FIGURES}, "operators": {"type": "array", "items": _FIGURES},
              "totals": _FIGURES}), _BEARER,
        description="With `Accept: text/csv` the same figures as CSV (docs/reports.md)."),
    "GET /admin/search": _Op(
        "Closed support conversations with a message containing q, newest first, paged (admin:tenant)", "bearer",
        _obj({"items": {"type": "array", "items": _obj({"channel_id": _STR, "closed_on": _STR, "matches": _INT})},
              "next": _NULLABLE_STR}), _BEARER),
    # privacy requests (issue 19, docs/privacy.md)
    "GET /admin/visitors/{id}/export": _Op(
        "Everything stored about one visitor: attributes, sessions, conversations with their messages, links to "
        "attachments and transcripts (admin:tenant); audited", "bearer",
        _obj({"visitor": _obj({"id": _STR, "attributes": {"type": "object"}}),
              "sessions": {"type": "array", "items": {"type": "object"}},
              "conversations": {"type": "array", "items": {"type": "object"}},
              "exported_at": _INT, "links_expire_in": _INT}), _BEARER),
    "DELETE /admin/visitors/{id}": _Op(
        "Erase one visitor everywhere: table, every archived version, attachments, sessions and live sockets "
        "(admin:tenant); audited without the person", "bearer",
        _obj({"erased": _obj({k: _INT for k in ("sessions", "conversations", "messages", "attachments",
                                                 "transcript_versions", "records", "audit_events_scrubbed")})}),
        _BEARER),
}
# issue 17: canned replies (contract section 8)
_CANNED = _obj({"id": _STR, "title": _STR, "text": _STR, "shortcut": _STR, "created_at": _INT, "updated_at": _INT})
ROUTES.update({
    "GET /canned": _Op(
        "The tenant's canned replies, by shortcut (staff: chat:write)", "bearer",
        _obj({"canned": {"type": "array", "items": _CANNED}}), _BEARER),
    "POST /admin/canned": _Op(
        "Add a canned reply; its shortcut is unique per tenant (admin:tenant; audited)", "bearer",
        _obj({"canned": _CANNED}), _BEARER, status=201),
    "PATCH /admin/canned/{id}": _Op(
        "Change a canned reply's title, text or shortcut (admin:tenant; audited)", "bearer",
        _obj({"canned": _CANNED}), _BEARER),
    "DELETE /admin/canned/{id}": _Op(
        "Remove a canned reply (admin:tenant; audited)", "bearer", _obj({"removed": _STR}), _BEARER),
})
SKIPPED = frozenset({"OPTIONS /{proxy+}"})


#: Python's ``\\Z`` wherever it stands (an alternative's end too: ``...\\Z|^24:00\\Z``), not an
#: escaped backslash followed by ``Z``
_END = re.compile(r"(?<!\\)\\Z")


def _ecma(schema: Any) -> Any:
    """The layer's patterns end in ``\\Z`` (Python's end of input: ``$`` would let a trailing
    newline through); JSON Schema patterns are ECMA-262, where ``$`` without the multiline
    flag already means the end of input and ``\\Z`` means nothing. Same language, other spelling."""
    if isinstance(schema, dict):
        return {k: (_END.sub("$", v) if k == "pattern" and isinstance(v, str) else _ecma(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_ecma(v) for v in schema]
    return schema


def _problem_components() -> tuple[dict[str, Any], dict[str, Any]]:
    """The Problem schema and one response per status the error tree answers with."""
    from switchboard import errors
    from switchboard.edge.httpapi import PROBLEM_TYPE

    # the error tree's classes (errors.py also holds the store's internal signals, not answers)
    tree = (getattr(errors, name) for name in errors.__all__)
    answers = errors.SwitchboardError
    leaves = [answers, *(c for c in tree if isinstance(c, type) and issubclass(c, answers))]
    by_status: dict[int, list[str]] = {}
    for cls in leaves:
        by_status.setdefault(cls.status, [])
        if cls.code not in by_status[cls.status]:
            by_status[cls.status].append(cls.code)
    problem = {
        "type": "object",
        "description": "RFC 9457 problem details; `code` is stable (contract section 3).",
        "properties": {
            "type": {"type": "string", "description": f"`{PROBLEM_TYPE}<code>`"},
            "title": _STR, "status": _INT, "detail": _STR,
            "code": {"enum": sorted(c for codes in by_status.values() for c in codes)},
            "errors": {"type": "array", "description": "validation_error: what is wrong, never the value sent",
                       "items": _obj({"loc": _STR, "msg": _STR})},
            "mfa_token": {"type": "string", "description": "mfa_required: for POST /auth/mfa"},
        },
        "required": ["type", "title", "status", "detail", "code"],
    }
    responses: dict[str, Any] = {}
    for status, codes in sorted(by_status.items()):
        schema = {"allOf": [{"$ref": REF.format(name="Problem")},
                            {"properties": {"status": {"const": status}, "code": {"enum": codes}}}]}
        response: dict[str, Any] = {"description": ", ".join(codes),
                                    "content": {"application/problem+json": {"schema": schema}}}
        if status == errors.RateLimited.status:
            response["headers"] = {
                name: {"required": True, "description": text, "schema": kind}
                for name, text, kind in (
                    ("Retry-After", "seconds until a request may succeed", {"type": "integer", "minimum": 0}),
                    ("RateLimit-Policy", "the quota, as draft-ietf-httpapi-ratelimit-headers", _STR),
                    ("RateLimit", "what is left of it now", _STR))}
        responses[f"Problem{status}"] = response
    return problem, responses


def _model_schemas() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(body schema by route key, query model schema by route key, components) from the layer's table."""
    from switchboard.edge.requests import BODIES, QUERIES

    keys = [*BODIES, *QUERIES]
    schemas, components = msgspec.json.schema_components([*BODIES.values(), *QUERIES.values()], ref_template=REF)
    by_route = dict(zip(keys, _ecma(schemas), strict=True))
    return ({k: by_route[k] for k in BODIES}, {k: by_route[k] for k in QUERIES}, _ecma(components))


def _query_parameters(ref: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    model = components[ref["$ref"].rsplit("/", 1)[1]]
    out = []
    for name, prop in model["properties"].items():
        schema = dict(prop)
        branches = [b for b in schema.pop("anyOf", []) if b != {"type": "null"}]  # a query string holds no null
        if branches:
            schema.update(branches[0] if len(branches) == 1 else {"anyOf": branches})
        if schema.get("default", 0) is None:
            del schema["default"]
        out.append({"name": name, "in": "query", "required": name in model.get("required", []), "schema": schema})
    return out


def document(template: Template) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the template's HTTP API (deterministic: same input, same bytes)."""
    from importlib.metadata import version

    from switchboard.auth.hooks import SIGNATURE_HEADER

    routes = [r for r in template.http_routes() if r.route_key not in SKIPPED]
    missing = sorted({r.route_key for r in routes} - set(ROUTES))
    if missing:
        raise KeyError(f"template routes not described in switchboard_local.openapi.ROUTES: {missing}")
    bodies, queries, components = _model_schemas()
    unrouted = sorted((set(bodies) | set(queries)) - {r.route_key for r in routes})
    if unrouted:
        raise KeyError(f"switchboard.edge.requests names models for routes the template lacks: {unrouted}")
    problem, problem_responses = _problem_components()
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(routes, key=lambda r: (r.path, r.method)):
        op = ROUTES[route.route_key]
        operation: dict[str, Any] = {
            "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{route.method.lower()}{route.path}").strip("_"),
            "summary": op.summary,
        }
        if op.description:
            operation["description"] = op.description
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                  for name in re.findall(r"\{([^}+]+)\}", route.path)]
        if route.route_key in queries:
            params += _query_parameters(queries[route.route_key], components)
        if params:
            operation["parameters"] = params
        if route.route_key in bodies:
            operation["requestBody"] = {"required": True,
                                        "content": {"application/json": {"schema": bodies[route.route_key]}}}
        operation["security"] = {"none": [], "bearer": [{"bearerAuth": []}], "hook": [{"hookSignature": []}]}[
            op.security]
        responses: dict[str, Any] = {
            str(op.status): {"description": "Found", "headers": {"Location": {"required": True, "schema": _STR}}}
            if op.redirect else {"description": "OK", "content": {"application/json": {"schema": op.ok}}}}
        for status in op.problems:
            responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
        if "{" in route.path:
            # a path parameter holding "/" (or nothing) matches no route: API Gateway's own answer
            responses["404"] = {
                "description": "not_found; or, from API Gateway, a path that matches no route",
                "content": {**problem_responses["Problem404"]["content"],
                            "application/json": {"schema": _obj({"message": _STR})}}}
        operation["responses"] = responses
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Switchboard HTTP API",
            "version": version("switchboard"),
            "description": "Chat authentication and tenant administration (contract section 3). Generated by "
                           "`switchboard openapi` from template.yaml and the request models; do not edit.",
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "switchboard dev (deployed: the ApiUrl output)"}],
        "paths": paths,
        "components": {
            "schemas": {
                **dict(sorted(components.items())),
                "Problem": problem,
                "User": _obj({"id": _STR, "role": {"enum": ["visitor", "operator", "admin"]},
                              "level": {"type": "integer", "minimum": 0, "maximum": 3}, "anonymous": _BOOL,
                              "name": _STR}, {"mfa_enabled": _BOOL}),
                "TokenResponse": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"access_token": _STR, "token_type": {"const": "Bearer"},
                                   "expires_in": {"type": "integer", "minimum": 1}, "refresh_token": _STR,
                                   "chat_token": _STR, "user": {"$ref": REF.format(name="User")}},
                    "required": ["access_token", "token_type", "expires_in", "refresh_token", "chat_token", "user"],
                },
            },
            "responses": problem_responses,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                               "description": "an access token (typ at+jwt) from a token response"},
                "hookSignature": {"type": "apiKey", "in": "header", "name": SIGNATURE_HEADER.title(),
                                  "description": "t=<unix>,v1=<hex HMAC-SHA256(hook secret, \"<t>.<raw body>\")>"},
            },
        },
    }


def render(template: Template) -> str:
    """The document as committed in ``docs/openapi.json`` and served at ``/openapi.json``."""
    return json.dumps(document(template), indent=2, ensure_ascii=False) + "\n"
