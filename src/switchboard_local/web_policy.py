"""The back office's Content-Security-Policy, as CloudFront sends it in production
(``BackofficeHeadersPolicy`` in template.yaml) and ``switchboard dev`` sends it locally, so
the browser tests run the page under the policy it gets in production. A test holds the
template's copy to this one."""

from __future__ import annotations

__all__ = ["backoffice_csp", "backoffice_headers"]


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
