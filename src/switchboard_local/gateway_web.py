"""The static pages of the local stack (``web/``): ``/widget.js``, ``/demo/``, ``/backoffice/``;
and the outbox (``/outbox/``, ``/outbox/messages.json``: the mail sent through moto's SES).

Served from another port than the APIs, so the browser sees a different origin, as in
production (CloudFront in front of S3), and CORS and the tenants' allowed origins apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from switchboard_local.web_policy import backoffice_headers, content_type

__all__ = ["build_web_app"]


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL: what a CSP source names."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# As CloudFront compresses (its "compress objects automatically"): text types from 1,000 bytes on,
# gzip where the browser accepts it, and ``Vary: Accept-Encoding`` on every response that could
# have been compressed, so no cache hands a gzipped body to a client that did not ask for one.
# (CloudFront prefers Brotli when offered; aiohttp has no Brotli encoder without an extra
# package, and gzip is what every browser accepts - docs/web.md says so.)
_COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")
_MIN_COMPRESS = 1000
_MAX_COMPRESS = 10_000_000


def _compressed(request: web.Request, target: Path, headers: dict[str, str]) -> web.StreamResponse:
    """The file, gzipped when it is worth it and the client accepts gzip."""
    if not headers["Content-Type"].startswith(_COMPRESSIBLE):
        return web.FileResponse(target, headers=headers)
    size = target.stat().st_size
    headers = {**headers, "Vary": "Accept-Encoding"}
    if not _MIN_COMPRESS <= size <= _MAX_COMPRESS or not _accepts_gzip(request.headers.get("Accept-Encoding", "")):
        return web.FileResponse(target, headers=headers)
    response = web.Response(body=target.read_bytes(), headers=headers)
    response.enable_compression(web.ContentCoding.gzip)
    return response


def _accepts_gzip(header: str) -> bool:
    """Accept-Encoding gives gzip (or, not naming it, ``*``) a weight above zero (RFC 9110, 12.5.3)."""
    weights: dict[str, float] = {}
    for part in header.split(","):
        coding, *params = (p.strip().lower() for p in part.split(";"))
        weight = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    weight = float(param[2:])
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding] = weight
    return weights.get("gzip", weights.get("*", 0.0)) > 0


def build_web_app(root: Path, *, config: dict[str, Any] | None = None, files: str = "",
                  outbox: bool = False) -> web.Application:
    """Static files under ``root``; with ``config``, also ``/switchboard-config.json`` - where
    the pages find the APIs (``{"api", "ws", "tenant"}``), as a production host would serve it
    next to them - and the back office's security headers (``files``: where attachments are
    downloaded from, for its Content-Security-Policy). ``outbox``: also the local outbox (contract
    section 7), read from moto's SES in this process (:mod:`switchboard_local.outbox`)."""
    root = root.resolve()

    async def site_config(request: web.Request) -> web.StreamResponse:
        return web.json_response(config, headers={"Cache-Control": "no-store"})

    async def serve(request: web.Request) -> web.StreamResponse:
        target = (root / request.match_info["tail"]).resolve()
        if root not in (target, *target.parents):
            raise web.HTTPNotFound()
        if target.is_dir():
            if not request.path.endswith("/"):
                raise web.HTTPFound(request.path + "/")
            target = target / "index.html"
        if not target.is_file():
            raise web.HTTPNotFound()
        # the type publish-web stores in S3, not aiohttp's guess: a module that loads here loads there
        headers = {"Cache-Control": "no-store", "Content-Type": content_type(target.name)}
        if config is not None and request.path.startswith("/backoffice/"):
            # as CloudFront serves it: template.yaml's BackofficeHeadersPolicy
            headers |= backoffice_headers(origin_of(config["api"]), origin_of(config["ws"]), files)
        return _compressed(request, target, headers)

    async def outbox_json(request: web.Request) -> web.StreamResponse:
        from switchboard_local.outbox import messages

        return web.json_response(messages(), headers={"Cache-Control": "no-store"})

    async def outbox_page(request: web.Request) -> web.StreamResponse:
        from switchboard_local.outbox import messages, render_page

        return web.Response(text=render_page(messages()), content_type="text/html",
                            headers={"Cache-Control": "no-store", "Content-Security-Policy":
                                     "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
                                     "X-Content-Type-Options": "nosniff"})

    async def outbox_redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/outbox/")

    app = web.Application()
    if outbox:
        app.router.add_get("/outbox/messages.json", outbox_json)
        app.router.add_get("/outbox/", outbox_page)
        app.router.add_get("/outbox", outbox_redirect)
    if config is not None:
        app.router.add_get("/switchboard-config.json", site_config)
    app.router.add_get("/{tail:.*}", serve)
    return app
