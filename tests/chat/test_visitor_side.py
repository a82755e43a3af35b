"""The visitor's side of a support conversation (contract section 8): context, pre-chat answers,
the follow-up address, the rating, and what a visitor must never see."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat_support import table_keys, visitor_tokens
from tests.conftest import OPERATOR

CONTEXT = {"url": "https://shop.example/cart?x=1", "title": "Your cart", "referrer": "https://search.example/q",
           "locale": "es-419"}
PRECHAT = [{"id": "name", "label": "Name", "kind": "text", "required": True},
           {"id": "topic", "label": "Topic", "kind": "select", "options": ["Billing", "Tech"], "required": True},
           {"id": "mail", "label": "Email", "kind": "email"},
           {"id": "news", "label": "Newsletter", "kind": "checkbox"}]
STAFF_ONLY = ("attributes", "attributes_signed")


def set_tenant(svc: Any, **fields: Any) -> None:
    """Change acme's settings as an admin's PATCH would store them (the domain's own write)."""
    from msgspec.structs import replace

    read = svc.store.tenants.get("acme", consistent=True)
    assert svc.store.tenants.replace(replace(read, version=read.version + 1, **fields), read_version=read.version)
    svc.tenants.forget()


def heard_of(client, channel_id):
    return [e["channel"] for e in client.events("channel.updated") if e["channel"]["id"] == channel_id]


def test_support_open_stores_the_context_prechat_answers_and_email_on_the_channel(chat, call, svc, tokens_for):
    # Given a tenant with a pre-chat form, an operator online
    set_tenant(svc, prechat=tuple(PRECHAT))
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    # When the visitor opens support with where they are, the form's answers and an email
    answers = {"name": "Vera", "topic": "Billing", "news": True}
    channel = guest.ok("support.open", context=CONTEXT, prechat=answers, email="vera@example.com")["channel"]
    # Then the channel holds them, as the visitor sees it and as it is stored
    assert (channel["context"], channel["prechat"], channel["visitor_email"], channel["csat"]) == \
        (CONTEXT, answers, "vera@example.com", None)
    stored = svc.store.channels.get(channel["id"])
    assert (stored.context, stored.prechat, stored.visitor_email) == (CONTEXT, answers, "vera@example.com")
    # and the operator who got it sees the same, with the staff-only fields
    (seen,) = heard_of(otto, channel["id"])
    assert seen["context"] == CONTEXT and seen["prechat"] == answers and "attributes" in seen


@pytest.mark.parametrize(("params", "why"), [
    ({"context": {"url": "javascript:alert(1)"}}, "a script URL"),
    ({"context": {"url": "https://shop.example/\nSet-Cookie: x"}}, "a control character"),
    ({"context": {"url": "https://x.example/" + "a" * 2048}}, "too long"),
    ({"context": {"referrer": "data:text/html,hi"}}, "a data referrer"),
    ({"context": {"locale": "en_US; drop"}}, "not a language tag"),
    ({"context": {"title": "t" * 301}}, "a title too long"),
    ({"context": {"url": "https://shop.example/", "colour": "red"}}, "an unknown field"),
    ({"prechat": {"name": "Vera", "topic": "Billing", "age": "40"}}, "an unknown pre-chat field"),
    ({"prechat": {"name": "Vera"}}, "a required field missing"),
    ({"prechat": {"name": "", "topic": "Billing"}}, "a required field empty"),
    ({"prechat": {"name": "   ", "topic": "Billing"}}, "a required field of spaces"),
    ({"prechat": {"name": "\t\n \u3000", "topic": "Billing"}}, "a required field of other whitespace"),
    ({"context": {"time_zone": "Mars/Olympus_Mons"}}, "a time zone that does not exist"),
    ({"context": {"time_zone": "europe/madrid"}}, "a zone name in the wrong case"),
    ({"context": {"time_zone": "localtime"}}, "a tz directory file that is no zone"),
    ({"context": {"time_zone": "Factory"}}, "tzdata's placeholder, no place"),
    ({"context": {"time_zone": "posixrules"}}, "another tz directory file"),
    ({"context": {"time_zone": "posix/Europe/Madrid"}}, "a tz directory's copy"),
    ({"context": {"time_zone": "../../etc/passwd"}}, "a path"),
    ({"context": {"time_zone": "/usr/share/zoneinfo/UTC"}}, "an absolute path"),
    ({"context": {"time_zone": "Europe/" + "A" * 60}}, "longer than 64"),
    ({"context": {"time_zone": ""}}, "empty"),
    ({"context": {"time_zone": 1}}, "not text"),
    ({"prechat": {"name": "Vera", "topic": "Sales"}}, "not one of the options"),
    ({"prechat": {"name": "Vera", "topic": "Billing", "mail": "not-an-email"}}, "a malformed email"),
    ({"prechat": {"name": "Vera", "topic": "Billing", "news": "yes"}}, "a checkbox that is not true/false"),
    ({"prechat": {"name": True, "topic": "Billing"}}, "text that is not text"),
    ({"email": "nobody"}, "a malformed address"),
])
def test_bad_context_or_prechat_is_a_validation_error_and_opens_nothing(chat, call, svc, params, why):
    # Given a tenant with a pre-chat form
    set_tenant(svc, prechat=tuple(PRECHAT))
    guest = chat.connect(visitor_tokens(call))
    before = table_keys()
    # When support.open carries something the contract does not allow
    params = {"prechat": {"name": "Vera", "topic": "Billing"}, **params}
    # Then it is refused, and nothing was stored
    assert guest.error("support.open", **params) == "validation_error", why
    assert table_keys() == before


@pytest.mark.parametrize("zone", ["Europe/Madrid", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+3",
                                  "America/Port-au-Prince"])
def test_the_visitors_time_zone_is_stored_and_staff_see_it(chat, call, svc, tokens_for, zone):
    # Given an operator online
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    # When the widget opens support with the browser's IANA zone in the context (our extension)
    context = {**CONTEXT, "time_zone": zone}
    channel = guest.ok("support.open", context=context)["channel"]
    # Then it is kept with the rest of the context, and staff see it
    assert channel["context"] == context
    assert svc.store.channels.get(channel["id"]).context == context
    (seen,) = heard_of(otto, channel["id"])
    assert seen["context"]["time_zone"] == zone


def test_a_bad_time_zone_in_visitor_context_changes_nothing(room, svc):
    guest, _otto, channel = room
    guest.ok("visitor.context", channel_id=channel["id"], context={"url": "https://shop.example/a",
                                                                   "time_zone": "Europe/Madrid"})
    before = svc.store.channels.get(channel["id"]).context
    assert guest.error("visitor.context", channel_id=channel["id"],
                       context={"url": "https://shop.example/b", "time_zone": "Nowhere/Land"}) == "validation_error"
    assert svc.store.channels.get(channel["id"]).context == before == {"url": "https://shop.example/a",
                                                                       "time_zone": "Europe/Madrid"}


def test_required_email_while_nobody_is_online(chat, call, svc, tokens_for):
    # Given a tenant that wants an email while nobody is online, and nobody online
    set_tenant(svc, email_when_offline="required")
    guest = chat.connect(visitor_tokens(call))
    # When the visitor opens support without one, Then it is refused
    assert guest.error("support.open") == "validation_error"
    # With one, the conversation waits in the queue with the address
    channel = guest.ok("support.open", email="vera@example.com")["channel"]
    assert (channel["status"], channel["visitor_email"]) == ("queued", "vera@example.com")
    # And with an operator online, nobody needs to give one
    chat.connect(tokens_for(OPERATOR))
    other = chat.connect(visitor_tokens(call))
    assert other.ok("support.open")["channel"]["status"] == "open"


def test_required_email_while_the_only_operator_is_away(chat, call, svc, tokens_for):
    # Given a tenant that wants an email while nobody is online, and its operator connected but away
    set_tenant(svc, email_when_offline="required")
    otto = chat.connect(tokens_for(OPERATOR))
    otto.ok("presence.set", status="away")
    guest = chat.connect(visitor_tokens(call))
    # When the visitor opens support without one, Then it is refused: the chat would only queue
    assert guest.error("support.open") == "validation_error"
    # And once the operator is back, nobody needs to give one
    otto.ok("presence.set", status="online")
    assert guest.ok("support.open")["channel"]["status"] == "open"


def test_visitor_context_and_email_update_the_open_channel_and_tell_staff(room, svc):
    guest, otto, channel = room
    # When the visitor moves to another page and gives an address later
    moved = {"url": "https://shop.example/checkout", "locale": "en"}
    got = guest.ok("visitor.context", channel_id=channel["id"], context=moved)["channel"]
    assert got["context"] == moved
    got = guest.ok("visitor.email", channel_id=channel["id"], email="late@example.com")["channel"]
    # Then the channel has both, and the operator heard of each
    assert got["visitor_email"] == "late@example.com"
    stored = svc.store.channels.get(channel["id"])
    assert (stored.context, stored.visitor_email) == (moved, "late@example.com")
    heard = heard_of(otto, channel["id"])
    assert [h["context"] for h in heard][-2:] == [moved, moved] and heard[-1]["visitor_email"] == "late@example.com"
    # And bad input changes nothing
    assert guest.error("visitor.context", channel_id=channel["id"], context={"url": "ftp://x.example/"}) \
        == "validation_error"
    assert guest.error("visitor.email", channel_id=channel["id"], email="a@b") == "validation_error"
    assert svc.store.channels.get(channel["id"]) == stored


def test_staff_cannot_set_the_visitors_fields(room, svc):
    _guest, otto, channel = room
    before = svc.store.channels.get(channel["id"])
    assert otto.error("visitor.email", channel_id=channel["id"], email="x@example.com") == "forbidden"
    assert otto.error("visitor.context", channel_id=channel["id"], context={"url": "https://evil.example/"}) \
        == "forbidden"
    assert svc.store.channels.get(channel["id"]) == before


def test_a_closed_channel_takes_no_context(room, svc):
    guest, otto, channel = room
    otto.ok("channel.close", channel_id=channel["id"])
    assert guest.error("visitor.context", channel_id=channel["id"], context={"url": "https://x.example/"}) \
        == "conflict"


def test_channel_rate_once_after_close(room, svc, monkeypatch):
    from switchboard.chat import visitors

    submitted: list[Any] = []
    monkeypatch.setattr(visitors, "CSAT_SUBMITTED", [lambda ctx, ch: submitted.append(ch)])
    guest, otto, channel = room
    # Given an open conversation: no rating yet
    assert guest.error("channel.rate", channel_id=channel["id"], score=5) == "conflict"
    otto.ok("channel.close", channel_id=channel["id"])
    # Bad ratings are refused
    assert guest.error("channel.rate", channel_id=channel["id"], score=6) == "validation_error"
    assert guest.error("channel.rate", channel_id=channel["id"], score=0) == "validation_error"
    assert guest.error("channel.rate", channel_id=channel["id"], score=4, comment="x" * 1001) == "validation_error"
    assert svc.store.channels.get(channel["id"]).csat is None
    # When the visitor rates it
    got = guest.ok("channel.rate", channel_id=channel["id"], score=4, comment="Quick, thanks")["channel"]
    # Then the rating is on the channel, staff heard of it, and the csat.submitted seam ran once
    assert (got["csat"]["score"], got["csat"]["comment"]) == (4, "Quick, thanks")
    assert svc.store.channels.get(channel["id"]).csat["score"] == 4
    assert heard_of(otto, channel["id"])[-1]["csat"]["score"] == 4
    assert [ch.id for ch in submitted] == [channel["id"]]
    # And a second rating is refused and changes nothing
    assert guest.error("channel.rate", channel_id=channel["id"], score=1) == "conflict"
    assert svc.store.channels.get(channel["id"]).csat["score"] == 4 and len(submitted) == 1
    # Staff do not rate
    assert otto.error("channel.rate", channel_id=channel["id"], score=1) == "forbidden"



def test_a_rating_writes_one_csat_submitted_event_with_it(room, svc):
    from tests.events.conftest import stored_events

    guest, otto, channel = room
    otto.ok("channel.close", channel_id=channel["id"])
    guest.ok("channel.rate", channel_id=channel["id"], score=5, comment="Great")
    assert guest.error("channel.rate", channel_id=channel["id"], score=1) == "conflict"
    # one csat.submitted, in the conversation's partition (erased with it), for the stored rating only
    csat = [e for e in stored_events(svc) if e.get("type") == "csat.submitted"]
    assert len(csat) == 1 and csat[0]["pk"] == f"CH#{channel['id']}"
    assert csat[0]["data"]["conversation_id"] == channel["id"]
    assert (csat[0]["data"]["score"], csat[0]["data"]["comment"]) == (5, "Great")


def test_a_visitor_never_sees_staff_only_fields(chat, call, svc, tokens_for):
    # Given a visitor the website described (signed attributes), an operator online
    otto = chat.connect(tokens_for(OPERATOR))
    tokens = visitor_tokens(call)
    guest = chat.connect(tokens)
    svc.store.visitors.put_attributes("acme", guest.user_id, {"plan": "gold", "orders": 12}, signed=True, at=1)
    # When the visitor opens, watches, lists, moves page, and the operator changes the channel
    channel = guest.ok("support.open", context=CONTEXT)["channel"]
    watched = guest.ok("channel.watch", channel_id=channel["id"])["channel"]
    listed = guest.ok("channel.query", filter={"member": "me"})["channels"]
    otto.ok("channel.watch", channel_id=channel["id"])
    guest.ok("visitor.context", channel_id=channel["id"], context={"url": "https://shop.example/2"})
    otto.ok("channel.close", channel_id=channel["id"])
    # Then nothing the visitor got holds a staff-only field
    seen = [channel, watched, *listed, *heard_of(guest, channel["id"])]
    assert len(seen) >= 4
    for shown in seen:
        assert not set(STAFF_ONLY) & set(shown), shown
    # while staff see the attributes, and that they were signed
    staff_view = otto.ok("channel.watch", channel_id=channel["id"])["channel"]
    assert (staff_view["attributes"], staff_view["attributes_signed"]) == ({"plan": "gold", "orders": 12}, True)
    assert all(h["attributes"] == {"plan": "gold", "orders": 12} for h in heard_of(otto, channel["id"]))


def test_plain_messages_cost_no_more_with_context_and_attributes(chat, call, svc, tokens_for):
    """bench: message.send's DynamoDB calls are those of a channel without the visitor's side."""
    from tests.chat_support import CallLog

    otto = chat.connect(tokens_for(OPERATOR))

    def calls_of_a_send(**open_params: Any) -> list[str]:
        guest = chat.connect(visitor_tokens(call))
        if open_params:
            svc.store.visitors.put_attributes("acme", guest.user_id, {"plan": "gold"}, signed=False, at=1)
        channel = guest.ok("support.open", **open_params)["channel"]
        guest.ok("channel.watch", channel_id=channel["id"])
        otto.ok("channel.watch", channel_id=channel["id"])
        log = CallLog()
        with log.counting(svc.store.client):
            guest.ok("message.send", channel_id=channel["id"], text="hello", client_id="c1")
        return sorted(log.names())

    plain = calls_of_a_send()
    described = calls_of_a_send(context=CONTEXT, email="vera@example.com")
    assert described == plain and plain
