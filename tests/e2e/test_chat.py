"""The chat over real WebSockets against `switchboard dev` (contract sections 4 and 5)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from typing import Any

import aiohttp
import pytest
import websockets

from tests.conftest import OPERATOR, ORIGIN, TENANT, DevStack
from tests.e2e.test_http import http
from tests.ws_client import ChatClient

pytestmark = pytest.mark.e2e

GLOBEX_ADMIN = {"email": "gus@globex.test", "password": "gus-correct-horse-battery"}


def visitor(stack: DevStack, tenant: str = TENANT, origin: str = ORIGIN) -> dict[str, Any]:
    status, _, body = http(stack, "POST", "/auth/external", {"tenant": tenant}, headers={"origin": origin})
    assert status == 200, body
    return body


def staff(stack: DevStack, who: dict[str, str], tenant: str = TENANT) -> dict[str, Any]:
    status, _, body = http(stack, "POST", "/auth/internal",
                           {"tenant": tenant, "email": who["email"], "password": who["password"]})
    assert status == 200, body
    return body


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_a_visitor_and_an_online_operator_chat(dev_stack):
    async def scenario() -> None:
        otto_tokens = staff(dev_stack, OPERATOR)
        otto = await ChatClient.connect(dev_stack.ws, otto_tokens["chat_token"], ORIGIN)
        guest_tokens = visitor(dev_stack)
        guest = await ChatClient.connect(dev_stack.ws, guest_tokens["chat_token"], ORIGIN)
        try:
            channel = (await guest.ok("support.open", subject="Where is my order?"))["channel"]
            assert channel["status"] == "open"
            assert channel["assignee"] == otto_tokens["user"]["id"]  # the only operator online
            await otto.event("channel.updated", channel__id=channel["id"])
            watched = await otto.ok("channel.watch", channel_id=channel["id"])
            assert watched["channel"]["id"] == channel["id"]
            await guest.ok("channel.watch", channel_id=channel["id"])

            sent = (await guest.ok("message.send", channel_id=channel["id"], text="Hello?",
                                   client_id=str(uuid.uuid4())))["message"]
            got = (await otto.event("message.new", message__id=sent["id"]))["message"]
            assert (got["text"], got["sender"]["role"]) == ("Hello?", "visitor")

            await otto.ok("typing", channel_id=channel["id"])
            typing = await guest.event("typing", channel_id=channel["id"])
            assert typing["user"]["id"] == otto_tokens["user"]["id"] if isinstance(typing["user"], dict) else True
            reply = (await otto.ok("message.send", channel_id=channel["id"], text="On its way!",
                                   client_id=str(uuid.uuid4())))["message"]
            assert (await guest.event("message.new", message__id=reply["id"]))["message"]["text"] == "On its way!"
            assert reply["id"] > sent["id"]  # ids sort by time

            history = await guest.ok("channel.history", channel_id=channel["id"], limit=10)
            assert [m["id"] for m in history["messages"]] == [sent["id"], reply["id"]]  # oldest first
        finally:
            await guest.close()
            await otto.close()

    run(scenario())


def test_with_no_operator_online_the_channel_is_queued_and_an_operator_claims_it(dev_stack):
    async def scenario() -> None:
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack, "globex", "https://globex.test")
                                         ["chat_token"], "https://globex.test")
        try:
            channel = (await guest.ok("support.open"))["channel"]
            assert (channel["status"], channel["assignee"]) == ("queued", None)

            gus_tokens = staff(dev_stack, GLOBEX_ADMIN, "globex")
            gus = await ChatClient.connect(dev_stack.ws, gus_tokens["chat_token"], "https://globex.test")
            queued = await gus.ok("channel.query", filter={"status": "queued"}, limit=100)
            assert channel["id"] in [c["id"] for c in queued["channels"]]

            claimed = (await gus.ok("channel.assign", channel_id=channel["id"]))["channel"]
            assert (claimed["status"], claimed["assignee"]) == ("open", gus_tokens["user"]["id"])
            update = await guest.event("channel.updated", channel__id=channel["id"])
            assert update["channel"]["assignee"] == gus_tokens["user"]["id"]
            queued = await gus.ok("channel.query", filter={"status": "queued"}, limit=100)
            assert channel["id"] not in [c["id"] for c in queued["channels"]]
            await gus.close()
        finally:
            await guest.close()

    run(scenario())


def test_a_retried_client_id_returns_the_same_message_and_stores_it_once(dev_stack):
    async def scenario() -> None:
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        try:
            channel = (await guest.ok("support.open"))["channel"]
            client_id = str(uuid.uuid4())
            replies = await asyncio.gather(*[
                guest.request("message.send", channel_id=channel["id"], text="only once", client_id=client_id)
                for _ in range(3)])
            ids = {r["data"]["message"]["id"] for r in replies if r["ok"]}
            assert len(ids) == 1, replies
            history = await guest.ok("channel.history", channel_id=channel["id"], limit=100)
            assert [m["client_id"] for m in history["messages"]].count(client_id) == 1
        finally:
            await guest.close()

    run(scenario())


def test_revoking_a_session_closes_its_socket_within_a_second(dev_stack):
    async def scenario() -> None:
        tokens = visitor(dev_stack)
        guest = await ChatClient.connect(dev_stack.ws, tokens["chat_token"], ORIGIN)
        await guest.ok("support.open")
        started = time.monotonic()
        status, _, _ = await asyncio.to_thread(http, dev_stack, "POST", "/auth/revoke", {"kind": "session"},
                                               tokens["access_token"])
        assert status == 200
        await asyncio.wait_for(guest.closed.wait(), 1.0)
        assert time.monotonic() - started < 1.0 + 0.5  # the HTTP call itself included
        assert any(f.get("event") == "auth.revoked" and f["data"]["kind"] == "session" for f in guest.seen)

        with pytest.raises(websockets.InvalidStatus) as refused:  # the revoked chat token cannot come back
            await ChatClient.connect(dev_stack.ws, tokens["chat_token"], ORIGIN)
        assert refused.value.response.status_code == 401

    run(scenario())


def test_revoking_a_scope_refuses_the_very_next_send(dev_stack):
    async def scenario() -> None:
        tokens = visitor(dev_stack)
        guest = await ChatClient.connect(dev_stack.ws, tokens["chat_token"], ORIGIN)
        try:
            channel = (await guest.ok("support.open"))["channel"]
            status, _, body = await asyncio.to_thread(
                http, dev_stack, "POST", "/auth/revoke", {"kind": "scopes", "scopes": ["chat:write"]},
                tokens["access_token"])
            assert status == 200, body
            revoked = await guest.event("auth.revoked", kind="scopes")
            assert "chat:write" in revoked["scopes"]
            reply = await guest.request("message.send", channel_id=channel["id"], text="still here?",
                                        client_id=str(uuid.uuid4()))
            assert (reply["ok"], reply["error"]["code"]) == (False, "forbidden")
        finally:
            await guest.close()

    run(scenario())


def test_another_tenant_can_neither_connect_from_its_origin_nor_see_a_channel(dev_stack):
    async def scenario() -> None:
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        gus = await ChatClient.connect(dev_stack.ws, staff(dev_stack, GLOBEX_ADMIN, "globex")["chat_token"],
                                       "https://globex.test")
        try:
            channel = (await guest.ok("support.open"))["channel"]
            for action, params in [("channel.watch", {}), ("channel.history", {}), ("channel.assign", {}),
                                   ("message.send", {"text": "hi", "client_id": str(uuid.uuid4())})]:
                reply = await gus.request(action, channel_id=channel["id"], **params)
                assert (reply["ok"], reply["error"]["code"]) == (False, "not_found"), (action, reply)
            with pytest.raises(websockets.InvalidStatus) as refused:  # acme's token from globex's site
                await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], "https://globex.test")
            assert refused.value.response.status_code == 403
        finally:
            await gus.close()
            await guest.close()

    run(scenario())


def test_malformed_frames_get_an_error_reply_and_store_nothing(dev_stack):
    async def scenario() -> None:
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        try:
            channel = (await guest.ok("support.open"))["channel"]
            bad_frames = ["not json", '{"rid": "x"}', '["message.send"]',
                          '{"action": "message.send", "rid": "a", "channel_id": 5, "text": "x", "client_id": "c"}',
                          json.dumps({"action": "message.send", "rid": "b", "channel_id": channel["id"], "text": "",
                                      "client_id": "c"}),
                          json.dumps({"action": "message.send", "rid": "c", "channel_id": channel["id"], "text": "x",
                                      "client_id": "c", "admin": True})]
            for frame in bad_frames:
                reply = await guest.send_raw(frame)
                assert reply["ok"] is False, frame
                assert reply["error"]["code"] in ("validation_error", "unknown_action"), (frame, reply)
            reply = await guest.request("no.such.action")
            assert reply["error"]["code"] == "unknown_action"
            history = await guest.ok("channel.history", channel_id=channel["id"], limit=100)
            assert history["messages"] == []
        finally:
            await guest.close()

    run(scenario())


def test_a_frame_over_128_kb_closes_the_connection_like_api_gateway(dev_stack):
    async def scenario() -> None:
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        await guest.ws.send("x" * (128 * 1024 + 1))
        await asyncio.wait_for(guest.closed.wait(), 5)
        assert guest.ws.close_code == 1009

    run(scenario())


def test_a_missing_or_bad_token_is_refused_at_the_handshake(dev_stack):
    async def scenario() -> None:
        for url in (f"{dev_stack.ws}/", f"{dev_stack.ws}/?token=not-a-jwt"):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(url, origin=ORIGIN)  # type: ignore[arg-type]
            assert refused.value.response.status_code == 401

    run(scenario())


def test_the_local_connections_endpoint_answers_like_api_gateway_management_api(dev_stack):
    """The handlers reach sockets through boto3's apigatewaymanagementapi client; locally it points
    at the gateway, which - unlike moto's stub - knows live from gone connections."""
    client = dev_stack.client("apigatewaymanagementapi")

    async def scenario() -> None:
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        await guest.ok("channel.query", filter={"member": "me"}, limit=1)
        (connection_id,) = [c for c in await asyncio.to_thread(_connection_ids, dev_stack)
                            if c not in before]
        info = await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b'{"hello":1}')
        assert await guest.next_frame(lambda f: f == {"hello": 1}, timeout=5) == {"hello": 1}
        await asyncio.to_thread(client.delete_connection, ConnectionId=connection_id)
        await asyncio.wait_for(guest.closed.wait(), 2)
        with pytest.raises(client.exceptions.GoneException):
            await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b"{}")

    before = _connection_ids(dev_stack)
    run(scenario())
    # and a connection that never was, or is gone, is 410 for every verb (API Gateway's GoneException)
    for call in (lambda: client.post_to_connection(ConnectionId="bm8tc3VjaC1jb25u", Data=b"{}"),
                 lambda: client.get_connection(ConnectionId="bm8tc3VjaC1jb25u"),
                 lambda: client.delete_connection(ConnectionId="bm8tc3VjaC1jb25u")):
        with pytest.raises(client.exceptions.GoneException):
            call()


