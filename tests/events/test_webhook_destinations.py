"""SSRF: no webhook reaches an address inside a network - refused when saved (PATCH
/admin/tenant, 400) and again at every attempt, with the address checked pinned for the
connection, and redirects never followed (issue 19)."""

from __future__ import annotations

import socket
import threading

import pytest
from switchboard.errors import ValidationFailed
from switchboard.events import webhooks

from tests.events.conftest import WEBHOOK_SECRET

#: one URL per class of address that must be refused in production, v4, v6 and v4 inside v6
INSIDE = {
    "loopback-v4": "https://127.0.0.1/in",
    "loopback-v4-other": "https://127.1.2.3/in",
    "loopback-by-name": "https://localhost/in",
    "loopback-decimal": "https://2130706433/in",
    "private-10": "https://10.0.0.5/in",
    "private-172": "https://172.16.4.2/in",
    "private-192": "https://192.168.1.10/in",
    "link-local-metadata": "https://169.254.169.254/latest/meta-data/",
    "shared-cgnat": "https://100.64.0.1/in",
    "multicast-v4": "https://224.0.0.251/in",
    "reserved-v4": "https://240.0.0.1/in",
    "broadcast": "https://255.255.255.255/in",
    "unspecified-v4": "https://0.0.0.0/in",
    "this-network": "https://0.1.2.3/in",
    "loopback-v6": "https://[::1]/in",
    "unspecified-v6": "https://[::]/in",
    "link-local-v6": "https://[fe80::1]/in",
    "unique-local-v6": "https://[fd12:3456::1]/in",
    "multicast-v6": "https://[ff02::1]/in",
    "multicast-v6-global": "https://[ff0e::1]/in",
    "v4-mapped-loopback": "https://[::ffff:127.0.0.1]/in",
    "v4-mapped-private": "https://[::ffff:10.1.2.3]/in",
    "v4-mapped-metadata": "https://[::ffff:169.254.169.254]/in",
    "6to4-loopback": "https://[2002:7f00:1::1]/in",
    "nat64-private": "https://[64:ff9b::a00:1]/in",
    "documentation-v6": "https://[2001:db8::1]/in",
    # found by the probe of the merged stack: addresses whose inside ipaddress does not unwrap
    "v4-compatible-loopback": "https://[::127.0.0.1]/in",
    "v4-translated-loopback": "https://[::ffff:0:7f00:1]/in",
    "nat64-local-use-metadata": "https://[64:ff9b:1::a9fe:a9fe]/in",
    "ietf-protocol-assignments": "https://192.0.0.192/in",
    "6to4-relay-anycast": "https://192.88.99.1/in",
}


@pytest.mark.parametrize("url", list(INSIDE.values()), ids=list(INSIDE))
def test_a_webhook_to_an_inside_address_is_refused_at_save(call, admin, svc, url):
    # Given production settings (https only, no loopback)
    before = call("GET /admin/tenant", token=admin)["json"]
    # When an admin saves a webhook to an inside address
    r = call("PATCH /admin/tenant", token=admin,
             body={"webhooks": [{"url": url, "events": ["message.created"], "secret": WEBHOOK_SECRET}]})
    # Then it is a 400 validation error that changes nothing
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    assert "webhooks.url" in r["json"]["detail"]
    assert call("GET /admin/tenant", token=admin)["json"] == before


@pytest.mark.parametrize("url", list(INSIDE.values()), ids=list(INSIDE))
def test_an_attempt_to_an_inside_address_is_refused(url):
    # An attempt checks again (a webhook saved before, or DNS changed since): it fails, nothing is sent
    with pytest.raises(webhooks.DeliveryFailed):
        webhooks.deliver(url, secret=WEBHOOK_SECRET, msg_id="evt_1", body="{}", timestamp=1,
                         allow_http=False, allow_loopback=False)


def test_a_public_address_is_accepted(call, admin):
    r = call("PATCH /admin/tenant", token=admin, body={"webhooks": [
        {"url": "https://93.184.215.14/in", "events": ["message.created"], "secret": WEBHOOK_SECRET},
        {"url": "https://[2606:4700:4700::1111]/in", "events": ["message.created"], "secret": WEBHOOK_SECRET}]})
    assert r["status"] == 200, r


