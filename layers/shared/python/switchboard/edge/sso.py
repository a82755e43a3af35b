"""The SSO routes' HTTP details: the redirect URI registered at the provider, and the cookie
that binds a sign-in to the browser that started it."""

from __future__ import annotations

from switchboard.auth.oidc import STATE_SECONDS, Authorization, binding_cookie
from switchboard.edge.httpapi import Request
from switchboard.settings import Settings

__all__ = ["binding_clear_cookie", "binding_set_cookie", "redirect_uri"]

#: the cookie goes only to the SSO routes
COOKIE_PATH = "/auth/oidc/"


def redirect_uri(settings: Settings, request: Request, provider: str) -> str:
    """``<API>/auth/oidc/<provider>/callback``: the URL to register at the provider. The API's
    base is ``PublicApiUrl`` (a custom domain, the local stack), else the domain API Gateway
    received the request on."""
    base = settings.public_api_url or f"https://{request.domain}"
    return f"{base}/auth/oidc/{provider}/callback"


def binding_set_cookie(started: Authorization, *, secure: bool) -> str:
    """HttpOnly (no script reads it), SameSite=Lax (sent on the provider's top-level redirect
    back, not on cross-site subrequests), as long as the state lives; Secure over https."""
    return (f"{started.cookie_name}={started.cookie_value}; Path={COOKIE_PATH}; Max-Age={STATE_SECONDS}; HttpOnly; "
            f"SameSite=Lax{'; Secure' if secure else ''}")


def binding_clear_cookie(state: str | None) -> tuple[str, ...]:
    """The flow's cookie, dropped once its state is spent."""
    if not state:
        return ()
    return (f"{binding_cookie(state)}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Lax",)
