"""How the pages in ``web/`` are served, in production and by ``switchboard dev`` alike: the
back office's Content-Security-Policy, as CloudFront sends it (``BackofficeHeadersPolicy`` in
template.yaml; a test holds the template's copy to this one), so the browser tests run the page
under the policy it gets in production; and each file's Content-Type and caching, which
``switchboard publish-web`` stores with the file in S3 and the local pages server sends."""

from __future__ import annotations

import mimetypes

__all__ = ["backoffice_csp", "backoffice_headers", "cache_control", "content_type"]

# Python's own table, not this machine's (/etc/mime.types, the Windows registry, where .js may be
# text/plain): the back office is ES modules, and a browser runs a module only when it is served
# as JavaScript (with nosniff, any script). .js gets RFC 9239's name, text/javascript, which
# Python's table has only from 3.12 on (before, application/javascript).
_TYPES = mimetypes.MimeTypes()
_TYPES.add_type("text/javascript", ".js")


def backoffice_csp(api: str, ws: str, files: str) -> str:
    """Scripts and styles from the page's own origin only (no inline script, no eval), images
    from it and data: URLs (the TOTP QR code), connections to itself (its config file), the
    two APIs and the attachments bucket (``files``: downloads are fetched) only; no base URL,
    no form posts, no framing."""
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {api} {ws} {files}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def backoffice_headers(api: str, ws: str, files: str) -> dict[str, str]:
    """The policy and the security headers CloudFront adds with it (HSTS aside: no TLS here)."""
    return {"Content-Security-Policy": backoffice_csp(api, ws, files), "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


def content_type(name: str) -> str:
    """The Content-Type of a page file, from its name: the same wherever the pages are served
    from, so a module that loads under ``switchboard dev`` loads from S3 too."""
    return _TYPES.guess_type(name)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    """How long browsers and CloudFront may keep a published file (its S3 key) without asking
    again. The pages and their config are asked for again on every load, and so are the back
    office's modules: kept for minutes each, they could be a mix of two publishes after a new
    one, and an import of something the older module lacks stops the whole page. The widget
    (one file) and the styles may be five minutes old."""
    if key.endswith((".html", ".json")) or (key.startswith("backoffice/") and key.endswith(".js")):
        return "no-cache"
    return "max-age=300"
