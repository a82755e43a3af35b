"""channel.close (status closed, transcript archived as JSON Lines) and attachment.presign (bounded uploads)."""

from __future__ import annotations

import base64
import json
import time

import boto3
import pytest

from tests.chat_support import known_visitor, table_keys, visitor_tokens
from tests.conftest import ADMIN, OPERATOR


@pytest.fixture
def room(chat, call, tokens_for):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(known_visitor(call, "customer-7"))
    channel = guest.ok("support.open", subject="Refund")["channel"]
    for who in (otto, guest):
        who.ok("channel.watch", channel_id=channel["id"])
    return guest, otto, channel


def transcript_key(svc, channel_id):
    """Where the channel's transcript is (transcripts/tenant=<t>/closed_on=<day>/<id>.jsonl)."""
    from switchboard.chat.transcripts import transcript_key as key_of

    return key_of(svc.store.channels.get(channel_id))


def expire_transcript(svc, channel_id):
    """As if the transcript was last written longer ago than the archive keeps them, and is gone."""
    key = transcript_key(svc, channel_id)
    long_ago = int(time.time() * 1000) - (svc.settings.archive_retention_days + 2) * 86_400_000
    svc.store.client.update_item(TableName=svc.store.table,
                                 Key={"pk": {"S": f"CH#{channel_id}"}, "sk": {"S": "META"}},
                                 UpdateExpression="SET closed_at = :t, archived_at = :t",
                                 ExpressionAttributeValues={":t": {"N": str(long_ago)}})
    boto3.client("s3").delete_object(Bucket=svc.settings.archive_bucket, Key=key)


def archived(svc, channel_id):
    """Whether the archive holds a transcript of the channel."""
    listed = boto3.client("s3").list_objects_v2(Bucket=svc.settings.archive_bucket, Prefix="transcripts/")
    return any(o["Key"].endswith(f"/{channel_id}.jsonl") for o in listed.get("Contents", []))


def delete_after_the_next_read(monkeypatch, svc, delete):
    """The next read of a channel's messages (a transcript being written) returns what it read, but
    ``delete()`` runs in between - once: the delete's own rewrite reads them too. Returns a list
    that holds an entry once it ran."""
    real_all, ran = svc.store.messages.all_of, []

    def all_then_delete(channel_id, **how):
        read = list(real_all(channel_id, **how))
        if not ran:
            ran.append("deleting")
            delete()
        return iter(read)

    monkeypatch.setattr(svc.store.messages, "all_of", all_then_delete)
    return ran


def transcript(svc, tenant, channel_id):
    key = transcript_key(svc, channel_id)
    assert key.startswith(f"transcripts/tenant={tenant}/closed_on=")  # the Glue table's partitions
    body = boto3.client("s3").get_object(Bucket=svc.settings.archive_bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines()]


def test_closing_archives_the_transcript_as_json_lines_and_refuses_new_messages(room, svc):
    guest, otto, channel = room
    texts = ["I want a refund", "Sure, done", "Thanks 🙂"]
    sent = [who.ok("message.send", channel_id=channel["id"], text=t, client_id=f"c{i}")["message"]
            for i, (who, t) in enumerate(zip([guest, otto, guest], texts, strict=True))]
    # When the operator closes the channel
    closed = otto.ok("channel.close", channel_id=channel["id"])["channel"]
    # Then it is closed, and the visitor hears of it
    assert closed["status"] == "closed"
    assert guest.events("channel.updated")[-1]["channel"]["status"] == "closed"
    # And its transcript is in the archive bucket: the channel, then every message in order
    lines = transcript(svc, "acme", channel["id"])
    assert lines[0]["channel"]["id"] == channel["id"] and lines[0]["channel"]["status"] == "closed"
    assert [line["message"] for line in lines[1:]] == sent
    # And the channel takes no more messages
    assert guest.error("message.send", channel_id=channel["id"], text="hello?", client_id="late") == "conflict"
    assert otto.error("attachment.presign", channel_id=channel["id"], content_type="image/png",
                      size=100) == "conflict"


