"""Follow-up mail and the resume link (contract section 8): staff replies a visitor was not there to
see reach their email, batched per conversation, never a staff note, with a single-use link that
signs them back in to that one conversation - on the tenant's origins only, for 7 days.

The FollowupMail function is invoked as Lambda would run it (the template's handler, its IAM
policy enforced by the local invoker), with its clock moved forward instead of waiting."""

from __future__ import annotations

import json
import re
import time
from types import SimpleNamespace
from typing import Any

import pytest

from tests.chat_support import CallLog, visitor_tokens
from tests.conftest import OPERATOR, ORIGIN, TENANT


def outbox() -> list[dict[str, Any]]:
    from switchboard_local.outbox import messages

    return messages()


@pytest.fixture
def run_mailer(template, monkeypatch):
    """Run FollowupMailFunction at ``seconds`` from now (its clock moved, nobody sleeps)."""
    from switchboard.chat import followup_mail

    from switchboard_local.lambda_runtime import LambdaContext, load_handler

    def _run(seconds: float) -> dict[str, int]:
        when = time.time() + seconds
        monkeypatch.setattr(followup_mail, "time", SimpleNamespace(time=lambda: when))
        result: dict[str, int] = load_handler(template, "FollowupMailFunction")(
            {"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext("FollowupMailFunction"))
        return result

    return _run


@pytest.fixture
def away(chat, call, tokens_for):
    """A visitor who left an email and went away; the operator who has their conversation."""
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open", email="vera@example.com",
                       context={"url": f"{ORIGIN}/orders/7"})["channel"]
    otto.ok("channel.watch", channel_id=channel["id"])
    guest.disconnect()
    return otto, guest, channel


_CLIENT_IDS = iter(range(10**6))


def send(who, channel, text):
    return who.ok("message.send", channel_id=channel["id"], text=text, client_id=f"f{next(_CLIENT_IDS)}")["message"]


def resume_url(mail: dict[str, Any]) -> str:
    """The mail's resume link, whole (the page it opens and its ``resume`` query)."""
    found = re.search(r"https?://\S+[?&]resume=\S+", mail["text"])
    assert found, mail["text"]
    return found.group(0)


def resume_token(mail: dict[str, Any]) -> str:
    from urllib.parse import parse_qs, urlsplit

    link = urlsplit(resume_url(mail))
    assert f"{link.scheme}://{link.netloc}" == ORIGIN
    (token,) = parse_qs(link.query)["resume"]
    return token


def test_replies_the_visitor_missed_are_mailed_once_in_one_batch(away, run_mailer, svc):
    otto, _guest, channel = away
    # Given two replies while the visitor is away
    send(otto, channel, "Your parcel left today.")
    send(otto, channel, "Tracking: ZX-42.")
    # Then nothing goes before the delay
    assert run_mailer(60)["mailed"] == 0 and outbox() == []
    # When the mailer runs after it
    assert run_mailer(125)["mailed"] == 1
    # Then one mail went to the visitor with both replies and a link on the tenant's origin
    (mail,) = outbox()
    assert mail["to"] == "vera@example.com"
    assert "Your parcel left today." in mail["text"] and "Tracking: ZX-42." in mail["text"]
    resume_token(mail)
    # And the batch is done: the next run mails nothing
    assert run_mailer(200)["due"] == 0 and len(outbox()) == 1
    # A later reply starts a new batch
    send(otto, channel, "Anything else?")
    assert run_mailer(125)["mailed"] == 1
    (second,) = [m for m in outbox() if "Anything else?" in m["text"]]
    assert len(outbox()) == 2 and "ZX-42" not in second["text"]


def test_a_visitor_back_in_the_chat_gets_no_mail(away, run_mailer, chat):
    otto, guest, channel = away
    send(otto, channel, "Are you there?")
    chat.connect(guest.tokens)  # they came back: the widget shows the reply
    counts = run_mailer(125)
    assert (counts["seen_live"], counts["mailed"]) == (1, 0) and outbox() == []


def test_staff_notes_and_the_visitors_own_messages_are_never_mailed(away, run_mailer, svc):
    from switchboard.ids import now_ms, time_ordered_id
    from switchboard.models import Message
    from switchboard.store import codecs

    otto, _guest, channel = away
    send(otto, channel, "Public answer.")
    # a private note as desk-staff's message.send internal=true stores it (flagged internal)
    ch = svc.store.channels.get(channel["id"])
    note = Message(id=time_ordered_id(), channel_id=ch.id, sender_id=otto.user_id, sender_role="operator",
                   sender_name="Otto", text="NOTE: customer is rude", attachments=(), client_id="note-1",
                   created_at=now_ms())
    svc.store.client.put_item(TableName=svc.store.table,
                              Item=_wire({**codecs.message_item(note), "internal": True}))
    own = Message(id=time_ordered_id(), channel_id=ch.id, sender_id=ch.visitor, sender_role="visitor",
                  sender_name="Visitor", text="VISITOR-OWN words", attachments=(), client_id="own-1",
                  created_at=now_ms())
    svc.store.messages.put(ch, own)
    time.sleep(0.002)  # the next reply comes after the note: the note is inside the batch
    send(otto, channel, "Second answer.")
    assert run_mailer(125)["mailed"] == 1
    (mail,) = outbox()
    assert "Public answer." in mail["text"] and "Second answer." in mail["text"]
    assert "NOTE" not in mail["text"] and "rude" not in mail["text"] and "VISITOR-OWN" not in mail["text"]


def _wire(item: dict[str, Any]) -> dict[str, Any]:
    from switchboard.store.dynamo import to_wire

    return to_wire(item)


def test_no_email_no_mail_and_no_due_record(chat, call, tokens_for, run_mailer, svc):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    guest.disconnect()
    send(otto, channel, "Hello?")
    assert svc.store.followups.get(channel["id"]) is None
    assert run_mailer(125)["due"] == 0 and outbox() == []


def test_the_mailers_cost_grows_with_what_is_due_not_with_the_table(chat, call, tokens_for, run_mailer, svc):
    # Given 6 conversations with a reply each, 3 of them due (their visitors left an email)
    otto = chat.connect(tokens_for(OPERATOR))
    for i in range(6):
        guest = chat.connect(visitor_tokens(call))
        channel = guest.ok("support.open", **({"email": f"v{i}@example.com"} if i % 2 == 0 else {}))["channel"]
        guest.disconnect()
        send(otto, channel, f"reply {i}")
    from switchboard.chat import followup_mail

    # When the mailer runs, counted
    log = CallLog()
    with log.counting(svc.store.client):
        counts = followup_mail.send_due(svc, now_ms=int(time.time() * 1000) + 125_000)
    # Then: one Query of the index, then per due conversation a fixed handful of calls, no Scan
    assert counts["mailed"] == 3
    names = log.names()
    assert "Scan" not in names
    assert names[0] == "Query" and len(names) <= 1 + 3 * 7, names


# -- POST /auth/resume -----------------------------------------------------------------------------
def _resume(call: Any, token: str, origin: str | None = ORIGIN, tenant: str = TENANT) -> dict[str, Any]:
    return call("POST /auth/resume", body={"tenant": tenant, "token": token},
                headers={"origin": origin} if origin else {})


def test_the_link_signs_the_visitor_back_in_to_that_conversation_once(away, run_mailer, call, chat, svc):
    otto, guest, channel = away
    send(otto, channel, "We found it.")
    run_mailer(125)
    token = resume_token(outbox()[0])
    # When the visitor opens the link on the tenant's site
    r = _resume(call, token)
    # Then they are that conversation's visitor again, and see it
    assert r["status"] == 200, r
    assert r["json"]["user"]["id"] == guest.user_id
    back = chat.connect(r["json"])
    assert back.ok("channel.watch", channel_id=channel["id"])["channel"]["id"] == channel["id"]
    # And the link works once: a replay is refused and signs nobody in
    sessions_before = len(list(svc.store.sessions.of_user(TENANT, guest.user_id)))
    again = _resume(call, token)
    assert again["status"] == 401 and again["json"]["code"] == "invalid_identity"
    assert "access_token" not in again["json"]
    assert len(list(svc.store.sessions.of_user(TENANT, guest.user_id))) == sessions_before


@pytest.mark.parametrize("case", ["another origin", "no origin", "another tenant", "wrong secret", "expired"])
def test_the_link_is_refused_off_the_tenants_origins_or_when_bad(away, run_mailer, call, svc, monkeypatch, case):
    otto, _guest, channel = away
    send(otto, channel, "We found it.")
    run_mailer(125)
    token = resume_token(outbox()[0])
    if case == "another origin":
        r = _resume(call, token, origin="https://evil.example")
        assert r["status"] == 403, r
    elif case == "no origin":
        r = _resume(call, token, origin=None)
        assert r["status"] == 403, r
    elif case == "another tenant":
        r = _resume(call, token, tenant="globex", origin="https://globex.test")
        assert r["status"] in (401, 403), r
    elif case == "wrong secret":
        rid = token.split(".")[0]
        r = _resume(call, f"{rid}.{'A' * 43}")
        assert r["status"] == 401, r
        assert _resume(call, token)["status"] == 200  # the real link still works: nothing was spent
        return
    else:
        # the link's 7 days have passed (its record as stored, moved back in time)
        rid = token.split(".")[0]
        item = svc.store.client.get_item(TableName=svc.store.table,
                                         Key={"pk": {"S": f"RES#{rid}"}, "sk": {"S": "RESUME"}})["Item"]
        assert int(item["expires_at"]["N"]) - time.time() > 7 * 86400 - 60
        svc.store.client.update_item(TableName=svc.store.table, Key={"pk": {"S": f"RES#{rid}"},
                                                                      "sk": {"S": "RESUME"}},
                                     UpdateExpression="SET expires_at = :e",
                                     ExpressionAttributeValues={":e": {"N": str(int(time.time()) - 1)}})
        r = _resume(call, token)
        assert r["status"] == 401, r
        return
    assert "access_token" not in (r["json"] or {})
    # refused before the link was spent, another tenant's try included (the probe found that one
    # spent it): bad input changes nothing
    assert _resume(call, token)["status"] == 200


def test_a_malformed_token_is_a_400(call, seeded):
    r = _resume(call, "not-a-token")
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"


def test_a_link_mailed_before_the_visitor_was_erased_signs_nobody_in(away, run_mailer, call, svc, admin):
    # found by the probe of the merged stack: the link outlived the erasure and signed the
    # erased visitor in again
    otto, guest, channel = away
    send(otto, channel, "We found it.")
    run_mailer(125)
    token = resume_token(outbox()[0])
    erased = call("DELETE /admin/visitors/{id}", path_params={"id": guest.user_id}, token=admin)
    assert erased["status"] == 200, erased
    r = _resume(call, token)
    assert r["status"] == 401 and r["json"]["code"] == "invalid_identity"
    assert list(svc.store.sessions.of_user(TENANT, guest.user_id)) == []


def test_the_erasure_deletes_the_resume_links_mailed_to_the_visitor(away, run_mailer, call, svc, admin):
    # a resume link's record names the visitor and the conversation: erasing them takes it too
    import boto3

    otto, guest, channel = away
    send(otto, channel, "We found it.")
    run_mailer(125)
    assert resume_token(outbox()[0])

    def naming_the_visitor() -> list[dict]:
        items = boto3.client("dynamodb").scan(TableName=svc.settings.table_name)["Items"]  # a Scan: tests only
        return [i for i in items if guest.user_id in json.dumps(i) and i["sk"]["S"] == "RESUME"]

    assert len(naming_the_visitor()) == 1
    assert call("DELETE /admin/visitors/{id}", path_params={"id": guest.user_id}, token=admin)["status"] == 200
    assert naming_the_visitor() == []


# -- where the link opens (docs/web.md, "The resume link") ----------------------------------------
def _link_for_page(chat, call, tokens_for, run_mailer, page: str) -> str:
    """The resume link mailed for a conversation whose visitor was last on ``page``."""
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open", email="vera@example.com", context={"url": page})["channel"]
    otto.ok("channel.watch", channel_id=channel["id"])
    guest.disconnect()
    send(otto, channel, "Here is your answer.")
    assert run_mailer(125)["mailed"] == 1
    (mail,) = outbox()
    return resume_url(mail)


@pytest.mark.parametrize("page, opens", [
    (f"{ORIGIN}/orders/7", f"{ORIGIN}/orders/7?resume="),
    (f"{ORIGIN}/shop/cart?item=42&size=m#pay", f"{ORIGIN}/shop/cart?item=42&size=m&resume="),
    (f"{ORIGIN}", f"{ORIGIN}/?resume="),
    # a page that came with an old link's token: the new token replaces it, never two
    (f"{ORIGIN}/help?resume=old.token", f"{ORIGIN}/help?resume="),
])
def test_the_link_opens_the_page_the_visitor_was_on(chat, call, tokens_for, run_mailer, page, opens):
    # Given a visitor whose conversation's page is on the tenant's origin
    link = _link_for_page(chat, call, tokens_for, run_mailer, page)
    # Then the mailed link opens that page, with its own query kept and the token added once
    assert link.startswith(opens), link
    assert link.count("resume=") == 1 and "old.token" not in link
    if "#pay" in page:
        assert link.endswith("#pay"), link  # a single-page site's route is kept too
    token = resume_token({"text": link})
    assert _resume(call, token)["status"] == 200


@pytest.mark.parametrize("page", [
    "https://evil.example/orders/7",                     # another site
    f"{ORIGIN}.evil.example/orders/7",                   # a look-alike host
    f"{ORIGIN}:8443/orders/7",                           # the tenant's host on another port
    f"http://{ORIGIN.split('://')[1]}/orders/7",         # the tenant's host without TLS
    f"https://user@{ORIGIN.split('://')[1]}/orders/7",   # user info (a browser may read it otherwise)
    f"https://{ORIGIN.split('://')[1]}@evil.example/x",  # the tenant's host as user info of another
    f"{ORIGIN}\\@evil.example/x",                      # a backslash browsers read as a slash
    f"{ORIGIN}//evil.example/x",                         # a protocol-relative-looking path
])
def test_a_page_off_the_tenants_origins_never_becomes_the_links_target(chat, call, tokens_for, run_mailer, page):
    # Given a visitor whose conversation's page (their own word: the widget sends it) is not on
    # one of the tenant's origins, exactly
    link = _link_for_page(chat, call, tokens_for, run_mailer, page)
    # Then the link opens the tenant's first origin's root, and nothing of the page comes along
    assert link.startswith(f"{ORIGIN}/?resume="), link
    assert "evil" not in link and "orders" not in link and "user" not in link


# -- the mail's language (the widget's: docs/web.md, "Languages") -----------------------------------
@pytest.mark.parametrize("locale, offered, says", [
    ("es-ES", [], "te ha respondido"),        # the visitor's language, offered by default
    ("es", ["en", "es"], "te ha respondido"),
    ("en-GB", [], "answered you"),
    ("fr-FR", [], "answered you"),            # no French: the tenant's first language
    ("fr-FR", ["es", "en"], "te ha respondido"),
    ("es-MX", ["en"], "answered you"),        # the tenant offers only English
])
def test_the_mail_speaks_the_language_the_widget_spoke(chat, call, tokens_for, run_mailer, svc, admin,
                                                       locale, offered, says):
    if offered:
        assert call("PATCH /admin/tenant", token=admin, body={"locales": offered})["status"] == 200
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open", email="vera@example.com",
                       context={"url": f"{ORIGIN}/orders/7", "locale": locale})["channel"]
    otto.ok("channel.watch", channel_id=channel["id"])
    guest.disconnect()
    send(otto, channel, "Here is your answer.")
    assert run_mailer(125)["mailed"] == 1
    (mail,) = outbox()
    assert says in mail["subject"] and "Here is your answer." in mail["text"]
    assert resume_token(mail)


