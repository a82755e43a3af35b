"""The local pages server compresses as CloudFront does in production ("compress objects
automatically"): text files of 1,000 bytes or more are gzipped for a browser that accepts gzip,
and every response that could have been compressed says ``Vary: Accept-Encoding``, so no cache
hands a gzipped body to a client that did not ask for one. docs/web.md, "Hosting".
"""

from __future__ import annotations

import gzip
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

WEB = Path(__file__).resolve().parents[2] / "web"


def fetch(url: str, accept_encoding: str | None) -> tuple[dict[str, str], bytes]:
    headers = {"Accept-Encoding": accept_encoding} if accept_encoding is not None else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return {k.lower(): v for k, v in r.headers.items()}, r.read()


@pytest.mark.parametrize("path", ["widget.js", "widget.min.js", "backoffice/style.css", "demo/index.html"])
def test_a_text_file_is_gzipped_for_a_browser_that_accepts_gzip(dev_stack, path):
    # When a browser asks for a page file, accepting gzip among others
    headers, body = fetch(f"{dev_stack.web}/{path}", "gzip, deflate, br, zstd")
    # Then it comes gzipped (the encoding every browser accepts), and it is the file
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == (WEB / path).read_bytes()
    assert len(body) < (WEB / path).stat().st_size


@pytest.mark.parametrize("accept", [None, "identity", "br", "gzip;q=0, *;q=1", "deflate"])
def test_a_client_that_does_not_accept_gzip_gets_the_file_as_it_is(dev_stack, accept):
    # When a client does not accept gzip (no header, identity, other codings, gzip refused)
    headers, body = fetch(f"{dev_stack.web}/widget.js", accept)
    # Then the file comes as it is, and the answer still varies by Accept-Encoding
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"
    assert body == (WEB / "widget.js").read_bytes()


def test_a_small_file_is_not_compressed_but_varies_by_accept_encoding(dev_stack):
    # Given a page file under CloudFront's 1,000-byte minimum
    small = WEB / "backoffice" / "index.html"
    assert small.stat().st_size < 1000
    # When a browser accepting gzip asks for it
    headers, body = fetch(f"{dev_stack.web}/backoffice/", "gzip")
    # Then it comes as it is
    assert "content-encoding" not in headers and body == small.read_bytes()
    assert headers["vary"] == "Accept-Encoding"