def test_the_transcript_carries_the_conversations_figures_for_reports(room, svc, call, admin):
    guest, otto, channel = room
    # Given business hours that never include now (a holiday today), and a short conversation
    today = time.strftime("%Y-%m-%d", time.gmtime())
    hours = {"time_zone": "UTC", "weekly": [{"day": "mon", "from": "09:00", "to": "17:00"}], "holidays": [today]}
    assert call("PATCH /admin/tenant", token=admin, body={"hours": hours})["status"] == 200
    svc.tenants.forget()
    guest.ok("message.send", channel_id=channel["id"], text="Hello?", client_id="a")
    answer = otto.ok("message.send", channel_id=channel["id"], text="Hi!", client_id="b")["message"]
    # When it closes
    otto.ok("channel.close", channel_id=channel["id"])
    # Then its first line holds what reports add up: assigned at once, first answered by the operator
    report = transcript(svc, "acme", channel["id"])[0]["report"]
    stored = svc.store.channels.get(channel["id"])
    assert report["channel_id"] == channel["id"] and report["type"] == "support"
    assert report["assignee"] == otto.user_id and report["visitor"] == guest.user_id
    assert report["created_at"] == stored.created_at and report["assigned_at"] == stored.created_at
    assert report["first_response_at"] == answer["created_at"]
    assert report["closed_at"] == stored.closed_at and report["csat"] is None
    assert report["outside_hours"] is True and report["messages"] == 2


def test_an_empty_weekly_schedule_is_no_hours_in_the_report_as_in_the_widget(room, svc, call, admin):
    _guest, otto, channel = room
    # Given hours saved with no weekly span (the widget calls the tenant open then)
    assert call("PATCH /admin/tenant", token=admin,
                body={"hours": {"time_zone": "UTC", "weekly": []}})["status"] == 200
    svc.tenants.forget()
    # When the conversation closes
    otto.ok("channel.close", channel_id=channel["id"])
    # Then its report line says no hours are set (null), not "outside business hours"
    assert transcript(svc, "acme", channel["id"])[0]["report"]["outside_hours"] is None


def test_a_channel_claimed_from_the_queue_records_when(chat, call, tokens_for, svc):
    from tests.conftest import OPERATOR

    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]  # nobody online: queued
    assert svc.store.channels.get(channel["id"]).assigned_at is None
    otto = chat.connect(tokens_for(OPERATOR))
    otto.ok("channel.assign", channel_id=channel["id"])
    claimed = svc.store.channels.get(channel["id"])
    assert claimed.assigned_at is not None and claimed.assigned_at >= claimed.created_at


def test_closing_frees_the_operator_and_the_visitor_can_open_a_new_channel(room, svc):
    import time

    guest, otto, channel = room
    guest.ok("channel.close", channel_id=channel["id"])
    load = {p.user_id: p.load for p in svc.store.presence.of_tenant("acme", now=int(time.time()))}
    assert load[otto.user_id] == 0
    assert otto.ok("channel.query", filter={"status": "open"})["channels"] == []
    again = guest.ok("support.open")["channel"]
    assert again["id"] != channel["id"] and again["status"] == "open"


def test_a_message_deleted_after_the_close_leaves_the_archive_at_once(room, svc):
    # Given a closed conversation holding what its visitor should not have written
    guest, _otto, channel = room
    message = guest.ok("message.send", channel_id=channel["id"], text="my card is visa-4111", client_id="c")["message"]
    guest.ok("channel.close", channel_id=channel["id"])
    assert "visa-4111" in json.dumps(transcript(svc, "acme", channel["id"]))
    # When the visitor deletes it
    guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"])
    # Then the transcript holds a tombstone, and not the text
    lines = transcript(svc, "acme", channel["id"])
    assert [(m["message"]["id"], m["message"]["text"], m["message"]["deleted"]) for m in lines[1:]] == [
        (message["id"], "", True)]
    assert "visa-4111" not in json.dumps(lines)


