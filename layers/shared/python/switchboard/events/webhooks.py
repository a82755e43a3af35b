"""Webhook delivery: Standard Webhooks signatures, and no request to an address inside the
network (SSRF).

**Signature** (https://www.standardwebhooks.com, contract section 9): headers ``webhook-id``
(the event's id, the same on every attempt: receivers de-duplicate by it), ``webhook-timestamp``
(epoch seconds of this attempt) and ``webhook-signature: v1,<base64 HMAC-SHA256(key,
"<id>.<timestamp>.<body>")>``. The key is the secret's bytes after ``whsec_``, base64-decoded, as
the specification's libraries read it; a secret saved without that prefix (any 24+ printable
characters: ``PATCH /admin/tenant`` accepts them) is used as its UTF-8 bytes. HMAC from the
standard library: the specification is this one line, and its reference library
(``standardwebhooks``) verifies ours in the tests.

**Destinations.** A webhook URL is checked when it is saved and again at every attempt, because
DNS answers can change between the two (DNS rebinding): the host is resolved, every address it
resolves to must be public - not private, loopback, link-local, multicast, reserved,
unspecified, shared (CGNAT), nor such an address wrapped in IPv6 (IPv4-mapped, 6to4, NAT64,
Teredo) - and the request then goes to the address that was checked (pinned), with the
certificate still verified against the host name. Redirects are never followed (a 3xx is a
failed attempt), and every attempt has connect and read timeouts. ``https`` only, except on the
local stack (``ALLOW_HTTP_URLS=1``, which the template never sets), where plain http and loopback
receivers are allowed - and still no private, link-local or other inside address.

At save (``PATCH /admin/tenant``) a host that does not resolve is accepted: its DNS may be set up
after the webhook, and the check at each attempt is the one that guards the request (an attempt
to a host that does not resolve fails, and is retried). A host that resolves to an inside
address, or an inside IP literal, is a 400.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from switchboard.errors import ValidationFailed

__all__ = ["DeliveryFailed", "Unresolved", "check_destination", "check_saved", "deliver", "is_public", "sign",
           "signing_key"]

#: (connect, read) seconds of one attempt: a slow receiver is a failed attempt, retried later
TIMEOUTS = (3.05, 10)
USER_AGENT = "Switchboard-Webhooks/1"

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215, local-use NAT64
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # ::a.b.c.d (RFC 4291, deprecated)
_V4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # ::ffff:0:a.b.c.d (RFC 2765)
#: IPv4 ranges that are not the public internet whatever ``is_global`` says on this Python
_NOT_PUBLIC_V4 = (ipaddress.IPv4Network("192.0.0.0/24"), ipaddress.IPv4Network("192.88.99.0/24"))


class DeliveryFailed(Exception):
    """One attempt did not reach a 2xx answer (said without the URL's query or any secret)."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of a webhook secret (see the module's docstring)."""
    if secret.startswith("whsec_"):
        encoded = secret[len("whsec_"):]
        try:  # padded or not, as the specification's libraries accept it
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            pass  # not base64 after all: its bytes, as for any other secret
    return secret.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 signature>`` of one attempt."""
    mac = hmac.new(signing_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def is_public(address: str, *, allow_loopback: bool = False) -> bool:
    """Whether a webhook may be sent to this IP address (``allow_loopback``: the local stack's
    receivers on 127.0.0.1 / ::1, and nothing else that is not public)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and (ip in _NAT64 or ip in _NAT64_LOCAL or (ip in _V4_COMPATIBLE and int(ip) > 1)
                                 or ip in _V4_TRANSLATED):
            # the address inside: NAT64 (well-known and local-use), IPv4-compatible (::a.b.c.d,
            # deprecated but still routed by some stacks) and IPv4-translated (::ffff:0:a.b.c.d)
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(str(embedded), allow_loopback=allow_loopback)
    if allow_loopback and ip.is_loopback:
        return True
    # is_global is False for private, loopback, link-local, reserved, unspecified, shared
    # (100.64/10) and documentation ranges; multicast addresses can be "global": refused apart,
    # as are the IETF protocol assignments and the 6to4 relay anycast some Pythons call global
    return ip.is_global and not ip.is_multicast and not any(ip in net for net in _NOT_PUBLIC_V4)


class Unresolved(ValidationFailed):
    """The host does not resolve (now)."""


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolved("webhooks.url: its host does not resolve") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_destination(url: str, *, allow_http: bool, allow_loopback: bool) -> tuple[str, int, str]:
    """``(host, port, address)``: the URL's host, port, and the public address to connect to.
    :class:`ValidationFailed` when the scheme is not allowed or *any* address the host resolves
    to is not public (one public and one private answer is how rebinding attacks start);
    :class:`Unresolved` (a ValidationFailed) when it does not resolve."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise ValidationFailed("webhooks.url: https only")
    if parts.username is not None or parts.password is not None or not parts.hostname:
        raise ValidationFailed("webhooks.url: a host, and no user or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationFailed("webhooks.url: not a port") from exc
    host = parts.hostname
    addresses = _resolve(host, port)
    if not addresses or not all(is_public(a, allow_loopback=allow_loopback) for a in addresses):
        raise ValidationFailed("webhooks.url: its host resolves to an address inside a network "
                               "(private, loopback, link-local, multicast or reserved)")
    return host, port, addresses[0]


def check_saved(url: str, *, allow_http: bool) -> None:
    """The check at save (``PATCH /admin/tenant``): :func:`check_destination`, a host that does
    not resolve yet accepted (see the module's docstring)."""
    with contextlib.suppress(Unresolved):
        check_destination(url, allow_http=allow_http, allow_loopback=allow_http)


def deliver(url: str, *, secret: str, msg_id: str, body: str, timestamp: int, allow_http: bool,
            allow_loopback: bool) -> int:
    """One attempt: POST ``body`` signed, to the address checked now (pinned). Returns the
    2xx status; :class:`DeliveryFailed` otherwise (a refused destination, a network error, a
    timeout, a redirect, any other status)."""
    import requests

    try:
        host, port, address = check_destination(url, allow_http=allow_http, allow_loopback=allow_loopback)
    except ValidationFailed as exc:
        raise DeliveryFailed(str(exc)) from exc
    parts = urlsplit(url)
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    netloc = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    default_port = 443 if parts.scheme == "https" else 80
    headers = {"Host": host if port == default_port else f"{host}:{port}", "Content-Type": "application/json",
               "User-Agent": USER_AGENT, "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(secret, msg_id, timestamp, body)}
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the address checked is the one reached
    session.mount("https://", _pinned_tls(host))
    try:
        with session:
            answer = session.post(target, data=body.encode(), headers=headers, timeout=TIMEOUTS,
                                  allow_redirects=False, stream=True)
            answer.close()  # the body is not read: a receiver cannot make us download anything
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{type(exc).__name__} reaching {host}") from None
    if not 200 <= answer.status_code < 300:
        raise DeliveryFailed(f"{host} answered {answer.status_code}")
    return answer.status_code


def _pinned_tls(host: str) -> Any:
    """A requests adapter for TLS to a pinned IP address that still verifies the certificate
    for the host name (SNI and the hostname check on ``host``, not on the address in the URL).
    Made here, not at import: the settings check imports this module and never sends."""
    from requests.adapters import HTTPAdapter

    class PinnedTls(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["server_hostname"] = host
            kwargs["assert_hostname"] = host
            super().init_poolmanager(*args, **kwargs)

    return PinnedTls(max_retries=0)
