"""The local stack's S3 endpoint (``--s3-port``): moto's server, serving S3 only, as S3 with
the template's bucket settings and presigned requests would.

Browsers upload attachments straight to S3 with the presigned POST the chat hands out, and
fetch them with presigned GETs, so the local stack needs an S3 endpoint a page can reach.
moto's server is that endpoint, sharing the in-process state - but as it comes, it answers
*every* AWS service (DynamoDB, Secrets Manager, KMS...) on that port, to anyone, unsigned,
with CORS open to any Origin. This wraps it so that:

* only the loopback names and the ``--host`` it is bound to are answered (a page that
  rebinds its own DNS name to 127.0.0.1 still sends that name as ``Host``);
* every request is signed with the stack's own credentials (the ones its functions get),
  as S3 would insist with buckets that block public access: the ``Authorization`` header
  (the functions' SDK calls), a presigned URL or a presigned POST. The signature is checked
  (:mod:`switchboard_local.sigv4`), so a request reaches only what the stack's functions
  signed: the one key of a presigned GET, the key, size and type of a presigned POST's policy;
* a browser (a request with an ``Origin``) is served only from the local pages' origins and
  the tenants' allowed origins, only with a presigned request, and only for
  ``attachments/<tenant>/...`` in the attachments bucket of a tenant that origin belongs to
  (the local pages: every tenant's). No listing, no archive bucket, no other tenant's files;
* only S3 is served: a request moto's dispatcher would hand to any other backend - another
  service, by whatever it reads (credential scope, host patterns, ``X-Amz-Target``, the
  body), or moto's own routes (``/moto-api``: the whole state, a reset) - is refused;
* refusals are S3's XML errors (``<Error><Code>AccessDenied</Code>...``), never a traceback;
* the access log never shows a signature: query strings that carry one are redacted.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Callable, Iterable, Mapping
from threading import Thread
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from switchboard_local.access_log import redact
from switchboard_local.gateway_ws import allowed_hosts, host_name
from switchboard_local.sigv4 import LocalCredentials, Refused, verify_header, verify_post_policy, verify_query

__all__ = ["LocalS3Server", "S3Only"]

_REASONS = {400: "Bad Request", 403: "Forbidden", 405: "Method Not Allowed", 500: "Internal Server Error"}


class S3Only:
    """WSGI middleware in front of moto's dispatcher: S3, signed by the stack, scoped per tenant
    for browsers. ``origins``: each allowed Origin -> the tenants whose attachments it may reach."""

    def __init__(self, app: DomainDispatcherApplication, *, origins: Mapping[str, Iterable[str]],
                 hosts: frozenset[str] | None, credentials: LocalCredentials, attachments_bucket: str) -> None:
        self.app, self.hosts, self.credentials = app, hosts, credentials
        self.origins = {origin: frozenset(tenants) for origin, tenants in origins.items()}
        self.attachments_bucket = attachments_bucket

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return self._serve(environ, start_response)
        except Refused as refused:
            return _error(start_response, refused.status, refused.code, refused.message)

    def _serve(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.hosts is not None and host_name(environ.get("HTTP_HOST", "")) not in self.hosts:
            raise Refused(403, "AccessDenied", "this endpoint answers to the local stack's own names only")
        origin = environ.get("HTTP_ORIGIN")
        tenants = self.origins.get(origin) if origin is not None else None
        if origin is not None and tenants is None:
            raise Refused(403, "AccessDenied", "this origin may not use the local S3 endpoint")
        if environ.get("HTTP_X_AMZ_TARGET"):
            raise Refused(403, "AccessDenied", "only S3 is served here")
        headers = _headers(environ)  # before the body is read: as the client sent (and signed) them
        body = _read_body(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        bucket, _, key = environ.get("PATH_INFO", "/").lstrip("/").partition("/")
        if method == "OPTIONS" and origin is not None:
            # a CORS preflight carries no credentials and reads nothing: S3 answers it from
            # the bucket's CORS rules, which allow the attachments bucket only (template.yaml)
            if bucket != self.attachments_bucket:
                raise Refused(403, "AccessDenied", "CORSResponse: this bucket answers no browser")
        else:
            presigned, key = self._authenticate(environ, headers, method, bucket, key, body)
            if tenants is not None:
                self._browser_may(tenants, presigned=presigned, bucket=bucket, key=key)
        # the backend moto itself would answer with - not a guess at it: its own routes
        # (/moto-api: the whole state, reset), and hosts it matches against every service's
        # patterns, are decided here too
        try:
            backend = self.app.get_application(environ)
        except (AttributeError, KeyError, ValueError):  # moto's guess at a service it has no backend for
            backend = None
        environ["wsgi.input"] = io.BytesIO(body)
        if getattr(backend, "service", None) != "s3" or backend is None:
            raise Refused(403, "AccessDenied", "only S3 is served here")
        return backend(environ, start_response)

    def _authenticate(self, environ: dict[str, Any], headers: dict[str, str], method: str, bucket: str, key: str,
                      body: bytes) -> tuple[bool, str]:
        """Verify the request's signature, whichever of S3's three forms it has; (whether it was
        presigned, the object key it reaches - a POST upload names it in its form)."""
        raw_path, _, raw_query = (environ.get("RAW_URI") or _raw_uri(environ)).partition("?")
        query_keys = {pair.partition("=")[0] for pair in raw_query.split("&")}
        if headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
            verify_header(self.credentials, "s3", method=method, raw_path=raw_path, raw_query=raw_query,
                          headers=headers, body=body)
            return False, key
        if "X-Amz-Signature" in query_keys or "X-Amz-Algorithm" in query_keys:
            verify_query(self.credentials, "s3", method=method, raw_path=raw_path, raw_query=raw_query,
                         headers=headers)
            return True, key
        if method == "POST" and not key and headers.get("content-type", "").startswith("multipart/form-data"):
            fields, size = _form(environ, body)
            verify_post_policy(self.credentials, bucket=bucket, fields=fields, file_size=size)
            return True, fields.get("key", "")
        if headers.get("authorization") or "Signature" in query_keys or "AWSAccessKeyId" in query_keys:
            raise Refused(400, "InvalidRequest", "Please use AWS4-HMAC-SHA256.")
        raise Refused(403, "AccessDenied", "Access Denied (the local S3 endpoint serves signed requests only)")

    def _browser_may(self, tenants: frozenset[str], *, presigned: bool, bucket: str, key: str) -> None:
        """What a page may reach, as the template's buckets allow it: presigned uploads and
        downloads of its tenants' attachments, nothing else."""
        if not presigned:
            raise Refused(403, "AccessDenied", "a browser reaches S3 with presigned requests only")
        if bucket != self.attachments_bucket or not key:
            raise Refused(403, "AccessDenied", "a browser may reach attachments only (no listing, no other bucket)")
        parts = key.split("/")
        if len(parts) < 3 or parts[0] != "attachments" or parts[1] not in tenants or not parts[2]:
            raise Refused(403, "AccessDenied", "this origin may reach its own tenant's attachments only")