def test_a_delete_and_a_close_at_the_same_moment_leave_no_deleted_text_in_the_archive(room, svc, monkeypatch):
    guest, otto, channel = room
    message = guest.ok("message.send", channel_id=channel["id"], text="my card is visa-4111", client_id="c")["message"]
    # Given the close landing while the delete is marking the message (the delete read the channel open)
    real_mark, closed = svc.store.messages.mark_deleted, []

    def mark_while_closing(m):
        if not closed:
            closed.append(otto.ok("channel.close", channel_id=channel["id"]))  # archives the text
        return real_mark(m)

    monkeypatch.setattr(svc.store.messages, "mark_deleted", mark_while_closing)
    guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"])
    # Then the transcript holds the tombstone: the delete saw the channel closed and wrote it again
    assert closed and "visa-4111" not in json.dumps(transcript(svc, "acme", channel["id"]))


def test_a_close_whose_transcript_lands_after_a_deletions_rewrite_writes_it_again(chat, room, svc, monkeypatch):
    guest, otto, channel = room
    message = guest.ok("message.send", channel_id=channel["id"], text="my card is visa-4111", client_id="c")["message"]
    # Given a deletion made (and its rewrite sent) after the close read the messages, before its own write
    deleted = delete_after_the_next_read(
        monkeypatch, svc, lambda: guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"]))
    otto.ok("channel.close", channel_id=channel["id"])
    # Then the close's stale transcript did not stay: it read again and wrote the tombstone
    assert deleted and "visa-4111" not in json.dumps(transcript(svc, "acme", channel["id"]))


def test_a_delete_retried_after_its_rewrite_failed_rewrites_it(room, svc, monkeypatch):
    from switchboard.chat import transcripts

    guest, _otto, channel = room
    message = guest.ok("message.send", channel_id=channel["id"], text="my card is visa-4111", client_id="c")["message"]
    guest.ok("channel.close", channel_id=channel["id"])
    # Given the first delete's rewrite failing (S3 unavailable): the message is marked, the archive not
    real_archive, failures = transcripts.write, []

    def failing_once(ctx, ch):
        if not failures:
            failures.append(1)
            raise RuntimeError("S3 unavailable")
        return real_archive(ctx, ch)

    monkeypatch.setattr(transcripts, "write", failing_once)
    assert guest.error("message.delete", channel_id=channel["id"], message_id=message["id"]) == "internal"
    assert "visa-4111" in json.dumps(transcript(svc, "acme", channel["id"]))
    # When the client retries it
    guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"])
    # Then the transcript is rewritten without the text
    assert "visa-4111" not in json.dumps(transcript(svc, "acme", channel["id"]))


def test_a_delete_after_the_transcript_expired_does_not_bring_the_conversation_back(room, svc):
    guest, _otto, channel = room
    message = guest.ok("message.send", channel_id=channel["id"], text="hello", client_id="c")["message"]
    guest.ok("message.send", channel_id=channel["id"], text="something else said", client_id="d")
    guest.ok("channel.close", channel_id=channel["id"])
    # Given a conversation whose transcript was last written longer ago than the archive keeps
    # them, and is gone
    expire_transcript(svc, channel["id"])
    # When a message of it is deleted
    guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"])
    # Then no transcript is written again (the rest of the conversation stays gone)
    assert not archived(svc, channel["id"])


def test_two_deletes_racing_in_a_closed_channel_leave_neither_text_in_the_archive(chat, room, svc, tokens_for,
                                                                                     monkeypatch):
    guest, _otto, channel = room
    first = guest.ok("message.send", channel_id=channel["id"], text="my card is visa-4111", client_id="a")["message"]
    second = guest.ok("message.send", channel_id=channel["id"], text="and its code cvc-737", client_id="b")["message"]
    guest.ok("channel.close", channel_id=channel["id"])
    ana = chat.connect(tokens_for(ADMIN))
    # Given the second deletion made (and written) while the first one's rewrite had read the messages
    raced = delete_after_the_next_read(
        monkeypatch, svc, lambda: ana.ok("message.delete", channel_id=channel["id"], message_id=second["id"]))
    guest.ok("message.delete", channel_id=channel["id"], message_id=first["id"])
    # Then neither text is in the transcript, whichever write landed last
    text = json.dumps(transcript(svc, "acme", channel["id"]))
    assert raced and "visa-4111" not in text and "cvc-737" not in text


def test_deleting_a_deleted_message_again_does_not_rewrite_the_transcript_each_time(room, svc, monkeypatch):
    from switchboard.chat import transcripts

    guest, _otto, channel = room
    message = guest.ok("message.send", channel_id=channel["id"], text="oops", client_id="c")["message"]
    guest.ok("channel.close", channel_id=channel["id"])
    guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"])
    # When the author deletes it again, and closes it again, many times
    real_archive, writes = transcripts.write, []
    monkeypatch.setattr(transcripts, "write", lambda ctx, ch: writes.append(ch.id) or real_archive(ctx, ch))
    for _ in range(5):
        guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"])
        guest.ok("channel.close", channel_id=channel["id"])
    # Then the transcript, already right, is not written again
    assert writes == []
    assert "oops" not in json.dumps(transcript(svc, "acme", channel["id"]))


def test_closing_again_after_the_transcript_expired_does_not_bring_it_back(room, svc):
    guest, _otto, channel = room
    guest.ok("message.send", channel_id=channel["id"], text="long ago", client_id="c")
    guest.ok("channel.close", channel_id=channel["id"])
    # Given a transcript last written longer ago than the archive keeps them, and gone
    expire_transcript(svc, channel["id"])
    # When it is closed again
    guest.ok("channel.close", channel_id=channel["id"])
    # Then nothing is written: the conversation stays gone
    assert not archived(svc, channel["id"])


def test_closing_twice_is_harmless_and_archives_again(chat, room, svc, tokens_for):
    # Given a closed conversation whose message a moderator then deleted
    guest, otto, channel = room
    message = guest.ok("message.send", channel_id=channel["id"], text="visa-4111...", client_id="c")["message"]
    otto.ok("channel.close", channel_id=channel["id"])
    chat.connect(tokens_for(ADMIN)).ok("message.delete", channel_id=channel["id"], message_id=message["id"])
    # When it is closed again
    assert guest.ok("channel.close", channel_id=channel["id"])["channel"]["status"] == "closed"
    # Then the transcript is archived anew: as the channel is now, the message a tombstone
    lines = transcript(svc, "acme", channel["id"])
    assert lines[0]["channel"]["status"] == "closed"
    assert [(m["message"]["id"], m["message"]["text"], m["message"]["deleted"]) for m in lines[1:]] == [
        (message["id"], "", True)]


def test_closing_a_queued_channel_takes_it_off_every_online_operators_queue(chat, call, tokens_for):
    # Given a queued channel, and an operator who came online since (and has not taken it)
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    otto = chat.connect(tokens_for(OPERATOR))
    assert channel["status"] == "queued"
    # When the visitor closes it
    guest.ok("channel.close", channel_id=channel["id"])
    # Then the operator, whose queue view listed it, hears that it is closed
    heard = [e["channel"] for e in otto.events("channel.updated") if e["channel"]["id"] == channel["id"]]
    assert heard and heard[-1]["status"] == "closed"


def test_an_admin_closes_any_support_channel_of_the_tenant(chat, room, tokens_for):
    # (who else may close what: the policy matrix, tests/chat/test_policy_matrix.py)
    _guest, otto, channel = room
    ana = chat.connect(tokens_for(ADMIN))
    assert ana.ok("channel.close", channel_id=channel["id"])["channel"]["status"] == "closed"
    assert otto.events("channel.updated")[-1]["channel"]["status"] == "closed"


def policy_of(fields):
    return json.loads(base64.b64decode(fields["policy"]))


def test_presign_bounds_the_upload_in_type_size_key_and_time(room, svc):
    _guest, otto, channel = room
    # When the operator asks to upload a 2 MB PNG
    data = otto.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=2_000_000)
    # Then it gets a presigned POST into this channel's prefix of the attachments bucket ...
    assert data["key"].startswith(f"attachments/acme/{channel['id']}/") and data["max_bytes"] == 2_000_000
    assert data["fields"]["key"] == data["key"] and data["fields"]["Content-Type"] == "image/png"
    # ... whose signed policy fixes bucket, key and content type and bounds the size
    conditions = policy_of(data["fields"])["conditions"]
    assert {"bucket": svc.settings.attachments_bucket} in conditions
    assert {"key": data["key"]} in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, 2_000_000] in conditions
    assert policy_of(data["fields"])["expiration"]