def test_closing_a_socket_runs_disconnect_and_an_operators_channels_go_back_to_the_queue(dev_stack):
    # Given an operator online and a visitor whose channel the operator got
    async def scenario() -> None:
        otto_tokens = staff(dev_stack, OPERATOR)
        otto = await ChatClient.connect(dev_stack.ws, otto_tokens["chat_token"], ORIGIN)
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        try:
            channel = (await guest.ok("support.open"))["channel"]
            assert channel["assignee"] == otto_tokens["user"]["id"]
            await guest.ok("channel.watch", channel_id=channel["id"])
            # When the operator's browser goes away (the socket closes, no action sent)
            await otto.close()
            # Then the gateway ran $disconnect: the visitor hears the channel is queued again
            updated = await guest.event("channel.updated", channel__id=channel["id"], channel__status="queued")
            assert updated["channel"]["assignee"] is None
        finally:
            await guest.close()

    run(scenario())


def _signed(stack: DevStack, method: str, url: str, body: bytes | None = None, *, secret_key: str | None = None
            ) -> urllib.request.Request:
    """A request to the stack's @connections API, SigV4-signed as the functions' boto3 clients
    sign theirs (with the stack's key, or ``secret_key``)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body or b"")
    SigV4Auth(Credentials("local", secret_key or stack.secret_key), "execute-api", "us-east-1").add_auth(request)
    return urllib.request.Request(url, data=body, method=method, headers=dict(request.headers.items()))


def _connection_ids(stack: DevStack) -> set[str]:
    """Connection ids the gateway knows, read over its own debugging route (signed, as it wants)."""
    import json

    with urllib.request.urlopen(_signed(stack, "GET", f"http://127.0.0.1:{stack.ws_port}/@connections"),
                                timeout=5) as r:
        return set(json.loads(r.read())["connections"])


def test_an_attachment_is_uploaded_with_the_presigned_post_and_sent(dev_stack):
    # Given a visitor the website vouches for, on a tenant that allows visitor attachments
    import hashlib
    import hmac
    import io

    from tests.conftest import IDENTITY_SECRET

    mac = hmac.new(IDENTITY_SECRET.encode(), b"customer-9", hashlib.sha256).hexdigest()
    status, _, tokens = http(dev_stack, "POST", "/auth/external",
                             {"tenant": TENANT, "user": {"id": "customer-9", "hash": mac}}, headers={"origin": ORIGIN})
    assert status == 200, tokens

    async def scenario() -> dict[str, Any]:
        guest = await ChatClient.connect(dev_stack.ws, tokens["chat_token"], ORIGIN)
        try:
            channel = (await guest.ok("support.open"))["channel"]
            presigned = await guest.ok("attachment.presign", channel_id=channel["id"], content_type="text/plain",
                                       size=5)
            # When the browser POSTs the file to the presigned URL (the local stack's S3 endpoint)
            boundary = "sbboundary"
            body = io.BytesIO()
            for name, value in presigned["fields"].items():
                part = f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                body.write(part.encode())
            body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\nhello\r\n".encode())
            body.write(f"--{boundary}--\r\n".encode())
            req = urllib.request.Request(presigned["url"], data=body.getvalue(), method="POST",
                                         headers={"content-type": f"multipart/form-data; boundary={boundary}",
                                                  "origin": ORIGIN})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status in (200, 201, 204)
            # Then the message can carry it
            sent = await guest.ok("message.send", channel_id=channel["id"], text="the receipt",
                                  client_id=str(uuid.uuid4()), attachments=[{"key": presigned["key"]}])
            return {"presigned": presigned, "message": sent["message"]}
        finally:
            await guest.close()

    out = run(scenario())
    assert out["presigned"]["url"].startswith(f"http://127.0.0.1:{dev_stack.s3_port}")
    assert out["message"]["attachments"][0]["key"] == out["presigned"]["key"]
    # And the object is in the attachments bucket, readable through the same endpoint
    s3 = dev_stack.client("s3")
    obj = s3.get_object(Bucket="switchboard-local-attachments", Key=out["presigned"]["key"])
    assert obj["Body"].read() == b"hello"


def test_a_frame_naming_a_reserved_route_goes_to_default_not_to_that_route(dev_stack):
    # Given a visitor's live socket
    async def scenario() -> None:
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        try:
            # When a frame names $disconnect (or $connect) as its action
            for reserved in ("$disconnect", "$connect"):
                reply = await guest.request(reserved, timeout=5)
                # Then, as in API Gateway, it is routed to $default: unknown_action, and nothing is run
                assert reply["error"]["code"] == "unknown_action", reply
            # And the connection is still known and usable
            await guest.ok("channel.query", filter={"member": "me"}, limit=1)
        finally:
            await guest.close()

    run(scenario())


def test_the_connections_endpoint_refuses_a_call_that_is_not_signed(dev_stack):
    """As API Gateway does: a page open in the developer's browser cannot sign, so it can push
    nothing into a local chat socket, nor close one."""
    import urllib.error
    import urllib.parse
    import urllib.request

    async def scenario() -> None:
        before = await asyncio.to_thread(_connection_ids, dev_stack)
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        try:
            await guest.ok("channel.query", filter={"member": "me"}, limit=1)
            (connection_id,) = await asyncio.to_thread(lambda: _connection_ids(dev_stack) - before)
            connection_id = urllib.parse.quote(connection_id, safe="")  # base64: may hold "/" and "+"
            for method, body in (("POST", b'{"forged":1}'), ("DELETE", None), ("GET", None)):
                request = urllib.request.Request(f"http://127.0.0.1:{dev_stack.ws_port}/@connections/{connection_id}",
                                                 data=body, method=method, headers={"Content-Type": "text/plain"})
                with pytest.raises(urllib.error.HTTPError) as refused:
                    await asyncio.to_thread(urllib.request.urlopen, request, timeout=5)
                assert refused.value.code == 403
                assert refused.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
            # nor does a signed-looking one that names another host (a page rebinding its DNS
            # name to 127.0.0.1 is same-origin with this port, but sends its own name as Host)
            rebound = {"Host": f"rebound.example:{dev_stack.ws_port}", "Content-Type": "text/plain",
                       "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/execute-api/aws4_request"}
            base = f"http://127.0.0.1:{dev_stack.ws_port}/@connections"
            for url, method, body in ((f"{base}/{connection_id}", "POST", b'{"forged":1}'), (base, "GET", None)):
                with pytest.raises(urllib.error.HTTPError) as refused:
                    await asyncio.to_thread(urllib.request.urlopen,
                                            urllib.request.Request(url, data=body, method=method, headers=rebound),
                                            timeout=5)
                assert refused.value.code == 403
            # the socket got nothing and is still open
            await guest.ok("channel.query", filter={"member": "me"}, limit=1)
            assert {"forged": 1} not in guest.seen and not guest.closed.is_set()
        finally:
            await guest.close()

    run(scenario())


def s3_signed(stack: DevStack, method: str, path: str, body: bytes = b"", *, region: str = "us-east-1",
              secret_key: str | None = None) -> dict[str, str]:
    """The headers of an S3 request to the stack's S3 port signed as boto3 signs one (with the
    stack's key, or ``secret_key``)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=f"http://127.0.0.1:{stack.s3_port}{path}", data=body)
    S3SigV4Auth(Credentials("local", secret_key or stack.secret_key), "s3", region).add_auth(request)
    return dict(request.headers.items())


