"""The static pages of the local stack (``web/``): ``/widget.js``, ``/demo/``, ``/backoffice/``.

Served from another port than the APIs, so the browser sees a different origin, as in
production (CloudFront in front of S3), and CORS and the tenants' allowed origins apply.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

__all__ = ["build_web_app"]


def build_web_app(root: Path) -> web.Application:
    root = root.resolve()

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
    app.router.add_get("/{tail:.*}", serve)
    return app