# -- addresses and a mail SES will not take (found by the probe) ---------------------------------
@pytest.mark.parametrize("address", ["x,y@b.co", "Eve<a@evil.com>", "g:a@x.co;", '"a"@b.co', "a@b..co", "a@b.co,",
                                     "a@b", "a.@b.co"])
def test_only_one_plain_address_is_taken_for_follow_ups(chat, call, address):
    # a list or a display name would mail others from the tenant's address, and an address SES
    # refuses would be tried at every run
    guest = chat.connect(visitor_tokens(call))
    assert guest.error("support.open", email=address) == "validation_error"
    channel = guest.ok("support.open", email="vera@example.com")["channel"]
    assert guest.error("visitor.email", channel_id=channel["id"], email=address) == "validation_error"
    assert guest.ok("channel.query", filter={"member": "me"})["channels"][0]["visitor_email"] == "vera@example.com"


def test_a_mail_ses_refuses_is_tried_later_with_backoff_then_given_up(away, run_mailer, svc):
    from types import SimpleNamespace

    from switchboard.chat import followup_mail

    otto, _guest, channel = away
    tries: list[float] = []

    def refuse(params, **_):
        tries.append(time.time())
        return SimpleNamespace(status_code=400), {"Error": {"Code": "MessageRejected", "Message": "no"},
                                                  "ResponseMetadata": {"HTTPStatusCode": 400}}

    svc.mailer.client.meta.events.register("before-call.sesv2.SendEmail", refuse)
    send(otto, channel, "We found it.")
    # the first run tries and fails: the record moves back a minute, so it holds no one's place
    assert run_mailer(125)["failed"] == 1 and len(tries) == 1
    assert run_mailer(150)["due"] == 0  # not due again yet
    assert run_mailer(186)["failed"] == 1 and len(tries) == 2  # after 1 minute
    assert run_mailer(250)["due"] == 0 and run_mailer(307)["failed"] == 1  # then 2 minutes
    # ... and given up after RETRY_ATTEMPTS tries: the record is gone, nothing is tried again
    at = 307.0
    for attempt in range(3, followup_mail.RETRY_ATTEMPTS):
        at += min(60 << (attempt - 1), 3600) + 1
        assert run_mailer(at)["failed"] == 1
    assert len(tries) == followup_mail.RETRY_ATTEMPTS
    assert svc.store.followups.get(channel["id"]) is None
    assert run_mailer(at + 7200)["due"] == 0