def test_the_local_s3_endpoint_serves_s3_only_to_the_stacks_pages_and_names(dev_stack):
    """moto's server answers every AWS service of the local state: the local S3 port must not
    let a web page read the signing keys, password hashes or TOTP secrets."""
    import urllib.error
    import urllib.request

    base = f"http://127.0.0.1:{dev_stack.s3_port}"
    scope = "Credential=local/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=" + "0" * 64

    def status(path: str, *, method: str = "GET", body: bytes | None = None, **headers: str) -> int:
        try:
            with urllib.request.urlopen(urllib.request.Request(base + path, data=body, method=method,
                                                               headers=headers), timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    # Given the local stack's S3 endpoint, which S3 clients (the functions, signing with the
    # stack's key) and the pages use
    assert status("/", **s3_signed(dev_stack, "GET", "/")) == 200  # ListBuckets
    # Then DynamoDB, Secrets Manager and query-protocol services are not served there (a
    # credential scope of another service is S3's 400 AuthorizationHeaderMalformed)
    dynamodb = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 " + scope.format("dynamodb")}
    assert status("/", method="POST", body=b"{}", **dynamodb) == 403
    assert status("/", method="POST", body=b"{}", **{**dynamodb, "X-Amz-Target": ""}) == 400
    secrets = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
    assert status("/", method="POST", body=b'{"SecretId": "x"}', **secrets) == 403
    assert status("/", method="POST", body=b"Action=GetCallerIdentity&Version=2011-06-15",
                  **{"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": "AWS4-HMAC-SHA256 " + scope.format("sts")}) == 400
    # nor moto's own routes (its whole state - the signing key among it - and a reset), unsigned
    # or signed with the stack's own key, nor another service reached by a credential scope
    # whose region matches that service's host pattern (signed with the stack's key too)
    assert status("/moto-api/data.json") == 403
    assert status("/moto-api/data.json", **s3_signed(dev_stack, "GET", "/moto-api/data.json")) == 403
    assert status("/moto-api/reset", method="POST") == 403
    assert status("/moto-api/reset", method="POST", **s3_signed(dev_stack, "POST", "/moto-api/reset")) == 403
    scan = b'{"TableName": "switchboard-local"}'
    crafted = {**s3_signed(dev_stack, "POST", "/?Action=Scan", scan, region="x.ddb.us-east-1"),
               "User-Agent": "region/us-east-1"}
    assert status("/?Action=Scan", method="POST", body=scan, **crafted) == 403
    # And S3 itself is served only to the stack's pages and the tenants' sites, under its own names,
    # and a browser never with the SDK's header signature (presigned requests only, no listing)
    signed = s3_signed(dev_stack, "GET", "/")
    assert status("/", Origin="https://evil.example", **signed) == 403
    assert status("/", Origin=ORIGIN, **signed) == 403
    assert status("/", Host=f"rebound.example:{dev_stack.s3_port}", **signed) == 403
    # nor to a signature made with another key than the stack's: not even moto's well-known one
    assert status("/", **s3_signed(dev_stack, "GET", "/", secret_key="local")) == 403
    assert status("/", **s3_signed(dev_stack, "GET", "/", secret_key="FOOBARSECRET")) == 403


def test_the_connections_endpoint_refuses_oversized_posts_and_answers_under_the_stage_too(dev_stack):
    """Deployed, WS_MANAGEMENT_ENDPOINT ends with the stage (``https://<api>.execute-api.../live``):
    the local endpoint answers under it as well, and refuses a post API Gateway would refuse."""
    import boto3

    stage = "live"  # template.yaml's ChatStage

    def client(base: str) -> Any:
        return boto3.client("apigatewaymanagementapi", endpoint_url=base, region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key=dev_stack.secret_key)

    staged = client(f"http://127.0.0.1:{dev_stack.ws_port}/{stage}")

    async def scenario() -> None:
        # Given a visitor's live socket
        before = await asyncio.to_thread(_connection_ids, dev_stack)
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack)["chat_token"], ORIGIN)
        try:
            await guest.ok("channel.query", filter={"member": "me"}, limit=1)
            (connection_id,) = await asyncio.to_thread(lambda: _connection_ids(dev_stack) - before)
            # When a function posts to it through the stage's endpoint
            await asyncio.to_thread(staged.post_to_connection, ConnectionId=connection_id, Data=b'{"staged":1}')
            # Then the socket gets the data
            assert await guest.next_frame(lambda f: f == {"staged": 1}, timeout=5) == {"staged": 1}
            # And a post over 128 KB is PayloadTooLargeException, and the socket stays open
            with pytest.raises(staged.exceptions.PayloadTooLargeException):
                await asyncio.to_thread(staged.post_to_connection, ConnectionId=connection_id,
                                        Data=b"x" * (128 * 1024 + 1))
            await guest.ok("channel.query", filter={"member": "me"}, limit=1)
        finally:
            await guest.close()

    run(scenario())