def test_a_presigned_upload_lives_5_minutes(room):
    from datetime import datetime

    _guest, otto, channel = room
    # When the operator asks to upload a file
    before = datetime.now().astimezone()
    data = otto.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)
    # Then the signed policy expires 5 minutes later, not a moment longer
    expiration = datetime.fromisoformat(policy_of(data["fields"])["expiration"].replace("Z", "+00:00"))
    assert 295 <= (expiration - before).total_seconds() <= 310


@pytest.mark.parametrize(("content_type", "size"), [("text/html", 10), ("application/x-msdownload", 10),
                                                    ("image/png", 10 * 1024 * 1024 + 1)])
def test_presign_refuses_types_and_sizes_out_of_bounds(room, content_type, size):
    _guest, otto, channel = room
    assert otto.error("attachment.presign", channel_id=channel["id"], content_type=content_type,
                      size=size) == "validation_error"


def test_presign_accepts_an_upload_of_exactly_the_size_bound(room, svc):
    _guest, otto, channel = room
    # When the operator asks to upload a file of exactly the largest size allowed
    bound = svc.settings.max_attachment_bytes
    data = otto.ok("attachment.presign", channel_id=channel["id"], content_type="application/pdf", size=bound)
    # Then it may, up to that size
    assert data["max_bytes"] == bound
    assert ["content-length-range", 1, bound] in policy_of(data["fields"])["conditions"]


