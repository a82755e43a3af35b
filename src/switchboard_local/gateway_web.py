"""The static pages of the local stack (``web/``): ``/widget.js``, ``/demo/``, ``/backoffice/``.

Served from another port than the APIs, so the browser sees a different origin, as in
production (CloudFront in front of S3), and CORS and the tenants' allowed origins apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["build_web_app"]


def build_web_app(root: Path, *, config: dict[str, Any] | None = None) -> web.Application:
    """Static files under ``root``; with ``config``, also ``/switchboard-config.json`` - where
    the pages find the APIs (``{"api", "ws", "tenant"}``), as a production host would serve it
    next to them."""
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
        return web.FileResponse(target, headers={"Cache-Control": "no-store"})

    app = web.Application()
    if config is not None:
        app.router.add_get("/switchboard-config.json", site_config)
    app.router.add_get("/{tail:.*}", serve)
    return app