def _read_body(environ: dict[str, Any]) -> bytes:
    """The body, read once (a chunked one too): moto picks the backend from it, the signature
    and a POST policy are checked against it. Each later reader gets a fresh copy."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > 0:
        body: bytes = environ["wsgi.input"].read(length)
    elif environ.get("wsgi.input_terminated"):
        body = environ["wsgi.input"].read()
    else:
        body = b""
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers, names lower-cased, as the client sent (and signed) them."""
    out = {name[5:].replace("_", "-").lower(): str(value) for name, value in environ.items()
           if name.startswith("HTTP_")}
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):  # WSGI keeps these two without the HTTP_ prefix
        if environ.get(name):
            out[name.replace("_", "-").lower()] = str(environ[name])
    return out


def _raw_uri(environ: dict[str, Any]) -> str:
    query = environ.get("QUERY_STRING", "")
    return quote(environ.get("PATH_INFO", "/"), safe="/~!$&'()*+,;=:@") + (f"?{query}" if query else "")


def _form(environ: dict[str, Any], body: bytes) -> tuple[dict[str, str], int]:
    """A POST upload's form fields (names lower-cased, as S3 compares them) and its file's size."""
    from werkzeug.formparser import parse_form_data

    copy = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    _, form, files = parse_form_data(copy)
    upload = files.get("file")
    if upload is None:
        raise Refused(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    size = len(upload.stream.read())
    return {name.lower(): value for name, value in form.items()}, size


def _error(start_response: Callable[..., Any], status: int, code: str, message: str) -> list[bytes]:
    """S3's error document."""
    request_id = secrets.token_hex(8).upper()
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId>"
            f"<HostId>{hashlib.sha256(request_id.encode()).hexdigest()}</HostId></Error>").encode()
    start_response(f"{status} {_REASONS.get(status, 'Error')}",
                   [("Content-Type", "application/xml"), ("Content-Length", str(len(body))),
                    ("x-amz-request-id", request_id)])
    return [body]


class _RedactingHandler(MotoRequestHandler):
    """moto's request handler, whose access log line would print a presigned URL whole: the
    signature (valid for minutes, enough to fetch the file) and the credential are redacted."""

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, message, *(redact(a) if isinstance(a, str) else a for a in args))


class LocalS3Server:
    """moto's server behind :class:`S3Only`, on a thread (as moto's ``ThreadedMotoServer``)."""

    def __init__(self, host: str, port: int, *, origins: Mapping[str, Iterable[str]],
                 credentials: LocalCredentials, attachments_bucket: str) -> None:
        self.app = S3Only(DomainDispatcherApplication(create_backend_app), origins=origins,
                          hosts=allowed_hosts(host), credentials=credentials, attachments_bucket=attachments_bucket)
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: Thread | None = None

    def start(self) -> None:
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_RedactingHandler)
        self._thread = Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop serving; with ``timeout``, wait at most that long (the thread is a daemon: a
        request still in hand does not hold the process's exit)."""
        server = self._server
        if server is not None:
            closing = Thread(target=server.shutdown, daemon=True)  # waits for serve_forever's next poll
            closing.start()
            closing.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