def test_a_known_visitor_may_attach_when_the_tenant_allows_it(room):
    guest, otto, channel = room
    data = guest.ok("attachment.presign", channel_id=channel["id"], content_type="application/pdf", size=1000)
    # and the upload can then go with a message
    message = guest.ok("message.send", channel_id=channel["id"], text="the invoice", client_id="inv",
                       attachments=[{"key": data["key"], "name": "invoice.pdf", "content_type": "application/pdf",
                                     "size": 1000}])["message"]
    assert message["attachments"] == [{"key": data["key"], "name": "invoice.pdf", "content_type": "application/pdf",
                                       "size": 1000}]
    assert otto.events("message.new")[-1]["message"]["attachments"][0]["key"] == data["key"]


def test_an_attachments_left_out_fields_stay_out_of_the_message(room):
    # Given an upload sent with only its key
    guest, _otto, channel = room
    key = guest.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)["key"]
    message = guest.ok("message.send", channel_id=channel["id"], text="look", client_id="k",
                       attachments=[{"key": key}])["message"]
    # Then the message's attachment holds the key alone (no nulls for the rest)
    assert message["attachments"] == [{"key": key}]


def test_an_attachment_key_of_another_channel_is_refused(chat, room, call):
    guest, _otto, channel = room
    other = chat.connect(known_visitor(call, "customer-8"))
    other_channel = other.ok("support.open")["channel"]
    key = other.ok("attachment.presign", channel_id=other_channel["id"], content_type="image/png", size=10)["key"]
    assert guest.error("message.send", channel_id=channel["id"], text="look", client_id="x",
                       attachments=[{"key": key}]) == "validation_error"


