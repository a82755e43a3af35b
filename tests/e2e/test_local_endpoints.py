"""The local stack's own AWS endpoints - ``@connections`` on the WebSocket port and the S3
port - held to what API Gateway and S3 (with the template's bucket settings) would allow:
signatures verified with the stack's key, browsers scoped to their tenant's presigned files,
S3's XML errors, and no signature or token in the access log."""

from __future__ import annotations

import asyncio
import io
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest

from tests.conftest import ORIGIN, DevStack
from tests.e2e.test_chat import _connection_ids, _signed, run, s3_signed, visitor
from tests.ws_client import ChatClient

ATTACHMENTS, ARCHIVE = "switchboard-local-attachments", "switchboard-local-archive"
GLOBEX_ORIGIN = "https://globex.test"  # the test seed's other tenant's site


def answer(request: urllib.request.Request | str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a request, errors included."""
    if isinstance(request, str):
        request = urllib.request.Request(request, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return int(r.status), dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), dict(exc.headers), exc.read()


def s3_error(body: bytes) -> str:
    """The ``<Code>`` of S3's XML error document (fails on anything else: HTML, a traceback)."""
    import re

    found = re.fullmatch(rb'<\?xml [^>]*\?>\s*<Error><Code>(\w+)</Code><Message>[^<]*</Message>.*</Error>', body, re.S)
    assert found is not None, body[:300]
    return found[1].decode()


# -- @connections ------------------------------------------------------------------------------
def test_connections_calls_not_signed_with_the_stacks_key_are_refused_and_push_nothing(dev_stack):
    base = f"http://127.0.0.1:{dev_stack.ws_port}"

    async def scenario() -> None:
        # Given a visitor's live socket
        before = await asyncio.to_thread(_connection_ids, dev_stack)
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        try:
            await guest.ok("channel.query", filter={"member": "me"}, limit=1)
            (connection_id,) = await asyncio.to_thread(lambda: _connection_ids(dev_stack) - before)
            url = f"{base}/@connections/{urllib.parse.quote(connection_id, safe='')}"
            forged = b'{"type": "auth.revoked"}'
            # When a local process calls the API with a well-formed signature made with another key
            # (moto's well-known one, the stack's old fixed one), for a forged frame, a close, a read
            for key in ("local", "FOOBARSECRET"):
                for method, body in (("POST", forged), ("DELETE", None), ("GET", None)):
                    status, headers, _ = await asyncio.to_thread(answer, _signed(dev_stack, method, url, body,
                                                                                 secret_key=key))
                    # Then it is API Gateway's 403 for a bad signature
                    assert (status, headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
            # nor with another access key id, signed with the right secret
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials

            other = AWSRequest(method="POST", url=url, data=forged)
            SigV4Auth(Credentials("AKIAOTHER", dev_stack.secret_key), "execute-api", "us-east-1").add_auth(other)
            status, headers, _ = await asyncio.to_thread(
                answer, urllib.request.Request(url, data=forged, method="POST", headers=dict(other.headers.items())))
            assert (status, headers["x-amzn-ErrorType"]) == (403, "UnrecognizedClientException")
            # nor with the stack's key, for another body than the one signed (a frame swapped in transit)
            signed = _signed(dev_stack, "POST", url, b'{"hello": 1}')
            tampered = urllib.request.Request(url, data=forged, method="POST", headers=dict(signed.header_items()))
            status, headers, _ = await asyncio.to_thread(answer, tampered)
            assert (status, headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
            # nor for another connection than the one signed for
            elsewhere = _signed(dev_stack, "DELETE", f"{base}/@connections/c29tZW9uZS1lbHNl")
            status, _, _ = await asyncio.to_thread(answer, urllib.request.Request(
                url, method="DELETE", headers=dict(elsewhere.header_items())))
            assert status == 403
            # And the local listing of connections wants the same signature
            listing = f"{base}/@connections"
            assert (await asyncio.to_thread(answer, listing))[0] == 403
            assert (await asyncio.to_thread(answer, _signed(dev_stack, "GET", listing, secret_key="local")))[0] == 403
            # And the socket got nothing and is still open
            await guest.ok("channel.query", filter={"member": "me"}, limit=1)
            assert not any(f.get("type") == "auth.revoked" for f in guest.seen if isinstance(f, dict))
            assert not guest.closed.is_set()
            # while the stack's own key still reaches it (what the functions' clients sign with)
            pushed = await asyncio.to_thread(answer, _signed(dev_stack, "POST", url, b'{"hello": 1}'))
            assert pushed[0] == 200
            assert await guest.next_frame(lambda f: f == {"hello": 1}, timeout=5) == {"hello": 1}
        finally:
            await guest.close()

    run(scenario())


def test_a_stack_drawing_its_own_key_serves_its_functions_and_refuses_the_well_known_one():
    # Given a stack started as a developer starts it: no key given, so it draws one
    stack = DevStack([], give_key=False)
    try:
        async def scenario() -> None:
            from tests.e2e.test_http import http

            status, _, tokens = await asyncio.to_thread(http, stack, "POST", "/auth/external", {"tenant": "demo"},
                                                        None, {"origin": stack.web})
            assert status == 200, tokens
            guest = await ChatClient.connect(stack.ws, tokens["chat_token"], stack.web)
            try:
                # When a function pushes to a socket (message.new) and signs an upload
                channel = (await guest.ok("support.open"))["channel"]
                await guest.ok("channel.watch", channel_id=channel["id"])
                await guest.ok("message.send", channel_id=channel["id"], text="hello", client_id=str(uuid.uuid4()))
                # Then its signed @connections call got through
                await guest.event("message.new", message__text="hello")
            finally:
                await guest.close()

        run(scenario())
        # And the old fixed key, or moto's, reaches neither endpoint
        for key in ("local", "FOOBARSECRET"):
            listing = _signed(stack, "GET", f"http://127.0.0.1:{stack.ws_port}/@connections", secret_key=key)
            assert answer(listing)[0] == 403
            s3 = urllib.request.Request(f"http://127.0.0.1:{stack.s3_port}/",
                                        headers=s3_signed(stack, "GET", "/", secret_key=key))
            assert answer(s3)[0] == 403
    finally:
        assert stack.stop() == 0, stack.output[-3000:]


# -- the S3 port -------------------------------------------------------------------------------
@pytest.fixture
def files(dev_stack: DevStack) -> dict[str, str]:
    """One attachment per tenant and a transcript, put there as the functions put them."""
    s3 = dev_stack.client("s3")
    run_id = uuid.uuid4().hex[:8]
    keys = {"acme": f"attachments/acme/ch-{run_id}/u1/{run_id}",
            "globex": f"attachments/globex/ch-{run_id}/u2/{run_id}", "transcript": f"transcripts/acme/ch-{run_id}.json"}
    s3.put_object(Bucket=ATTACHMENTS, Key=keys["acme"], Body=b"acme's file")
    s3.put_object(Bucket=ATTACHMENTS, Key=keys["globex"], Body=b"globex's file")
    s3.put_object(Bucket=ARCHIVE, Key=keys["transcript"], Body=b"{}")
    return keys


def test_browsers_reach_only_their_tenants_presigned_attachments(dev_stack, files):
    s3 = dev_stack.client("s3")
    base = f"http://127.0.0.1:{dev_stack.s3_port}"

    def presigned(key: str, bucket: str = ATTACHMENTS, **kwargs: Any) -> str:
        return str(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, **kwargs))

    # A presigned download is served to its tenant's site, and where no Origin is sent (a link)
    assert answer(presigned(files["acme"]), Origin=ORIGIN)[::2] == (200, b"acme's file")
    assert answer(presigned(files["acme"]))[::2] == (200, b"acme's file")
    assert answer(presigned(files["globex"]), Origin=GLOBEX_ORIGIN)[::2] == (200, b"globex's file")
    # But not to another tenant's site, even with a valid signature
    status, _, body = answer(presigned(files["globex"]), Origin=ORIGIN)
    assert (status, s3_error(body)) == (403, "AccessDenied")
    # Nor the archive, to any browser
    status, _, body = answer(presigned(files["transcript"], bucket=ARCHIVE), Origin=ORIGIN)
    assert (status, s3_error(body)) == (403, "AccessDenied")
    # Nor any listing to a browser, presigned or not - the keys name channels and website users
    listing = str(s3.generate_presigned_url("list_objects_v2", Params={"Bucket": ATTACHMENTS}))
    for origin in (ORIGIN, dev_stack.web):
        status, _, body = answer(listing, Origin=origin)
        assert (status, s3_error(body)) == (403, "AccessDenied")
        assert b"attachments/" not in body
    # Nor anything unsigned, browser or not: no listing of the bucket, no file
    for url, headers in ((f"{base}/{ATTACHMENTS}", {}), (f"{base}/{ATTACHMENTS}", {"Origin": ORIGIN}),
                         (f"{base}/{ATTACHMENTS}?list-type=2", {}), (f"{base}/{ATTACHMENTS}/{files['acme']}", {}),
                         (f"{base}/{ARCHIVE}/{files['transcript']}", {})):
        status, _, body = answer(url, **headers)
        assert (status, s3_error(body)) == (403, "AccessDenied")
        assert b"attachments/" not in body and b"acme's file" not in body
    # Nor a presigned URL altered to reach another key, nor one that has expired
    tampered = presigned(files["acme"]).replace(urllib.parse.quote(files["acme"]), urllib.parse.quote(files["globex"]))
    assert tampered != presigned(files["acme"])
    status, _, body = answer(tampered)
    assert (status, s3_error(body)) == (403, "SignatureDoesNotMatch")
    short = presigned(files["acme"], ExpiresIn=1)
    time.sleep(2.1)
    status, _, body = answer(short)
    assert (status, s3_error(body)) == (403, "AccessDenied")


def _form_post(url: str, fields: dict[str, str], content: bytes, origin: str | None = ORIGIN
               ) -> tuple[int, dict[str, str], bytes]:
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
               "Content-Type: text/plain\r\n\r\n".encode() + content + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", **({"Origin": origin} if origin else {})}
    return answer(urllib.request.Request(url, data=body.getvalue(), method="POST", headers=headers))


def test_uploads_need_a_signed_policy_and_keep_to_it(dev_stack):
    s3 = dev_stack.client("s3")
    base = f"http://127.0.0.1:{dev_stack.s3_port}"
    run_id = uuid.uuid4().hex[:8]
    key = f"attachments/acme/ch-{run_id}/u1/{run_id}"

    def exists(bucket: str, name: str) -> bool:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=name).get("Contents", [])
        return any(o["Key"] == name for o in listed)

    def policy(for_key: str) -> dict[str, Any]:
        # what attachment.presign signs: this key, this type, at most 5 bytes
        return s3.generate_presigned_post(Bucket=ATTACHMENTS, Key=for_key, Fields={"Content-Type": "text/plain"},
                                          Conditions=[{"Content-Type": "text/plain"}, ["content-length-range", 1, 5]])

    post = policy(key)
    # An upload without a policy, or with its signature made with another key, is refused
    unsigned = {"key": key, "Content-Type": "text/plain"}
    status, _, body = _form_post(f"{base}/{ATTACHMENTS}", unsigned, b"hello")
    assert (status, s3_error(body)) == (403, "AccessDenied")
    status, _, body = _form_post(f"{base}/{ATTACHMENTS}", {**post["fields"], "x-amz-signature": "0" * 64}, b"hello")
    assert (status, s3_error(body)) == (403, "SignatureDoesNotMatch")
    # as is one that strays from the policy: a larger file, another type, another key, an extra field
    for fields, content in (({}, b"hello!"), ({"Content-Type": "text/html"}, b"hello"),
                            ({"key": f"attachments/acme/ch-{run_id}/u1/other"}, b"hello"),
                            ({"acl": "public-read"}, b"hello")):
        status, _, body = _form_post(post["url"], {**post["fields"], **fields}, content)
        assert (status, s3_error(body)) == (403, "AccessDenied"), fields
    # and a policy signed for another tenant's key, posted from this tenant's site
    other = policy(f"attachments/globex/ch-{run_id}/u2/{run_id}")
    status, _, body = _form_post(other["url"], other["fields"], b"hello", origin=ORIGIN)
    assert (status, s3_error(body)) == (403, "AccessDenied")
    # An unsigned PUT into the archive (or the attachments) is refused, browser or not
    for bucket, name, headers in ((ARCHIVE, f"transcripts/acme/{run_id}.json", {}),
                                  (ARCHIVE, f"transcripts/acme/{run_id}.json", {"Origin": ORIGIN}),
                                  (ATTACHMENTS, key, {})):
        put = urllib.request.Request(f"{base}/{bucket}/{name}", data=b"forged", method="PUT", headers=headers)
        status, _, body = answer(put)
        assert (status, s3_error(body)) == (403, "AccessDenied")
    # nor is a PUT signed with the stack's key whose body was swapped for another
    path = f"/{ARCHIVE}/transcripts/acme/{run_id}.json"
    swapped = urllib.request.Request(f"{base}{path}", data=b"forged", method="PUT",
                                     headers=s3_signed(dev_stack, "PUT", path, b"{}"))
    status, _, body = answer(swapped)
    assert (status, s3_error(body)) == (400, "XAmzContentSHA256Mismatch")
    assert not exists(ARCHIVE, f"transcripts/acme/{run_id}.json")
    assert not exists(ATTACHMENTS, key) and not exists(ATTACHMENTS, f"attachments/acme/ch-{run_id}/u1/other")
    # While the upload as signed goes through
    assert _form_post(post["url"], post["fields"], b"hello")[0] == 204
    assert s3.get_object(Bucket=ATTACHMENTS, Key=key)["Body"].read() == b"hello"


def test_the_s3_port_answers_s3_xml_errors_never_a_traceback(dev_stack):
    base = f"http://127.0.0.1:{dev_stack.s3_port}"
    before = len(dev_stack.lines)
    scope = "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=" \
            + "0" * 64
    cases = [
        # a bare STS query; a credential scope of another service, of none moto knows, of no shape at all
        (urllib.request.Request(f"{base}/?Action=GetCallerIdentity&Version=2011-06-15"), 403, "AccessDenied"),
        (urllib.request.Request(f"{base}/", headers={"Authorization": scope.format("sts")}), 400,
         "AuthorizationHeaderMalformed"),
        (urllib.request.Request(f"{base}/", headers={"Authorization": scope.format("nosuch")}), 400,
         "AuthorizationHeaderMalformed"),
        (urllib.request.Request(f"{base}/", headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"}), 400,
         "AuthorizationHeaderMalformed"),
        (urllib.request.Request(f"{base}/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=local%2Fx"
                                "&X-Amz-Signature=" + "0" * 64), 400, "AuthorizationHeaderMalformed"),
    ]
    for request, status, code in cases:
        got, headers, body = answer(request)
        assert (got, headers["Content-Type"], s3_error(body)) == (status, "application/xml", code), request.full_url
    # And the stack printed no traceback for any of them
    time.sleep(0.3)
    assert not any("Traceback" in line for line in dev_stack.lines[before:])


def test_the_access_log_shows_no_signature_and_no_chat_token(dev_stack, files):
    # When a presigned download (SigV4) and a WebSocket handshake (?token=) go through the stack
    s3 = dev_stack.client("s3")
    url = str(s3.generate_presigned_url("get_object", Params={"Bucket": ATTACHMENTS, "Key": files["acme"]}))
    assert answer(url)[0] == 200
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    token = visitor(dev_stack)["chat_token"]

    async def connect() -> None:
        guest = await ChatClient.connect(dev_stack.ws, token, ORIGIN)
        await guest.ok("channel.query", filter={"member": "me"}, limit=1)
        await guest.close()

    run(connect())
    deadline = time.monotonic() + 5
    while not any(files["acme"] in line and "X-Amz-Signature" in line for line in dev_stack.lines):
        assert time.monotonic() < deadline, "the download's access log line never came"
        time.sleep(0.1)
    # Then its line is there, but neither the signature, the credential, nor the chat token is
    logged = dev_stack.output
    assert "X-Amz-Signature=REDACTED" in logged
    for secret in (query["X-Amz-Signature"][0], urllib.parse.quote(query["X-Amz-Credential"][0], safe=""),
                   query["X-Amz-Credential"][0], token):
        assert secret not in logged