def _through_ws_gateway(template: Any, answers: dict[str, Any], scenario: Any) -> list[tuple[str, dict[str, Any]]]:
    """Run ``scenario(client, calls)`` against ``switchboard dev``'s WebSocket gateway (in process), with the
    template's functions replaced by ``answers`` (route key or "authorizer" -> the function's result);
    returns the (route, event) pairs the functions were called with."""
    from aiohttp.test_utils import TestClient, TestServer

    from switchboard_local.gateway_ws import WebSocketGateway

    routes = {fid: key for key, fid in template.websocket_routes().items()}
    calls: list[tuple[str, dict[str, Any]]] = []

    class Functions:
        def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
            key = "authorizer" if function_id == template.websocket_authorizer() else routes[function_id]
            if key not in ("authorizer", "$connect", "$disconnect"):
                key = event["requestContext"]["routeKey"]
            calls.append((key, event))
            return answers.get(key, {"statusCode": 200})

        async def ainvoke(self, function_id: str, event: dict[str, Any]) -> Any:
            return self.invoke(function_id, event)

    async def go() -> None:
        gateway = WebSocketGateway(template, Functions())  # type: ignore[arg-type]
        async with TestClient(TestServer(gateway.app())) as client:
            await scenario(client, calls)

    run(go())
    return calls


