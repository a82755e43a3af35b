"""The local stack's S3 endpoint (``--s3-port``): moto's server, serving S3 only.

Browsers upload attachments straight to S3 with the presigned POST the chat hands out, and
fetch them with presigned GETs, so the local stack needs an S3 endpoint a page can reach.
moto's server is that endpoint, sharing the in-process state - but as it comes, it answers
*every* AWS service (DynamoDB, Secrets Manager, KMS...) on that port, with CORS open to any
Origin: any web page the developer opens while ``switchboard dev`` runs could read the local
signing keys, password hashes and TOTP secrets. This wraps it so that:

* only S3 is served: a request moto's dispatcher would hand to any other backend - another
  service, by whatever it reads (credential scope, host patterns, ``X-Amz-Target``, the
  body), or moto's own routes (``/moto-api``: the whole state, a reset) - is 403;
* a request that carries an ``Origin`` is served only for the local pages' origins and the
  tenants' allowed origins (the pages that upload and download attachments);
* only the loopback names and the ``--host`` it is bound to are answered (a page that
  rebinds its own DNS name to 127.0.0.1 still sends that name as ``Host``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from threading import Thread
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from switchboard_local.gateway_ws import allowed_hosts, host_name

__all__ = ["LocalS3Server", "S3Only"]


class S3Only:
    """WSGI middleware in front of moto's dispatcher: S3, from the allowed origins and hosts."""

    def __init__(self, app: DomainDispatcherApplication, *, origins: Iterable[str], hosts: frozenset[str] | None
                 ) -> None:
        self.app, self.origins, self.hosts = app, frozenset(origins), hosts

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.hosts is not None and host_name(environ.get("HTTP_HOST", "")) not in self.hosts:
            return _refuse(start_response, "this endpoint answers to the local stack's own names only")
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin not in self.origins:
            return _refuse(start_response, "this origin may not use the local S3 endpoint")
        if environ.get("HTTP_X_AMZ_TARGET"):
            return _refuse(start_response, "only S3 is served here")
        # moto picks the backend from the request, its body included: read the body once (a
        # chunked one too) and hand each reader a fresh copy of it
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > 0:
            body = environ["wsgi.input"].read(length)
        elif environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read()
        else:
            body = b""
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        # the backend moto itself would answer with - not a guess at it: its own routes
        # (/moto-api: the whole state, reset), and hosts it matches against every service's
        # patterns, are decided here too
        backend = self.app.get_application(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        if getattr(backend, "service", None) != "s3":
            return _refuse(start_response, "only S3 is served here")
        return backend(environ, start_response)


def _refuse(start_response: Callable[..., Any], message: str) -> list[bytes]:
    start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
    return [message.encode()]


class LocalS3Server:
    """moto's server behind :class:`S3Only`, on a thread (as moto's ``ThreadedMotoServer``)."""

    def __init__(self, host: str, port: int, *, origins: Iterable[str]) -> None:
        self.app = S3Only(DomainDispatcherApplication(create_backend_app), origins=origins,
                          hosts=allowed_hosts(host))
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: Thread | None = None

    def start(self) -> None:
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