def test_a_member_may_send_their_own_uploads_only(room, svc):
    # Given the visitor's upload, sent, then deleted by them
    guest, otto, channel = room
    key = guest.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)["key"]
    assert key.startswith(f"attachments/acme/{channel['id']}/{guest.user_id}/")
    message = guest.ok("message.send", channel_id=channel["id"], text="my passport", client_id="p",
                       attachments=[{"key": key, "name": "passport.png"}])["message"]
    guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"])
    # When the operator sends a message naming that key (the file would come back under his name)
    refused = otto.error("message.send", channel_id=channel["id"], text="look", client_id="o",
                         attachments=[{"key": key, "name": "scan.png"}])
    # Then it is refused; so is a key he made up under the visitor's name
    assert refused == "validation_error"
    made_up = f"attachments/acme/{channel['id']}/{guest.user_id}/0123456789abcdef"
    assert otto.error("message.send", channel_id=channel["id"], text="look", client_id="o2",
                      attachments=[{"key": made_up}]) == "validation_error"
    # while his own upload goes with his message
    own = otto.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)["key"]
    assert otto.ok("message.send", channel_id=channel["id"], text="here", client_id="o3",
                   attachments=[{"key": own}])["message"]["attachments"] == [{"key": own}]


def test_an_attachment_of_a_type_uploads_cannot_have_is_refused(room):
    # Given an upload of the channel
    guest, _otto, channel = room
    key = guest.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)["key"]
    before = table_keys()
    # When the message claims it is a type no upload may have (which browsers would render as a page)
    code = guest.error("message.send", channel_id=channel["id"], text="look", client_id="html",
                       attachments=[{"key": key, "content_type": "text/html"}])
    # Then it is a validation error, and nothing is stored
    assert code == "validation_error"
    assert table_keys() == before


def test_an_anonymous_visitor_has_no_chat_attach(chat, call, tokens_for):
    chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert guest.error("attachment.presign", channel_id=channel["id"], content_type="image/png",
                       size=10) == "forbidden"
    # nor may it send a message naming a key of the channel's uploads (made up, or made by someone else)
    before = table_keys()
    key = f"attachments/acme/{channel['id']}/0123456789abcdef"
    assert guest.error("message.send", channel_id=channel["id"], text="look", client_id="a",
                       attachments=[{"key": key}]) == "forbidden"
    assert table_keys() == before


def test_a_visitor_whose_chat_attach_is_revoked_may_not_send_an_upload_made_before(room, call):
    # Given a known visitor's upload, then their chat:attach revoked
    guest, _otto, channel = room
    key = guest.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)["key"]
    r = call("POST /auth/revoke", body={"kind": "scopes", "scopes": ["chat:attach"]},
             token=guest.tokens["access_token"])
    assert r["status"] == 200, r
    before = table_keys()
    # When they send a message with it
    code = guest.error("message.send", channel_id=channel["id"], text="look", client_id="a", attachments=[{"key": key}])
    # Then it is refused and nothing is stored, while a message without a file still goes
    assert code == "forbidden"
    assert table_keys() == before
    assert guest.ok("message.send", channel_id=channel["id"], text="never mind", client_id="b")


def test_visitors_may_not_attach_once_the_tenant_turns_attachments_off(room, svc):
    from msgspec.structs import replace

    guest, otto, channel = room
    made_before = guest.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)["key"]
    svc.store.tenants.put(replace(svc.store.tenants.get("acme"), visitor_attachments=False))
    svc.tenants.forget()
    # the visitor's session still holds chat:attach, but the tenant's setting decides now
    assert guest.error("attachment.presign", channel_id=channel["id"], content_type="image/png",
                       size=10) == "forbidden"
    # also for an upload presigned while the tenant still allowed it
    assert guest.error("message.send", channel_id=channel["id"], text="look", client_id="late-file",
                       attachments=[{"key": made_before}]) == "forbidden"
    assert otto.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)


