"""Private notes (contract section 8: message.send with ``internal: true``): staff who may read a
support channel write them (its assignee, a colleague reading the queue, an admin); the visitor
never receives one - not live, not in history, not on reconnect, not by id, not in the channel's
activity, not in follow-up mail - and the staff archive keeps them."""

from __future__ import annotations

import json

import boto3

from tests.chat.test_support_channels import OLGA, add_operator
from tests.chat_support import table_keys, visitor_tokens
from tests.conftest import ADMIN, OPERATOR

_ids = iter(range(10**9))


def note(who, channel, text="they were rude last time", **extra):
    return who.ok("message.send", channel_id=channel["id"], text=text, client_id=f"n-{next(_ids)}",
                  internal=True, **extra)["message"]


def test_a_note_reaches_staff_watchers_only_and_never_the_visitor(chat, room, tokens_for):
    guest, otto, channel = room
    ana = chat.connect(tokens_for(ADMIN))
    ana.ok("channel.watch", channel_id=channel["id"])
    second_tab = chat.connect(guest.tokens)
    second_tab.ok("channel.watch", channel_id=channel["id"])
    # When the assignee writes a note
    written = note(otto, channel)
    # Then it is marked internal, and staff watching hear of it
    assert written["internal"] is True and written["text"] == "they were rude last time"
    assert [e["message"]["id"] for e in ana.events("message.new")] == [written["id"]]
    # And neither of the visitor's connections heard anything
    assert guest.events("message.new") == [] and second_tab.events("message.new") == []
    assert all(written["id"] not in json.dumps(f) for f in guest.frames() + second_tab.frames())


def test_a_visitor_never_finds_a_note_in_history_watch_or_by_its_id(chat, room):
    guest, otto, channel = room
    said = guest.ok("message.send", channel_id=channel["id"], text="hi", client_id="g-1")["message"]
    written = note(otto, channel)
    reply = otto.ok("message.send", channel_id=channel["id"], text="Hello!", client_id="o-1")["message"]
    # Staff see the conversation with the note in its place
    staff_view = [m["id"] for m in otto.ok("channel.history", channel_id=channel["id"])["messages"]]
    assert staff_view == [said["id"], written["id"], reply["id"]]
    # The visitor's history, their watch (a reconnect's resume) and paging skip it
    assert [m["id"] for m in guest.ok("channel.history", channel_id=channel["id"])["messages"]] == \
        [said["id"], reply["id"]]
    again = chat.connect(guest.tokens)  # the visitor reconnects and resumes
    assert [m["id"] for m in again.ok("channel.watch", channel_id=channel["id"])["messages"]] == \
        [said["id"], reply["id"]]
    page = guest.ok("channel.history", channel_id=channel["id"], before=reply["id"], limit=1)
    assert [m["id"] for m in page["messages"]] == [said["id"]]
    # A note's id is no message to them: a receipt or a delete answers not_found, as for any unknown id
    assert guest.error("read", channel_id=channel["id"], message_id=written["id"]) == "not_found"
    assert guest.error("message.delete", channel_id=channel["id"], message_id=written["id"]) == "not_found"


def test_a_note_moves_nothing_the_visitor_sees(chat, room):
    # Given the channel as the visitor sees it
    guest, otto, channel = room
    before = guest.ok("channel.query", filter={"member": "me"})["channels"]
    # When a note is written
    note(otto, channel)
    # Then their list is as it was: no new activity time (their unread badge, their preview), no channel.updated
    assert guest.ok("channel.query", filter={"member": "me"})["channels"] == before
    assert guest.events("channel.updated") == []


def test_a_visitor_cannot_write_a_note_and_nothing_changes(room):
    guest, _otto, channel = room
    before = table_keys()
    assert guest.error("message.send", channel_id=channel["id"], text="x", client_id="v-n", internal=True) == \
        "forbidden"
    assert table_keys() == before


def test_only_staff_who_may_read_the_channel_write_notes(chat, room, tokens_for, svc):
    _guest, otto, channel = room
    # an operator who may not read the conversation (open, assigned to Otto) does not learn it exists
    olga = chat.connect(tokens_for(add_operator(svc, OLGA)))
    before = table_keys()
    assert olga.error("message.send", channel_id=channel["id"], text="x", client_id="o-n", internal=True) == \
        "not_found"
    assert table_keys() == before
    # a note carries no attachments (an upload's link is the visitor's to open)
    key = otto.ok("attachment.presign", channel_id=channel["id"], content_type="image/png", size=10)["key"]
    assert otto.error("message.send", channel_id=channel["id"], text="x", client_id="o-att", internal=True,
                      attachments=[{"key": key}]) == "validation_error"


def test_a_client_id_of_a_note_is_not_the_answer_to_a_message(room):
    guest, otto, channel = room
    otto.ok("message.send", channel_id=channel["id"], text="same", client_id="twice", internal=True)
    assert otto.error("message.send", channel_id=channel["id"], text="same", client_id="twice") == "conflict"
    assert [m for m in guest.ok("channel.history", channel_id=channel["id"])["messages"]] == []


def test_the_staff_archive_keeps_notes_marked_and_the_figures_count_only_what_the_visitor_saw(room, svc):
    guest, otto, channel = room
    guest.ok("message.send", channel_id=channel["id"], text="hi", client_id="g-1")
    written = note(otto, channel)
    otto.ok("channel.close", channel_id=channel["id"])
    from switchboard.chat.transcripts import transcript_key

    body = boto3.client("s3").get_object(Bucket=svc.settings.archive_bucket,
                                         Key=transcript_key(svc.store.channels.get(channel["id"])))["Body"].read()
    lines = [json.loads(line) for line in body.decode().splitlines()]
    kept = [x["message"] for x in lines[1:]]
    assert [m["id"] for m in kept if m.get("internal")] == [written["id"]]
    # a note is no first response and no message of the conversation's figures
    assert lines[0]["report"]["first_response_at"] is None
    assert lines[0]["report"]["messages"] == 1


