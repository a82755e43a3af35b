"""What the local stack's access log may show of a request line.

A presigned S3 URL carries its signature and credential in the query string, and the
WebSocket handshake its chat token (``?token=``): whoever reads the log (a terminal shared
on a call, a CI log) could replay them while they last. Their values are replaced, the rest
of the line (method, path, status) is kept for debugging.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

#: query parameters whose value grants access: SigV4 (header names are case-insensitive, and
#: so are these here), SigV2 (``Signature``, ``AWSAccessKeyId``), session tokens, chat tokens
_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId|token)=)[^&\s\"#]*")


def redact(line: str) -> str:
    """``line`` with the value of every query parameter that carries a credential replaced."""
    return _SECRET_PARAMS.sub(r"\1REDACTED", line)