def _allow(context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"principalId": "u1", "context": context or {},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn"}]}}


def test_an_authorizer_deny_is_403_and_connect_never_runs(template):
    # Given an authorizer answering with a Deny policy
    deny = _allow()
    deny["policyDocument"]["Statement"][0]["Effect"] = "Deny"

    async def scenario(client: Any, _: list[Any]) -> None:
        # When a client opens a socket with a token
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/?token=t")
        # Then the handshake is refused with 403, as API Gateway does
        assert refused.value.status == 403

    calls = _through_ws_gateway(template, {"authorizer": deny}, scenario)
    # And $connect was never called
    assert [key for key, _ in calls] == ["authorizer"]


def test_connect_answering_non_2xx_refuses_the_handshake_with_that_status(template):
    # Given an authorizer that allows, and a $connect that answers 403
    async def scenario(client: Any, _: list[Any]) -> None:
        # When a client opens a socket
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/?token=t")
        # Then the handshake is refused with $connect's status
        assert refused.value.status == 403

    calls = _through_ws_gateway(template, {"authorizer": _allow({"tenant": "acme"}), "$connect": {"statusCode": 403}},
                                scenario)
    # And $connect saw the authorizer's context, as every later event of the connection would
    connect = dict(calls)["$connect"]
    assert connect["requestContext"]["authorizer"] == {"tenant": "acme", "principalId": "u1"}


def test_frames_and_the_close_reach_the_functions_as_api_gateway_shapes_them(template):
    # Given an allowed connection
    async def scenario(client: Any, calls: list[Any]) -> None:
        ws = await client.ws_connect("/?token=t")
        # When it sends an action's frame, a frame with an unknown action, and then closes
        await ws.send_str(json.dumps({"action": "typing", "rid": "1"}))
        await ws.send_str(json.dumps({"action": "no.such", "rid": "2"}))
        assert json.loads((await ws.receive()).data) == {"sent": "reply"}
        assert json.loads((await ws.receive()).data) == {"sent": "reply"}
        await ws.close()
        for _ in range(100):  # $disconnect runs after the socket is gone, as in AWS
            if any(key == "$disconnect" for key, _ in calls):
                return
            await asyncio.sleep(0.02)

    reply = {"statusCode": 200, "body": json.dumps({"sent": "reply"})}
    seen = _through_ws_gateway(template, {"authorizer": _allow({"tenant": "acme"}), "typing": reply,
                                           "$default": reply}, scenario)
    events = dict(seen)
    # Then each went to its route with the connection's authorizer context
    assert json.loads(events["typing"]["body"]) == {"action": "typing", "rid": "1"}
    assert json.loads(events["$default"]["body"])["action"] == "no.such"
    for key in ("typing", "$default", "$disconnect"):
        ctx = events[key]["requestContext"]
        assert ctx["routeKey"] == key and ctx["authorizer"] == {"tenant": "acme", "principalId": "u1"}
    # And $disconnect says how the socket closed
    ctx = events["$disconnect"]["requestContext"]
    assert (ctx["eventType"], ctx["disconnectStatusCode"]) == ("DISCONNECT", 1000)


def test_stopping_the_stack_closes_open_sockets_as_going_away():
    # Given the stack with a visitor's socket open
    stack = DevStack([])

    async def scenario() -> int | None:
        status, _, tokens = await asyncio.to_thread(http, stack, "POST", "/auth/external", {"tenant": "demo"},
                                                    None, {"origin": stack.web})
        assert status == 200, tokens
        guest = await ChatClient.connect(stack.ws, tokens["chat_token"], stack.web)
        # When the stack is stopped (SIGTERM, as a process manager does)
        code = await asyncio.to_thread(stack.stop)
        await asyncio.wait_for(guest.closed.wait(), 5)
        assert code == 0
        return guest.ws.close_code

    # Then the socket was closed by the server as "going away" (1001), not just dropped
    assert run(scenario()) == 1001
    assert "switchboard: stopped" in stack.output