@pytest.mark.parametrize("url", ["http://10.0.0.5/in", "http://169.254.169.254/in", "http://[fe80::1]/in",
                                 "http://[::ffff:192.168.0.1]/in"])
def test_the_local_stack_allows_loopback_but_never_another_inside_address(call, admin, monkeypatch, url):
    from switchboard.runtime import reset_caches

    monkeypatch.setenv("ALLOW_HTTP_URLS", "1")
    reset_caches()
    ok = call("PATCH /admin/tenant", token=admin, body={"webhooks": [
        {"url": "http://127.0.0.1:9/in", "events": ["message.created"], "secret": WEBHOOK_SECRET}]})
    assert ok["status"] == 200, ok
    r = call("PATCH /admin/tenant", token=admin,
             body={"webhooks": [{"url": url, "events": ["message.created"], "secret": WEBHOOK_SECRET}]})
    assert r["status"] == 400, r


class _Listener:
    """A TCP listener on loopback that counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def _dns(monkeypatch, answers):
    """The resolver answers ``answers[name]`` (one list per call, the last repeated): a DNS that
    changes between calls, as in a rebinding attack."""
    real = socket.getaddrinfo
    calls: dict[str, int] = {}

    def fake(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        n = calls.get(host, 0)
        calls[host] = n + 1
        seq = answers[host]
        address = seq[min(n, len(seq) - 1)]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


def test_a_host_that_resolves_inside_at_send_is_refused_before_any_connection(monkeypatch):
    # Given a webhook host saved while it resolved elsewhere, that now resolves to loopback (rebinding)
    listener = _Listener()
    _dns(monkeypatch, {"hooks.rebind.test": ["127.0.0.1"]})
    # When an attempt is made in production
    with pytest.raises(webhooks.DeliveryFailed):
        webhooks.deliver(f"https://hooks.rebind.test:{listener.port}/in", secret=WEBHOOK_SECRET, msg_id="evt_1",
                         body="{}", timestamp=1, allow_http=False, allow_loopback=False)
    # Then no connection was made at all
    assert listener.connections == 0


def test_one_inside_answer_among_public_ones_is_refused(monkeypatch):
    # A host answering a public and a private address is refused, whichever comes first
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))])
    with pytest.raises(ValidationFailed):
        webhooks.check_destination("https://two.example/in", allow_http=False, allow_loopback=False)


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch, receiver):
    # Given a host that resolves to the (local stack's allowed) loopback receiver first, and to an
    # inside address on every later lookup
    calls = _dns(monkeypatch, {"hooks.pinned.test": ["127.0.0.1", "10.255.255.1"]})
    url = f"http://hooks.pinned.test:{receiver.port}/hooks/in"
    # When an attempt is made
    status = webhooks.deliver(url, secret=WEBHOOK_SECRET, msg_id="evt_1", body='{"type":"x"}', timestamp=1,
                              allow_http=True, allow_loopback=True)
    # Then it reached the address checked (one lookup only; none by the HTTP client), with the host's name
    assert status == 200 and calls["hooks.pinned.test"] == 1
    (got,) = receiver.requests
    assert got["headers"]["host"] == f"hooks.pinned.test:{receiver.port}"


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(receiver):
    # Given a receiver that redirects to another receiver (an inside address, say)
    from tests.events.conftest import Receiver

    other = Receiver()
    try:
        receiver.status, receiver.location = 307, other.url
        # When an attempt is made
        with pytest.raises(webhooks.DeliveryFailed):
            webhooks.deliver(receiver.url, secret=WEBHOOK_SECRET, msg_id="evt_1", body="{}", timestamp=1,
                             allow_http=True, allow_loopback=True)
        # Then the redirect's target saw nothing
        assert len(receiver.requests) == 1 and other.requests == []
    finally:
        other.stop()


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(monkeypatch):
    # Given a receiver that accepts the connection and never answers
    listener = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setattr(webhooks, "TIMEOUTS", (1, 0.5))
    try:
        with pytest.raises(webhooks.DeliveryFailed):
            webhooks.deliver(f"http://127.0.0.1:{listener.getsockname()[1]}/in", secret=WEBHOOK_SECRET,
                             msg_id="evt_1", body="{}", timestamp=1, allow_http=True, allow_loopback=True)
    finally:
        listener.close()