@pytest.mark.parametrize("page, opens", [
    # a linkifier would end the link at the quote or bracket and start another at http://evil
    (f'{ORIGIN}/x"http://evil.example/', f"{ORIGIN}/x%22http://evil.example/?resume="),
    (f"{ORIGIN}/x>http://evil.example/", f"{ORIGIN}/x%3Ehttp://evil.example/?resume="),
    (f"{ORIGIN}/a(b)[c]", f"{ORIGIN}/a(b)[c]?resume="),  # reserved characters an address may hold, kept
    (f"{ORIGIN}/x{{y}}|z`", f"{ORIGIN}/x%7By%7D%7Cz%60?resume="),
    (f"{ORIGIN}/z#\u202ehttp://evil.example", f"{ORIGIN}/z?resume="),  # right-to-left override: encoded
    (f"{ORIGIN}/caf\u00e9", f"{ORIGIN}/caf%C3%A9?resume="),
    (f"{ORIGIN}/?%72esume=ATTACKER", f"{ORIGIN}/?resume="),  # an old token's key, however encoded, dropped
])
def test_the_link_in_the_mail_is_one_link_whatever_the_page_address_holds(chat, call, tokens_for, run_mailer,
                                                                          page, opens):
    link = _link_for_page(chat, call, tokens_for, run_mailer, page)
    assert link.startswith(opens), link
    assert link.count("resume=") == 1 and "ATTACKER" not in link
    assert all(0x21 <= ord(c) < 0x7f and c not in '"<>`{}|\\^' for c in link), link


