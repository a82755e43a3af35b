"""Checking AWS Signature Version 4 on the local stack's own AWS endpoints.

The local ``@connections`` API and the local S3 port stand in for API Gateway and S3, which
refuse a request whose signature does not verify. So do these: the signature is computed
again here with the stack's own credentials (the ones its functions get) and compared in
constant time. The canonical request, the string to sign and the signing key are botocore's
own (:class:`botocore.auth.SigV4Auth` and its S3 variants), fed with the request as it came
and the timestamp it was signed at - so the check agrees with every botocore-based client
(boto3, the AWS CLI) without a second implementation of SigV4 to drift.

Three forms are understood: the ``Authorization`` header (SDK calls), the query string
(``X-Amz-Signature``: presigned URLs) and S3's presigned POST (the policy document signed
as a whole; its conditions are checked here too, as S3 checks them). Hand-rolled on purpose:
the POST policy's conditions, which no maintained library evaluates server-side.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["LocalCredentials", "Refused", "Signed", "verify_header", "verify_post_policy", "verify_query"]

ALGORITHM = "AWS4-HMAC-SHA256"
#: S3 and API Gateway refuse a header-signed request whose time is this far from theirs
MAX_SKEW = timedelta(minutes=15)
#: the longest a presigned URL may live (S3: 7 days)
MAX_EXPIRES = 7 * 24 * 3600
_HEADER = re.compile(r"^AWS4-HMAC-SHA256 +Credential=(?P<credential>[^,\s]+) *, *SignedHeaders=(?P<signed>[^,\s]+)"
                     r" *, *Signature=(?P<signature>[0-9a-f]{64})$")
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
#: payload hashes S3 takes in place of the body's (the signature then covers the headers only)
_UNSIGNED_PAYLOADS = frozenset({"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})


@dataclass(frozen=True)
class LocalCredentials:
    """The one key pair the local stack's endpoints accept: the one its functions sign with."""

    access_key: str
    secret_key: str

    def botocore(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key)


class Refused(Exception):
    """A request the endpoint refuses: ``status`` and AWS's error ``code`` for it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Signed:
    """What a verified signature was made for."""

    service: str
    region: str
    presigned: bool  # a presigned URL or POST (what a browser is handed), not an SDK's header


def _scope(credential: str, credentials: LocalCredentials, service: str) -> tuple[str, str]:
    """(date, region) of ``<key>/<date>/<region>/<service>/aws4_request``, checked against the
    stack's key and this endpoint's service."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not re.fullmatch(r"\d{8}", parts[1]) or not parts[2]:
        raise Refused(400, "AuthorizationHeaderMalformed", "the credential is not <key>/<date>/<region>/"
                                                           "<service>/aws4_request")
    if parts[3] != service:
        raise Refused(400, "AuthorizationHeaderMalformed",
                      f"the credential's service is incorrect; this endpoint belongs to {service!r}")
    if not hmac.compare_digest(parts[0].encode(), credentials.access_key.encode()):
        raise Refused(403, "InvalidAccessKeyId", "the access key id is not the local stack's")
    return parts[1], parts[2]


def _timestamp(value: str | None, date: str) -> datetime:
    try:
        at = datetime.strptime(value or "", _TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise Refused(403, "AccessDenied", "the request has no valid X-Amz-Date") from None
    if not (value or "").startswith(date):
        raise Refused(400, "AuthorizationHeaderMalformed", "the credential's date is not the request's")
    return at


def _request(method: str, host: str, raw_path: str, raw_query: str, headers: Mapping[str, str], signed: str,
             body: bytes) -> AWSRequest:
    """The request as the signer saw it: the same path and query bytes, only the signed headers."""
    names = signed.split(";")
    kept = {name: headers[name] for name in names if name in headers}
    if len(kept) != len(names) or "host" not in kept:
        raise Refused(403, "AccessDenied", "a signed header is missing from the request")
    url = f"http://{host}{raw_path}" + (f"?{raw_query}" if raw_query else "")
    return AWSRequest(method=method, url=url, headers=kept, data=body)


def _compute(signer: SigV4Auth, request: AWSRequest, timestamp: str) -> str:
    request.context["timestamp"] = timestamp
    return str(signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request))


def _match(expected: str, given: str) -> None:
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Refused(403, "SignatureDoesNotMatch", "the request signature we calculated does not match the "
                                                    "signature you provided")


def verify_header(credentials: LocalCredentials, service: str, *, method: str, raw_path: str, raw_query: str,
                  headers: Mapping[str, str], body: bytes, now: datetime | None = None) -> Signed:
    """Verify an ``Authorization: AWS4-HMAC-SHA256 ...`` request (what SDK clients send).

    ``headers`` lower-cased; ``raw_path`` and ``raw_query`` exactly as sent (the signature
    covers their bytes). Raises :class:`Refused`; on return the request is the stack's own."""
    found = _HEADER.match(headers.get("authorization", ""))
    if found is None:
        raise Refused(400, "AuthorizationHeaderMalformed", "the Authorization header is not AWS4-HMAC-SHA256 "
                                                           "Credential=..., SignedHeaders=..., Signature=...")
    date, region = _scope(found["credential"], credentials, service)
    stamp = headers.get("x-amz-date", "")
    at = _timestamp(stamp, date)
    if abs((now or datetime.now(UTC)) - at) > MAX_SKEW:
        raise Refused(403, "RequestTimeTooSkewed", "the request's time is too far from the server's")
    content_sha = headers.get("x-amz-content-sha256")
    if content_sha is not None and content_sha not in _UNSIGNED_PAYLOADS and not hmac.compare_digest(
            content_sha, _sha256(body)):
        raise Refused(400, "XAmzContentSHA256Mismatch", "the body is not the one that was signed")
    request = _request(method, headers.get("host", ""), raw_path, raw_query, headers, found["signed"], body)
    signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(credentials.botocore(), service, region)
    _match(_compute(signer, request, stamp), found["signature"])
    return Signed(service, region, presigned=False)


