"""Privacy requests (contract section 9, issue 19): GET /admin/visitors/{id}/export gives everything
stored about one visitor; DELETE /admin/visitors/{id} erases it everywhere - the table, every
version in the archive, the attachments, the reports and search, sessions and live sockets."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from tests.chat_support import install_wire, known_visitor
from tests.conftest import OPERATOR

SECRET_TEXT = "myaddressis42zebrastreet"
DELETED_TEXT = "mycardnumberis4111"
WEBSITE_ID = "customer-77"


def _today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


def _upload(svc, key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=svc.settings.attachments_bucket, Key=key, Body=body,
                                  ContentType="application/pdf")


@pytest.fixture
def history(chat, call, tokens_for, svc):
    """A known visitor with a closed conversation (an attachment, a message deleted after the
    close: two transcript versions) and an open one, still connected; an operator answering."""
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(known_visitor(call, WEBSITE_ID))
    first = guest.ok("support.open", subject="my order")["channel"]
    upload = guest.ok("attachment.presign", channel_id=first["id"], content_type="application/pdf", size=11)
    _upload(svc, upload["key"], b"%PDF-secret")
    guest.ok("message.send", channel_id=first["id"], text=f"hello {SECRET_TEXT}", client_id="a",
             attachments=[{"key": upload["key"], "name": "passport.pdf", "content_type": "application/pdf",
                           "size": 11}])
    oops = guest.ok("message.send", channel_id=first["id"], text=DELETED_TEXT, client_id="b")["message"]
    otto.ok("message.send", channel_id=first["id"], text="thanks, noted", client_id="o1")
    otto.ok("channel.close", channel_id=first["id"])
    guest.ok("message.delete", channel_id=first["id"], message_id=oops["id"])  # a second transcript version
    second = guest.ok("support.open")["channel"]
    guest.ok("message.send", channel_id=second["id"], text=f"again {SECRET_TEXT}", client_id="c")
    return {"visitor": guest.user_id, "guest": guest, "otto": otto, "first": first, "second": second,
            "upload": upload["key"]}


def _table_items(svc) -> list[dict]:
    # a Scan, in the test only: what anyone reading the table would find
    client = boto3.client("dynamodb")
    items, kwargs = [], {}
    while True:
        page = client.scan(TableName=svc.settings.table_name, **kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _everything_in_the_table(svc) -> str:
    return json.dumps(_table_items(svc))


def _every_version(bucket: str) -> list[dict]:
    s3 = boto3.client("s3")
    page = s3.list_object_versions(Bucket=bucket)
    found = []
    for v in page.get("Versions", []):
        body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
        found.append({"key": v["Key"], "body": body.decode(errors="replace")})
    return found + [{"key": m["Key"], "body": ""} for m in page.get("DeleteMarkers", [])]


def test_the_export_holds_everything_stored_about_the_visitor(call, admin, history, svc):
    r = call("GET /admin/visitors/{id}/export", token=admin, path_params={"id": history["visitor"]})
    assert r["status"] == 200, r
    body = r["json"]
    assert body["visitor"]["id"] == history["visitor"] and body["visitor"]["attributes"]["level"] == 1
    assert body["sessions"] and all(s["status"] == "live" for s in body["sessions"])
    conversations = {c["id"]: c for c in body["conversations"]}
    assert set(conversations) == {history["first"]["id"], history["second"]["id"]}
    first = conversations[history["first"]["id"]]
    assert first["subject"] == "my order" and first["status"] == "closed"
    texts = [m["text"] for m in first["messages"]]
    assert f"hello {SECRET_TEXT}" in texts and "thanks, noted" in texts
    assert DELETED_TEXT not in json.dumps(body)  # deleted is deleted
    (attachment,) = [a for m in first["messages"] for a in m["attachments"]]
    assert attachment["key"] == history["upload"] and "X-Amz-Signature" in attachment["url"]
    assert "X-Amz-Signature" in first["transcript"]
    assert conversations[history["second"]["id"]]["transcript"] is None  # still open: not archived yet
    # the export is audited
    assert any(e.kind == "visitor_exported" for e in svc.store.events.page("acme", limit=50)[0])


def test_erasure_leaves_nothing_readable_anywhere(call, admin, history, svc):
    # Given the visitor's conversation is found by search and counted by the reports
    found = call("GET /admin/search", token=admin, query={"q": SECRET_TEXT, "from": _today(), "to": _today()})
    assert [i["channel_id"] for i in found["json"]["items"]] == [history["first"]["id"]]
    before = call("GET /admin/reports", token=admin, query={"from": _today(), "to": _today()})["json"]
    assert before["totals"]["conversations"] == 1
    assert len([v for v in _every_version(svc.settings.archive_bucket) if history["first"]["id"] in v["key"]]) == 2
    wire = install_wire()
    # When an admin erases the visitor
    r = call("DELETE /admin/visitors/{id}", token=admin, path_params={"id": history["visitor"]})
    # Then the answer counts what went
    assert r["status"] == 200, r
    erased = r["json"]["erased"]
    assert erased["conversations"] == 2 and erased["messages"] == 4 and erased["attachments"] == 1
    assert erased["transcript_versions"] == 2 and erased["sessions"] >= 1
    # And the visitor's live socket was told and closed (the revocation path)
    assert history["guest"].id in wire.deleted()
    # And nothing readable remains in the table: not the id, not a text, not the subject, not the file key
    items = _table_items(svc)
    for trace in (history["visitor"], WEBSITE_ID, WEBSITE_ID.title(), SECRET_TEXT, DELETED_TEXT, "my order",
                  history["upload"], history["first"]["id"], history["second"]["id"]):
        assert [i for i in items if trace in json.dumps(i)] == [], trace
    # And no version of any transcript or attachment of theirs, nor their text anywhere in the buckets
    for bucket in (svc.settings.archive_bucket, svc.settings.attachments_bucket):
        for version in _every_version(bucket):
            assert history["first"]["id"] not in version["key"] and history["second"]["id"] not in version["key"]
            assert SECRET_TEXT not in version["body"] and history["visitor"] not in version["body"]
    # And the report engine finds nothing of them
    found = call("GET /admin/search", token=admin, query={"q": SECRET_TEXT, "from": _today(), "to": _today()})
    assert found["status"] == 200 and found["json"]["items"] == []
    after = call("GET /admin/reports", token=admin, query={"from": _today(), "to": _today()})["json"]
    assert after["totals"]["conversations"] == 0
    # And the erasure is audited, without the person
    events = svc.store.events.page("acme", limit=100)[0]
    (audit,) = [e for e in events if e.kind == "visitor_erased"]
    assert audit.detail["counts"] == erased and history["visitor"] not in json.dumps([audit.subject, audit.detail])
    # And the operator is free again (the open conversation was closed: his load went back)
    assert history["otto"].ok("channel.query", filter={"status": "open"})["channels"] == []
    # And a second erasure, or an export, finds no one
    assert call("DELETE /admin/visitors/{id}", token=admin, path_params={"id": history["visitor"]})["status"] == 404
    assert call("GET /admin/visitors/{id}/export", token=admin, path_params={"id": history["visitor"]})["status"] == 404


def test_the_visitors_sessions_stop_working(call, admin, history):
    # Given the visitor's tokens
    fresh = call("POST /auth/refresh", body={"refresh_token": history["guest"].tokens["refresh_token"]})
    assert fresh["status"] == 200, fresh
    tokens = fresh["json"]
    # When the visitor is erased
    assert call("DELETE /admin/visitors/{id}", token=admin, path_params={"id": history["visitor"]})["status"] == 200
    # Then their refresh token and access token no longer work
    assert call("POST /auth/refresh", body={"refresh_token": tokens["refresh_token"]})["status"] == 401
    assert call("GET /auth/me", token=tokens["access_token"])["status"] == 401


@pytest.mark.parametrize("visitor", ["nobody-here", "op-0123456789abcdef", "UPPER", "a" * 129, "x y"])
def test_an_unknown_or_malformed_visitor_is_404(call, admin, history, visitor):
    r = call("GET /admin/visitors/{id}/export", token=admin, path_params={"id": visitor})
    assert r["status"] == 404, r
    assert call("DELETE /admin/visitors/{id}", token=admin, path_params={"id": visitor})["status"] == 404


def test_staff_are_not_visitors(call, admin, tokens_for, chat, svc):
    # an operator with sessions and a connection: this door is not for staff (/admin/operators is)
    otto = chat.connect(tokens_for(OPERATOR))
    assert call("DELETE /admin/visitors/{id}", token=admin, path_params={"id": otto.user_id})["status"] == 404
    assert svc.store.sessions.of_user("acme", otto.user_id)


def test_another_tenants_admin_cannot_see_or_erase_the_visitor(call, history, svc, tokens_for):
    gus = tokens_for({"email": "gus@globex.test", "password": "gus-correct-horse-battery"}, tenant="globex")
    token = gus["access_token"]
    assert call("GET /admin/visitors/{id}/export", token=token, path_params={"id": history["visitor"]})["status"] == 404
    assert call("DELETE /admin/visitors/{id}", token=token, path_params={"id": history["visitor"]})["status"] == 404
    # and nothing of acme's visitor went
    assert SECRET_TEXT in _everything_in_the_table(svc)


def test_an_operator_without_admin_tenant_is_forbidden(call, tokens_for, history, svc):
    token = tokens_for(OPERATOR)["access_token"]
    assert call("GET /admin/visitors/{id}/export", token=token, path_params={"id": history["visitor"]})["status"] == 403
    assert call("DELETE /admin/visitors/{id}", token=token, path_params={"id": history["visitor"]})["status"] == 403
    assert SECRET_TEXT in _everything_in_the_table(svc)


def test_the_erased_name_in_the_audit_does_not_lead_back_to_the_visitor(call, admin, history, svc):
    # Erasing the same website user twice gives two unrelated names: the name is no function of
    # the id (a hash of "customer-77" would be found by hashing every customer number)
    assert call("DELETE /admin/visitors/{id}", token=admin, path_params={"id": history["visitor"]})["status"] == 200
    known_visitor(call, WEBSITE_ID)  # the same website user signs in again: a session under the same id
    assert call("DELETE /admin/visitors/{id}", token=admin, path_params={"id": history["visitor"]})["status"] == 200
    names = [e.subject for e in svc.store.events.page("acme", limit=100)[0] if e.kind == "visitor_erased"]
    assert len(names) == 2 and names[0] != names[1]
    assert all(n.startswith("erased-") and history["visitor"] not in n for n in names)