def test_the_mailer_itself_refuses_anything_but_one_plain_address(away, run_mailer, svc):
    # an address stored before addresses were checked as strictly (written here straight to the
    # record): never sent to SES, and given up at once rather than tried for hours
    import boto3

    otto, _guest, channel = away
    boto3.client("dynamodb").update_item(
        TableName=svc.settings.table_name, Key={"pk": {"S": f"CH#{channel['id']}"}, "sk": {"S": "META"}},
        UpdateExpression="SET visitor_email = :e", ExpressionAttributeValues={":e": {"S": "x,y@b.co"}})
    sent: list[str] = []
    svc.mailer.client.meta.events.register("before-call.sesv2.SendEmail", lambda **_: sent.append("x"))
    send(otto, channel, "We found it.")
    assert run_mailer(125)["failed"] == 1
    assert sent == [] and outbox() == []
    assert svc.store.followups.get(channel["id"]) is None


@pytest.mark.parametrize("address", ["x,y@b.co", "Eve<a@evil.com>", "josé@correo.es"])
def test_a_pre_chat_email_field_takes_one_plain_address(chat, call, admin, address):
    fields = [{"id": "mail", "label": "Email", "kind": "email", "required": True}]
    assert call("PATCH /admin/tenant", token=admin, body={"prechat": fields})["status"] == 200
    guest = chat.connect(visitor_tokens(call))
    assert guest.error("support.open", prechat={"mail": address}) == "validation_error"
    assert guest.ok("support.open", prechat={"mail": "vera@example.com"})["channel"]["prechat"] == {
        "mail": "vera@example.com"}


def test_staff_with_an_address_stored_before_the_stricter_check_still_sign_in(call, svc):
    # sign-in only looks an address up: the lax check, so no account stops working
    from tests.conftest import TENANT

    r = call("POST /auth/internal", body={"tenant": TENANT, "email": "admin@localhost", "password": "x" * 12})
    assert r["status"] == 401 and r["json"]["code"] == "invalid_credentials"  # looked up, not refused as malformed


def test_a_batch_mailed_after_failed_tries_leaves_the_next_batch_no_failed_tries(away, svc):
    # a reply that came while a mail finally went out starts a batch of its own: were the earlier
    # failures kept, it would be given up after a single failed try
    otto, _guest, channel = away
    send(otto, channel, "We found it.")
    svc.store.followups.retry_later(channel["id"], due_ms=0, attempts=9)
    assert svc.store.followups.get(channel["id"])["attempts"] == 9
    svc.store.followups.move_on(channel["id"], from_ms=1)
    assert "attempts" not in svc.store.followups.get(channel["id"])
