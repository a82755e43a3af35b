"""The chat's S3 objects - transcripts in the archive bucket, attachments in theirs - behind one
small wrapper, as :class:`switchboard.chat.realtime.Realtime` keeps the management API's client.

Only closing a channel, deleting in a closed one and the attachment actions touch S3: the client
(and botocore's S3 model) is made on first use, once per container, so the other chat functions
never pay for it at cold start.
"""

from __future__ import annotations

import threading
from typing import Any

from switchboard.errors import NotFound
from switchboard.observability import logger

__all__ = ["ChatFiles"]


class ChatFiles:
    """Reads, writes and presigns the chat's objects; ``path_style`` for an S3 endpoint of our own."""

    def __init__(self, *, path_style: bool = False) -> None:
        self._path_style = path_style
        self._lock = threading.Lock()
        self._client: Any = None

    @property
    def client(self) -> Any:
        """One S3 client per container (boto3 clients are thread-safe), made on first use."""
        with self._lock:
            if self._client is None:
                from botocore.config import Config

                from switchboard import aws

                # SigV4 for the presigned POSTs and GETs (botocore would sign them with the
                # deprecated SigV2 in us-east-1, which newer regions do not accept), at the
                # bucket's regional virtual-hosted address (the global one may redirect a new
                # bucket, which breaks a signed request; the back office's CSP names that address)
                # - but path-style at an endpoint of our own (the local stack's S3 on 127.0.0.1)
                self._client = aws.client("s3", config=Config(
                    signature_version="s3v4", s3={"addressing_style": "path" if self._path_style else "virtual"}))
            return self._client

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str) -> None:
        """Write an object, encrypted at rest (SSE-S3)."""
        self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                               ServerSideEncryption="AES256")

    def presigned_upload(self, bucket: str, key: str, *, content_type: str, max_bytes: int,
                         expires_in: int) -> dict[str, Any]:
        """A presigned POST (``url``, ``fields``) of one object: its content type fixed, its size
        between 1 and ``max_bytes`` (``content-length-range``)."""
        post: dict[str, Any] = self.client.generate_presigned_post(
            Bucket=bucket, Key=key, Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in)
        return post

    def content_type(self, bucket: str, key: str) -> str | None:
        """The stored object's content type; :class:`NotFound` if there is no such object."""
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey", "NotFound"):
                raise NotFound("the file is no longer there") from None
            if code in ("403", "AccessDenied", "Forbidden"):
                # S3 answers a HEAD of a missing key with 403, not 404, to a role without
                # s3:ListBucket (ours has none: it needs only its objects) - or the policy is wrong
                logger.warning("attachment not readable (missing, or no s3:GetObject)", extra={"code": code})
                raise NotFound("the file is no longer there") from None
            raise
        content_type: str | None = head.get("ContentType")
        return content_type

    def presigned_download(self, bucket: str, key: str, *, disposition: str, expires_in: int) -> str:
        """A presigned GET of one object, answered with ``Content-Disposition: disposition``."""
        url: str = self.client.generate_presigned_url("get_object", ExpiresIn=expires_in, Params={
            "Bucket": bucket, "Key": key, "ResponseContentDisposition": disposition})
        return url