def test_the_attachment_size_bound_comes_from_the_template_parameter(monkeypatch, aws):
    # Given a deployment with MaxAttachmentBytes=2048 (the template passes it as MAX_ATTACHMENT_BYTES)
    from switchboard.edge import ws
    from switchboard.runtime import Services
    from switchboard.settings import Settings

    settings = Settings.from_env({"MAX_ATTACHMENT_BYTES": "2048", "WS_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9"})
    assert Settings.from_env({}).max_attachment_bytes == 10 * 1024 * 1024
    # Then the chat's presign bound is that size
    assert ws.chat_context(Services.build(settings)).max_attachment_bytes == 2048


def sent_with_a_file(svc, guest, channel, *, name='invoice "März".pdf', upload=True, content_type="application/pdf"):
    """The visitor uploads a file (as the presigned POST puts it) and sends it in a message."""
    key = guest.ok("attachment.presign", channel_id=channel["id"], content_type=content_type, size=100)["key"]
    if upload:
        boto3.client("s3").put_object(Bucket=svc.settings.attachments_bucket, Key=key, Body=b"%PDF-1.7 invoice",
                                      ContentType=content_type)
    message = guest.ok("message.send", channel_id=channel["id"], text="the invoice", client_id=f"c-{key[-8:]}",
                       attachments=[{"key": key, "name": name, "content_type": "application/pdf"}])["message"]
    return message, key


@pytest.mark.parametrize(("name", "content_type", "saved_as"), [
    ("notes.txt", "text/plain", "notes.txt"),
    ("invoice.html", "text/plain", "invoice.html.txt"),  # the sender's name, the file's real type
    ("setup.EXE", "image/png", "setup.EXE.png"),
    ("photo.JPEG", "image/jpeg", "photo.JPEG"),
])
def test_a_download_is_saved_under_an_extension_of_what_the_file_is(room, svc, name, content_type, saved_as):
    from switchboard.chat.attachments import ATTACHMENT_TYPES, EXTENSIONS

    assert set(EXTENSIONS) == ATTACHMENT_TYPES
    guest, otto, channel = room
    message, key = sent_with_a_file(svc, guest, channel, name=name, content_type=content_type)
    data = otto.ok("attachment.open", channel_id=channel["id"], message_id=message["id"], key=key)
    assert data["name"] == saved_as


def test_a_reader_gets_a_short_lived_download_link_to_an_attachment(room, svc):
    from urllib.parse import parse_qs, urlsplit

    import requests

    # Given a visitor's message with a file
    guest, otto, channel = room
    message, key = sent_with_a_file(svc, guest, channel)
    # When the operator opens it from the message
    data = otto.ok("attachment.open", channel_id=channel["id"], message_id=message["id"], key=key)
    # Then the answer is a presigned (SigV4) GET of that object, for 5 minutes, that downloads as a
    # file (never rendered on the bucket's origin) under the name the message shows
    url = urlsplit(data["url"])
    query = parse_qs(url.query)
    assert url.path.endswith(key) and data["expires_in"] == 300 and query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and data["name"] == 'invoice "März".pdf'
    assert query["response-content-disposition"] == [
        "attachment; filename=\"invoice _M_rz_.pdf\"; filename*=UTF-8''invoice%20%22M%C3%A4rz%22.pdf"]
    got = requests.get(data["url"], timeout=10)
    assert got.status_code == 200 and got.content == b"%PDF-1.7 invoice"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    # and the visitor who sent it may open it too
    assert guest.ok("attachment.open", channel_id=channel["id"], message_id=message["id"], key=key)["url"]