def test_a_deleted_note_is_told_to_staff_only(chat, room):
    guest, otto, channel = room
    written = note(otto, channel)
    otto.ok("message.delete", channel_id=channel["id"], message_id=written["id"])
    assert guest.events("message.deleted") == []
    assert [m["message"]["id"] for m in otto.events("message.deleted")] == [written["id"]]


def test_reading_a_note_is_told_to_staff_only(chat, room, tokens_for):
    # found by the probe of the merged stack: the read receipt carried the note's id to the visitor
    guest, otto, channel = room
    ana = chat.connect(tokens_for(ADMIN))
    ana.ok("channel.watch", channel_id=channel["id"])
    written = note(otto, channel)
    otto.ok("read", channel_id=channel["id"], message_id=written["id"])
    assert [e["message_id"] for e in ana.events("read")] == [written["id"]]
    assert guest.events("read") == []
    assert all(written["id"] not in json.dumps(f) for f in guest.frames())


# -- notes from staff who read the conversation without being its assignee (issue 17) ------------
def _mailer(template, monkeypatch, seconds):
    """FollowupMailFunction run ``seconds`` from now (as tests/chat/test_followup_mail.py runs it)."""
    import time
    from types import SimpleNamespace

    from switchboard.chat import followup_mail

    from switchboard_local.lambda_runtime import LambdaContext, load_handler

    when = time.time() + seconds
    monkeypatch.setattr(followup_mail, "time", SimpleNamespace(time=lambda: when))
    return load_handler(template, "FollowupMailFunction")({"source": "aws.events", "detail-type": "Scheduled Event"},
                                                          LambdaContext("FollowupMailFunction"))


def test_an_admin_and_a_colleague_who_are_not_the_assignee_write_notes_the_visitor_never_receives(
        chat, call, tokens_for, svc, template, monkeypatch):
    from switchboard_local.outbox import messages as outbox

    # Given a queued conversation of a visitor who left an email, watching it
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open", email="vera@example.com")["channel"]
    assert channel["status"] == "queued"
    guest.ok("channel.watch", channel_id=channel["id"])
    # When Otto, reading the queue (no member, no assignee), writes a note
    otto = chat.connect(tokens_for(OPERATOR))
    otto.ok("channel.watch", channel_id=channel["id"])
    assert svc.store.channels.get(channel["id"]).members == (guest.user_id,)
    from_queue = note(otto, channel, "seen this customer yesterday: order 77")
    # and, once Olga claimed it, Ana the admin (not a member) writes one too
    olga = chat.connect(tokens_for(add_operator(svc, OLGA)))
    olga.ok("channel.assign", channel_id=channel["id"])
    olga.ok("channel.watch", channel_id=channel["id"])
    ana = chat.connect(tokens_for(ADMIN))
    from_admin = note(ana, channel, "refund approved up to 40 EUR")
    # Then both are notes, and the staff watching heard of the admin's
    assert from_queue["internal"] is True and from_admin["internal"] is True
    assert from_admin["id"] in [e["message"]["id"] for e in olga.events("message.new")]
    # And Ana is no member for it: her note gave her no place in the conversation
    assert ana.user_id not in svc.store.channels.get(channel["id"]).members
    # The visitor heard nothing of either, live
    assert guest.events("message.new") == []
    secret = ("order 77", "40 EUR", from_queue["id"], from_admin["id"])
    assert not any(x in json.dumps(guest.frames()) for x in secret)
    # nor in history or a fresh watch (a reconnect)
    again = chat.connect(guest.tokens)
    assert again.ok("channel.history", channel_id=channel["id"])["messages"] == []
    assert again.ok("channel.watch", channel_id=channel["id"])["messages"] == []
    # nor in the follow-up mail of the conversation, which carries the assignee's reply
    guest.disconnect()
    again.disconnect()
    olga.ok("message.send", channel_id=channel["id"], text="Your refund is on its way.", client_id="reply-1")
    assert _mailer(template, monkeypatch, 125)["mailed"] == 1
    (mail,) = [m for m in outbox() if "vera@example.com" in json.dumps(m)]
    assert "Your refund is on its way." in mail["text"]
    assert not any(x in json.dumps(mail) for x in secret)
    # while staff read both notes in the history
    staff_history = ana.ok("channel.history", channel_id=channel["id"])["messages"]
    assert {from_queue["id"], from_admin["id"]} <= {m["id"] for m in staff_history}


def test_a_note_on_a_closed_conversation_is_a_conflict_and_stores_nothing(chat, room, tokens_for):
    _guest, otto, channel = room
    otto.ok("channel.close", channel_id=channel["id"])
    ana = chat.connect(tokens_for(ADMIN))
    before = table_keys()
    # the archive is written at the close: a note after it would be missing from it
    assert ana.error("message.send", channel_id=channel["id"], text="late", client_id="late-1",
                     internal=True) == "conflict"
    assert otto.error("message.send", channel_id=channel["id"], text="late", client_id="late-2",
                      internal=True) == "conflict"
    assert table_keys() == before


def test_a_refusal_names_the_role_with_the_right_article(chat, room, tokens_for):
    # "an admin may not ...", never "a admin" (the probe's grammar nit)
    _guest, _otto, channel = room
    ana = chat.connect(tokens_for(ADMIN))
    reply = ana.request("message.send", channel_id=channel["id"], text="x", client_id="grammar-1")
    assert not reply["ok"] and reply["error"]["code"] == "forbidden"
    assert reply["error"]["message"].startswith("an admin may not "), reply
