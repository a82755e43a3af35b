"""Private notes (contract section 8: message.send with ``internal: true``): staff members of a
support channel write them; the visitor never receives one - not live, not in history, not on
reconnect, not by id, not in the channel's activity - and the staff archive keeps them."""

from __future__ import annotations

import json

import boto3

from tests.chat_support import table_keys
from tests.conftest import ADMIN

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


def test_only_staff_members_of_the_channel_write_notes(chat, room, tokens_for, call):
    _guest, otto, channel = room
    ana = chat.connect(tokens_for(ADMIN))  # an admin, not a member of this conversation
    assert ana.error("message.send", channel_id=channel["id"], text="x", client_id="a-n", internal=True) == \
        "forbidden"
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