def test_no_download_link_but_to_a_live_attachment_the_caller_may_read(chat, room, call, svc):
    guest, otto, channel = room
    message, key = sent_with_a_file(svc, guest, channel)
    other = chat.connect(known_visitor(call, "customer-8"))
    other_channel = other.ok("support.open")["channel"]
    theirs, their_key = sent_with_a_file(svc, other, other_channel)
    # someone who may not read the channel
    assert other.error("attachment.open", channel_id=channel["id"], message_id=message["id"], key=key) == "not_found"
    # another channel's upload named through a message of this one, or through its own message
    assert guest.error("attachment.open", channel_id=channel["id"], message_id=message["id"],
                       key=their_key) == "not_found"
    assert guest.error("attachment.open", channel_id=channel["id"], message_id=theirs["id"],
                       key=their_key) == "not_found"
    # a key that is not an upload's
    assert otto.error("attachment.open", channel_id=channel["id"], message_id=message["id"],
                      key="transcripts/acme/x.jsonl") == "validation_error"
    # an upload of the channel that no message carries (presigned, uploaded, never sent)
    stray = guest.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)["key"]
    boto3.client("s3").put_object(Bucket=svc.settings.attachments_bucket, Key=stray, Body=b"x")
    assert otto.error("attachment.open", channel_id=channel["id"], message_id=message["id"], key=stray) == (
        "not_found")


def test_a_deleted_messages_file_and_a_file_never_uploaded_give_no_link(room, svc):
    guest, otto, channel = room
    message, key = sent_with_a_file(svc, guest, channel)
    guest.ok("message.delete", channel_id=channel["id"], message_id=message["id"])
    assert otto.error("attachment.open", channel_id=channel["id"], message_id=message["id"], key=key) == "not_found"
    # a message naming an upload that never happened (or has expired): no link to an S3 error page
    ghost, ghost_key = sent_with_a_file(svc, guest, channel, upload=False)
    assert otto.error("attachment.open", channel_id=channel["id"], message_id=ghost["id"],
                      key=ghost_key) == "not_found"


def test_a_missing_file_is_not_found_also_when_s3_answers_403(room, svc, monkeypatch):
    # (S3 answers a HEAD of a missing key with 403 to a role without s3:ListBucket, as ours is)
    from botocore.exceptions import ClientError
    from switchboard.chat.s3 import ChatFiles

    guest, otto, channel = room
    message, key = sent_with_a_file(svc, guest, channel)
    real = ChatFiles.client

    class Denying:
        def __init__(self, client):
            self.client = client

        def head_object(self, **_):
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

        def __getattr__(self, name):
            return getattr(self.client, name)

    monkeypatch.setattr(ChatFiles, "client", property(lambda self: Denying(real.fget(self))))
    assert otto.error("attachment.open", channel_id=channel["id"], message_id=message["id"], key=key) == "not_found"


def test_a_close_decided_on_a_stale_read_of_a_closed_channel_changes_nothing(svc):
    from switchboard.errors import Conflict

    from tests.chat.test_support_channels import _support_channel, load_of

    # Given an open channel of op-a, closed once already
    read = _support_channel("0000000000004-d", assignee="op-a")
    svc.store.channels.create(read, support_pointer=True, now_ms=1)
    svc.store.channels.close(read, now_ms=2)
    # When a second close, decided on the read from before, is written
    with pytest.raises(Conflict):
        svc.store.channels.close(read, now_ms=3)
    # Then op-a's load went down once, not twice
    assert load_of(svc, "op-a") == 0
    assert svc.store.channels.get("0000000000004-d").status == "closed"


def test_a_closed_channel_leaves_the_support_lists(svc):
    from tests.chat.test_support_channels import _support_channel

    # Given a queued channel and an open one, listed by status
    queued, open_ = _support_channel("0000000000005-e"), _support_channel("0000000000006-f", visitor="anon-v2",
                                                                           assignee="op-a")
    for ch in (queued, open_):
        svc.store.channels.create(ch, support_pointer=True, now_ms=1)
    assert [e[0] for e in svc.store.channels.query("acme", status="open", limit=10, cursor=None)[0]] == [open_.id]
    # When both are closed
    for ch in (queued, open_):
        svc.store.channels.close(ch, now_ms=2)
    # Then neither the queue nor the open list holds them any more
    assert svc.store.channels.query("acme", status="queued", limit=10, cursor=None) == ([], False)
    assert svc.store.channels.query("acme", status="open", limit=10, cursor=None) == ([], False)