def verify_query(credentials: LocalCredentials, service: str, *, method: str, raw_path: str, raw_query: str,
                 headers: Mapping[str, str], now: datetime | None = None) -> Signed:
    """Verify a presigned URL (``X-Amz-Signature`` and the rest in the query string), and that
    it has not expired. Raises :class:`Refused`."""
    pairs = [pair.partition("=") for pair in raw_query.split("&") if pair]
    params = {key: value for key, _, value in pairs}
    if params.get("X-Amz-Algorithm") != ALGORITHM or not re.fullmatch(r"[0-9a-f]{64}",
                                                                       params.get("X-Amz-Signature", "")):
        raise Refused(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256, with "
                                                                "an X-Amz-Signature")
    from urllib.parse import unquote

    date, region = _scope(unquote(params.get("X-Amz-Credential", "")), credentials, service)
    stamp = params.get("X-Amz-Date", "")
    at = _timestamp(stamp, date)
    expires = params.get("X-Amz-Expires", "")
    if not expires.isdigit() or not 0 < int(expires) <= MAX_EXPIRES:
        raise Refused(400, "AuthorizationQueryParametersError", "X-Amz-Expires must be 1 to 604800 seconds")
    current = now or datetime.now(UTC)
    if current > at + timedelta(seconds=int(expires)) or at - current > MAX_SKEW:
        raise Refused(403, "AccessDenied", "Request has expired")
    # everything but the signature is signed, in the bytes it was sent in
    unsigned = "&".join(f"{k}{sep}{v}" for k, sep, v in pairs if k != "X-Amz-Signature")
    request = _request(method, headers.get("host", ""), raw_path, unsigned, headers,
                       unquote(params.get("X-Amz-SignedHeaders", "")), b"")
    signer = (S3SigV4QueryAuth if service == "s3" else SigV4Auth)(credentials.botocore(), service, region)
    _match(_compute(signer, request, stamp), params["X-Amz-Signature"])
    return Signed(service, region, presigned=True)


def verify_post_policy(credentials: LocalCredentials, *, bucket: str, fields: Mapping[str, str], file_size: int,
                       now: datetime | None = None) -> Signed:
    """Verify a presigned POST upload as S3 does: the policy's signature, its expiry, and that
    the form keeps to every condition it lists (the key, size and content type the function
    allowed) - and lists a condition for every field the form sends. ``fields``: the form's
    fields but the file, names lower-cased. Raises :class:`Refused`."""
    if fields.get("x-amz-algorithm") != ALGORITHM or not fields.get("policy") or not fields.get("x-amz-signature"):
        raise Refused(403, "AccessDenied", "a POST upload needs a policy signed with AWS4-HMAC-SHA256")
    date, region = _scope(fields.get("x-amz-credential", ""), credentials, "s3")
    stamp = fields.get("x-amz-date", "")
    _timestamp(stamp, date)
    _match(_post_signature(credentials, region, stamp, fields["policy"]), fields["x-amz-signature"])
    try:
        policy = json.loads(base64.b64decode(fields["policy"], validate=True))
        expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        conditions = list(policy["conditions"])
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise Refused(400, "InvalidPolicyDocument", "the policy is not a valid POST policy") from None
    if (now or datetime.now(UTC)) > expiration:
        raise Refused(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {**fields, "bucket": bucket}
    covered = {"bucket"}
    for condition in conditions:
        covered.add(_check_condition(condition, values, file_size))
    # S3: every field but these must be named by a condition
    loose = [name for name in fields if name not in covered and name not in ("policy", "x-amz-signature", "file")
             and not name.startswith("x-ignore-")]
    if loose:
        raise Refused(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {loose[0]}")
    return Signed("s3", region, presigned=True)


def _post_signature(credentials: LocalCredentials, region: str, stamp: str, policy: str) -> str:
    """The POST policy's signature: the base64 policy is the string to sign (botocore's
    ``S3SigV4PostAuth`` signs it with ``SigV4Auth.signature``, the same derived key)."""
    request = AWSRequest(method="POST", url="http://local/")
    request.context["timestamp"] = stamp
    return str(SigV4Auth(credentials.botocore(), "s3", region).signature(policy, request))


def _check_condition(condition: Any, values: Mapping[str, str], file_size: int) -> str:
    """Check one policy condition against the form; the field it covers (lower-cased)."""
    def refuse() -> Refused:
        return Refused(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}")

    if isinstance(condition, dict) and len(condition) == 1:
        ((name, expected),) = condition.items()
        name = str(name).lower()
        if values.get(name) != expected:
            raise refuse()
        return name
    if isinstance(condition, list) and len(condition) == 3:
        op, name, expected = condition
        if op == "content-length-range":
            if not (isinstance(name, int) and isinstance(expected, int) and name <= file_size <= expected):
                raise refuse()
            return ""
        if isinstance(name, str) and name.startswith("$") and isinstance(expected, str):
            field = name[1:].lower()
            given = values.get(field)
            if given is None or not (given == expected if op == "eq" else
                                     op == "starts-with" and given.startswith(expected)):
                raise refuse()
            return field
    raise Refused(400, "InvalidPolicyDocument", f"unknown policy condition: {condition}")


def _sha256(body: bytes) -> str:
    import hashlib

    return hashlib.sha256(body).hexdigest()
