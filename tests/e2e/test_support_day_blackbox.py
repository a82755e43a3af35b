"""Contract section 8, black-box: a real `switchboard dev` (a subprocess, its HTTP and WebSocket
ports) driven only through its public interface - HTTP with `requests`, WebSockets with the
`websockets` library (tests/ws_client.py, which imports nothing of Switchboard), the outbox's
JSON - walking every frame and endpoint of the support day, each answer held to the contract's
exact shape and error codes.

One stack for the module, with the support day's clocks shortened so the scheduled functions
can be watched at work: ``--schedule-every 1`` (every `Schedule` event of template.yaml runs each
second: the sweep and the follow-up mailer), ``FOLLOWUP_DELAY_SECONDS=4`` (room for a batch of
replies sent one after another on a loaded machine) and
``REASSIGN_AFTER_SECONDS=REASSIGN``. Two tenants: `desk`, where the operators work, and `front`,
whose widget settings (business hours, a required pre-chat form, an email required offline)
are set once by the fixture - so no test depends on another's order. `desk` trusts a website's
token issuer (tests/jwks_server.py: a real JWKS on loopback, the website's side of
`/auth/exchange`). Every test closes the
conversations it opens and puts presence and capacity back, and no test leaves a visitor's
message unanswered for REASSIGN seconds unless it is the sweep's own test."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import TENANT_CACHE_SECONDS, DevStack
from tests.jwks_server import Issuer, jwks_server
from tests.ws_client import ChatClient

pytestmark = pytest.mark.e2e

DESK, FRONT = "desk", "front"
ORIGIN, FRONT_ORIGIN = "https://shop.desk.test", "https://front.desk.test"
SECRET = "desk-identity-secret-0123456789"
ANA = {"email": "ana@desk.test", "password": "ana-desk-horse-battery", "role": "admin", "name": "Ana"}
OTTO = {"email": "otto@desk.test", "password": "otto-desk-horse-battery", "role": "operator", "name": "Otto"}
OLGA = {"email": "olga@desk.test", "password": "olga-desk-horse-battery", "role": "operator", "name": "Olga"}
FRED = {"email": "fred@front.test", "password": "fred-front-horse-battery", "role": "admin", "name": "Fred"}
#: seconds an unanswered chat waits before the sweep moves it (the template's ReassignAfterSeconds)
REASSIGN = 6

CHANNEL_KEYS = {"id", "type", "status", "subject", "members", "assignee", "visitor", "created_at",
                "last_message_at", "name", "assignee_name", "context", "prechat", "visitor_email", "csat"}
STAFF_CHANNEL_KEYS = CHANNEL_KEYS | {"attributes", "attributes_signed", "labels"}
#: the contract's message, and what the project adds (docs/chat-policy.md): ``deleted`` on every
#: message, ``internal: true`` on a note only
MESSAGE_KEYS = {"id", "channel_id", "sender", "text", "attachments", "client_id", "created_at", "deleted"}
TOKEN_KEYS = {"access_token", "token_type", "expires_in", "refresh_token", "chat_token", "user"}
WIDGET_KEYS = {"title", "color", "greeting", "position", "attachments",
               "online", "open_now", "hours", "away_message", "prechat", "email_when_offline", "locales"}
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS = {"time_zone": "Europe/Madrid", "holidays": ["2020-12-25"],
         "weekly": [{"day": d, "from": "00:00", "to": "24:00"} for d in WEEK]}
PRECHAT = [{"id": "name", "label": "Your name", "kind": "text", "required": True},
           {"id": "topic", "label": "Topic", "kind": "select", "required": True, "options": ["Billing", "Orders"]},
           {"id": "details", "label": "Anything else?", "kind": "textarea"}]


# -- the stack and the public calls ---------------------------------------------------------------
#: the website's own token issuer (for /auth/exchange): a real JWKS on loopback, outside the stack
ISSUER: dict[str, Issuer] = {}


def seed(_web_origins: list[str]) -> dict[str, Any]:
    return {"tenants": [
        {"id": DESK, "name": "Desk", "identity_secret": SECRET, "hook_secret": "desk-hook-secret-0123456789abcd",
         "allowed_origins": [ORIGIN], "operators": [ANA, OTTO, OLGA], "trusted_issuers": [ISSUER["shop"].config()]},
        {"id": FRONT, "name": "Front", "identity_secret": "front-identity-secret-0123456789",
         "hook_secret": "front-hook-secret-0123456789abc", "allowed_origins": [FRONT_ORIGIN], "operators": [FRED]},
    ]}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    with jwks_server() as website:
        ISSUER["shop"] = website.issuer("shop")
        s = DevStack(["--no-sso", "--schedule-every", "1", "--env", "FOLLOWUP_DELAY_SECONDS=4",
                      "--env", f"REASSIGN_AFTER_SECONDS={REASSIGN}"],
                     seed_for=seed, seed_dir=tmp_path_factory.mktemp("blackbox-seed"))
        yield from _configured(s)


def _configured(s: DevStack) -> Iterator[DevStack]:
    try:
        fred = sign_in(s, FRED, FRONT)["access_token"]
        r = api(s, "PATCH", "/admin/tenant", {"hours": HOURS, "away_message": "We answer by email.",
                                              "email_when_offline": "required", "prechat": PRECHAT}, token=fred)
        assert r.status_code == 200, r.text
        time.sleep(TENANT_CACHE_SECONDS + 0.2)  # each function's container caches the tenant that long
        yield s
    finally:
        assert s.stop() == 0, s.output[-3000:]


def api(s: DevStack, method: str, path: str, body: Any = None, *, token: str | None = None,
        origin: str | None = None) -> requests.Response:
    headers = {**({"authorization": f"Bearer {token}"} if token else {}), **({"origin": origin} if origin else {})}
    return requests.request(method, s.http + path, json=body, headers=headers, timeout=15)


def problem(r: requests.Response, status: int, code: str) -> None:
    """An RFC 9457 problem with the contract's stable ``code``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    # RFC 9457 lets a problem carry more members (a validation_error lists its `errors`)
    assert set(body) >= PROBLEM_KEYS and (body["status"], body["code"]) == (status, code), body


def sign_in(s: DevStack, who: dict[str, str], tenant: str = DESK) -> dict[str, Any]:
    r = api(s, "POST", "/auth/internal", {"tenant": tenant, "email": who["email"], "password": who["password"]})
    assert r.status_code == 200, r.text
    return dict(r.json())


def visitor(s: DevStack, tenant: str = DESK, origin: str = ORIGIN,
            user: dict[str, Any] | None = None) -> dict[str, Any]:
    r = api(s, "POST", "/auth/external", {"tenant": tenant, **({"user": user} if user else {})}, origin=origin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == TOKEN_KEYS and body["token_type"] == "Bearer"
    return dict(body)


def hmac_hex(message: str) -> str:
    return hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


def canonical(attributes: dict[str, Any]) -> str:
    """The contract's canonical JSON: keys sorted, no spaces (as a website's backend writes it)."""
    return json.dumps(attributes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def connect(s: DevStack, tokens: dict[str, Any], origin: str = ORIGIN) -> ChatClient:
    return await ChatClient.connect(s.ws, tokens["chat_token"], origin)


async def error(client: ChatClient, action: str, **params: Any) -> str:
    """The error code of a refused frame (the reply's shape checked)."""
    reply = await client.request(action, **params)
    assert reply["type"] == "reply" and reply["ok"] is False, reply
    assert set(reply["error"]) - {"details"} == {"code", "message"}, reply  # details: a validation_error's fields
    return str(reply["error"]["code"])


async def closing(*clients: ChatClient) -> None:
    for c in clients:
        await c.close()


def nobody_online(s: DevStack, tenant: str = DESK) -> None:
    """Wait until the tenant's widget says no staff member is online: an earlier test's closed
    sockets reach ``$disconnect`` a moment after they close, and assignment goes to whoever is."""
    deadline = time.monotonic() + 10
    while api(s, "GET", f"/tenants/{tenant}/widget").json()["online"]:
        assert time.monotonic() < deadline, "a staff connection outlived its socket"
        time.sleep(0.1)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def outbox(s: DevStack) -> list[dict[str, Any]]:
    r = requests.get(f"{s.web}/outbox/messages.json", timeout=10)
    assert r.status_code == 200
    return list(r.json())


def user_id(tokens: dict[str, Any]) -> str:
    return str(tokens["user"]["id"])


# -- widget settings (HTTP) ------------------------------------------------------------------------
def test_widget_settings_say_online_hours_prechat_email_when_offline_and_locales(stack):
    nobody_online(stack, FRONT)
    # Given the front tenant's support day, set by its admin (the fixture), and nobody online
    r = api(stack, "GET", f"/tenants/{FRONT}/widget")
    assert r.status_code == 200, r.text
    w = r.json()
    assert set(w) == WIDGET_KEYS
    assert (w["online"], w["open_now"], w["email_when_offline"]) == (False, True, "required")
    assert w["hours"] == HOURS and w["away_message"] == "We answer by email."
    assert w["prechat"] == [{"id": "name", "label": "Your name", "kind": "text", "required": True},
                            {"id": "topic", "label": "Topic", "kind": "select", "required": True,
                             "options": ["Billing", "Orders"]},
                            {"id": "details", "label": "Anything else?", "kind": "textarea", "required": False}]
    assert {"en", "es"} <= set(w["locales"])

    # When an operator connects, the widget says someone is online
    async def online() -> bool:
        fred = await connect(stack, sign_in(stack, FRED, FRONT), FRONT_ORIGIN)
        try:
            return bool(api(stack, "GET", f"/tenants/{FRONT}/widget").json()["online"])
        finally:
            await fred.close()

    assert run(online()) is True
    # A tenant without these settings answers the defaults
    plain = api(stack, "GET", f"/tenants/{DESK}/widget").json()
    assert set(plain) == WIDGET_KEYS
    assert (plain["hours"], plain["away_message"], plain["prechat"], plain["email_when_offline"]) == \
        (None, None, [], "off")
    # A bad setting is a 400 validation_error and changes nothing
    fred = sign_in(stack, FRED, FRONT)["access_token"]
    problem(api(stack, "PATCH", "/admin/tenant", {"email_when_offline": "sometimes"}, token=fred), 400,
            "validation_error")
    problem(api(stack, "PATCH", "/admin/tenant", {"hours": {**HOURS, "time_zone": "Mars/Olympus"}}, token=fred), 400,
            "validation_error")
    nobody_online(stack, FRONT)
    assert api(stack, "GET", f"/tenants/{FRONT}/widget").json() == w


# -- support.open with context, prechat and email; visitor.email; visitor.context -------------------
def test_support_open_checks_the_prechat_form_and_the_offline_email_and_stores_them(stack):
    nobody_online(stack, FRONT)
    context = {"url": f"{FRONT_ORIGIN}/pricing?plan=pro", "title": "Pricing", "referrer": "https://search.test/",
               "locale": "es-419"}
    answers = {"name": "Jo", "topic": "Billing"}

    async def scenario() -> None:
        guest = await connect(stack, visitor(stack, FRONT, FRONT_ORIGIN), FRONT_ORIGIN)
        try:
            # a required field missing, an answer not among the options, an unknown field, a bad
            # context: validation_error, nothing opened
            assert await error(guest, "support.open", context=context, prechat={"name": "Jo"},
                               email="jo@example.test") == "validation_error"
            assert await error(guest, "support.open", context=context, prechat={**answers, "topic": "Other"},
                               email="jo@example.test") == "validation_error"
            assert await error(guest, "support.open", prechat={**answers, "shoe_size": "44"},
                               email="jo@example.test") == "validation_error"
            assert await error(guest, "support.open", context={"url": "javascript:alert(1)"}, prechat=answers,
                               email="jo@example.test") == "validation_error"
            # nobody online and email_when_offline "required": no email, no conversation
            assert await error(guest, "support.open", context=context, prechat=answers) == "validation_error"
            assert (await guest.ok("channel.query", filter={"member": "me"}))["channels"] == []
            # all of it: stored on the channel, in the visitor's own view
            opened = await guest.ok("support.open", subject="Invoice", context=context, prechat=answers,
                                    email="jo@example.test")
            assert set(opened) == {"channel"}
            ch = opened["channel"]
            assert set(ch) == CHANNEL_KEYS and ch["status"] == "queued"
            assert (ch["context"], ch["prechat"], ch["visitor_email"], ch["csat"]) == \
                (context, answers, "jo@example.test", None)
            # visitor.email changes the follow-up address; visitor.context the page
            changed = await guest.ok("visitor.email", channel_id=ch["id"], email="jo@work.test")
            assert set(changed) == {"channel"} and changed["channel"]["visitor_email"] == "jo@work.test"
            moved = {"url": f"{FRONT_ORIGIN}/checkout", "title": "Checkout"}
            assert (await guest.ok("visitor.context", channel_id=ch["id"], context=moved))["channel"]["context"] == \
                moved
            assert await error(guest, "visitor.email", channel_id=ch["id"], email="not an address") == \
                "validation_error"
            # staff see it all
            fred = await connect(stack, sign_in(stack, FRED, FRONT), FRONT_ORIGIN)
            try:
                watched = await fred.ok("channel.watch", channel_id=ch["id"])
                # the contract's {"channel","messages"}, and the project's "cursor" (the older end of the page)
                assert set(watched) == {"channel", "messages", "cursor"}
                staff_view = watched["channel"]
                assert set(staff_view) == STAFF_CHANNEL_KEYS
                assert (staff_view["prechat"], staff_view["visitor_email"]) == (answers, "jo@work.test")
                assert staff_view["context"]["url"] == moved["url"]
                # staff have no permission for the visitor's own actions
                assert await error(fred, "visitor.email", channel_id=ch["id"], email="x@y.test") == "forbidden"
                await fred.ok("channel.close", channel_id=ch["id"])
            finally:
                await fred.close()
            # a closed conversation takes no new address
            assert await error(guest, "visitor.email", channel_id=ch["id"], email="jo@late.test") == "conflict"
        finally:
            await guest.close()

    run(scenario())


def test_visitor_context_reaches_staff_as_channel_updated(stack):
    nobody_online(stack)
    async def scenario() -> None:
        otto = await connect(stack, sign_in(stack, OTTO))
        guest = await connect(stack, visitor(stack))
        try:
            ch = (await guest.ok("support.open", context={"url": f"{ORIGIN}/a", "locale": "en"}))["channel"]
            assert ch["status"] == "open"  # Otto is online
            await otto.ok("channel.watch", channel_id=ch["id"])
            await guest.ok("visitor.context", channel_id=ch["id"], context={"url": f"{ORIGIN}/b", "title": "B"})
            updated = await otto.event("channel.updated", channel__id=ch["id"], channel__context__url=f"{ORIGIN}/b")
            assert set(updated) == {"channel"} and updated["channel"]["context"]["title"] == "B"
            await otto.ok("channel.close", channel_id=ch["id"])
        finally:
            await closing(guest, otto)

    run(scenario())


# -- attributes via identify --------------------------------------------------------------------------
def test_signed_and_unsigned_attributes_are_shown_to_staff_apart_and_never_to_the_visitor(stack):
    nobody_online(stack)
    attrs = {"plan": "gold", "orders": 12, "account": "https://shop.desk.test/admin/c/42", "vip": True}
    signed = {"id": "customer-42", "name": "Jo", "hash": hmac_hex("customer-42"), "attributes": attrs,
              "attributes_hash": hmac_hex("customer-42\n" + canonical(attrs))}
    unsigned = {"id": "customer-43", "name": "Max", "hash": hmac_hex("customer-43"), "attributes": {"plan": "free"}}
    # a wrong attributes_hash refuses the sign-in
    tampered = {**signed, "attributes": {**attrs, "plan": "platinum"}}
    problem(api(stack, "POST", "/auth/external", {"tenant": DESK, "user": tampered}, origin=ORIGIN), 401,
            "invalid_identity")
    # more than 4 KB, or not flat: validation_error
    problem(api(stack, "POST", "/auth/external",
                {"tenant": DESK, "user": {**unsigned, "attributes": {"big": "x" * 5000}}}, origin=ORIGIN), 400,
            "validation_error")
    problem(api(stack, "POST", "/auth/external",
                {"tenant": DESK, "user": {**unsigned, "attributes": {"nested": {"a": 1}}}}, origin=ORIGIN), 400,
            "validation_error")

    async def scenario() -> None:
        otto = await connect(stack, sign_in(stack, OTTO))
        jo = await connect(stack, visitor(stack, user=signed))
        mx = await connect(stack, visitor(stack, user=unsigned))
        try:
            jo_ch = (await jo.ok("support.open"))["channel"]
            mx_ch = (await mx.ok("support.open"))["channel"]
            # the visitor's own view has neither attributes nor their signing
            for ch in (jo_ch, mx_ch):
                assert set(ch) == CHANNEL_KEYS
            jo_staff = (await otto.ok("channel.watch", channel_id=jo_ch["id"]))["channel"]
            mx_staff = (await otto.ok("channel.watch", channel_id=mx_ch["id"]))["channel"]
            assert (jo_staff["attributes"], jo_staff["attributes_signed"]) == (attrs, True)
            assert (mx_staff["attributes"], mx_staff["attributes_signed"]) == ({"plan": "free"}, False)
            assert "gold" not in json.dumps(jo.seen) and "gold" not in json.dumps(mx.seen)
            for ch in (jo_ch, mx_ch):
                await otto.ok("channel.close", channel_id=ch["id"])
        finally:
            await closing(jo, mx, otto)

    run(scenario())


def test_attributes_by_token_exchange_are_signed_in_the_token_and_unsigned_in_the_body(stack):
    nobody_online(stack)
    shop = ISSUER["shop"]
    jwt_type = "urn:ietf:params:oauth:token-type:jwt"
    attrs = {"plan": "gold", "orders": 3}

    def exchange(body: dict[str, Any]) -> requests.Response:
        return api(stack, "POST", "/auth/exchange", {"tenant": DESK, "subject_token_type": jwt_type, **body},
                   origin=ORIGIN)

    # the website's token carries them (covered by its signature) - or the body does (not covered)
    signed = exchange({"subject_token": shop.token(sub="shopper-1", attributes=attrs)})
    unsigned = exchange({"subject_token": shop.token(sub="shopper-2"), "user": {"attributes": {"plan": "free"}}})
    assert signed.status_code == unsigned.status_code == 200, (signed.text, unsigned.text)
    assert set(signed.json()) == TOKEN_KEYS and signed.json()["user"]["level"] == 1
    # both at once: 400; a token the issuer did not sign: 401
    problem(exchange({"subject_token": shop.token(sub="shopper-3", attributes=attrs),
                      "user": {"attributes": {"plan": "free"}}}), 400, "validation_error")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # not the shop's key
    problem(exchange({"subject_token": shop.token(sub="shopper-4", attributes=attrs, key=stranger)}), 401,
            "invalid_identity")

    async def scenario() -> None:
        otto = await connect(stack, sign_in(stack, OTTO))
        one = await connect(stack, signed.json())
        two = await connect(stack, unsigned.json())
        try:
            chans = [(await v.ok("support.open"))["channel"] for v in (one, two)]
            views = [(await otto.ok("channel.watch", channel_id=c["id"]))["channel"] for c in chans]
            assert [(v["attributes"], v["attributes_signed"]) for v in views] == \
                [(attrs, True), ({"plan": "free"}, False)]
            assert all(set(c) == CHANNEL_KEYS for c in chans)  # the visitor's own view: neither
            for c in chans:
                await otto.ok("channel.close", channel_id=c["id"])
        finally:
            await closing(one, two, otto)

    run(scenario())


# -- presence and capacity -----------------------------------------------------------------------------
def test_away_operators_get_no_new_chats_and_max_chats_caps_assignment(stack):
    nobody_online(stack)
    ana = sign_in(stack, ANA)["access_token"]
    otto_tokens = sign_in(stack, OTTO)
    otto_id = user_id(otto_tokens)

    async def scenario() -> None:
        otto = await connect(stack, otto_tokens)
        guests: list[ChatClient] = []
        opened: list[dict[str, Any]] = []
        try:
            # away: a new chat is not his
            assert await otto.ok("presence.set", status="away") == {"status": "away"}
            assert await error(otto, "presence.set", status="busy") == "validation_error"
            guests.append(await connect(stack, visitor(stack)))
            opened.append((await guests[-1].ok("support.open"))["channel"])
            assert (opened[-1]["status"], opened[-1]["assignee"]) == ("queued", None)
            # and to visitors nobody is online: the widget goes offline (asks for an email)
            assert api(stack, "GET", f"/tenants/{DESK}/widget").json()["online"] is False
            # a visitor has no presence
            assert await error(guests[-1], "presence.set", status="online") == "forbidden"
            # online again, with a cap of 1: the first new chat is his, the next one queues
            assert await otto.ok("presence.set", status="online") == {"status": "online"}
            # (the queued chat from before is there for anyone to claim: he does, and closes it)
            claimed = await otto.ok("channel.assign", channel_id=opened[0]["id"])
            assert (claimed["channel"]["status"], claimed["channel"]["assignee"]) == ("open", otto_id)
            await otto.ok("channel.close", channel_id=opened[0]["id"])
            r = api(stack, "PATCH", f"/admin/operators/{otto_id}", {"max_chats": 1}, token=ana)
            assert r.status_code == 200, r.text
            for _ in range(2):
                guests.append(await connect(stack, visitor(stack)))
                opened.append((await guests[-1].ok("support.open"))["channel"])
            assert [(c["status"], c["assignee"]) for c in opened[1:]] == [("open", otto_id), ("queued", None)]
            # an admin cannot push him past it either
            admin = await connect(stack, sign_in(stack, ANA))
            try:
                assert await error(admin, "channel.assign", channel_id=opened[2]["id"], operator_id=otto_id) == \
                    "conflict"
                for ch in opened[1:]:
                    await admin.ok("channel.close", channel_id=ch["id"])
            finally:
                await admin.close()
            for bad in (0, 51, "ten"):
                problem(api(stack, "PATCH", f"/admin/operators/{otto_id}", {"max_chats": bad}, token=ana), 400,
                        "validation_error")
            problem(api(stack, "PATCH", f"/admin/operators/{otto_id}", {"max_chats": 5},
                        token=otto_tokens["access_token"]), 403, "forbidden")
        finally:
            await otto.ok("presence.set", status="online")
            api(stack, "PATCH", f"/admin/operators/{otto_id}", {"max_chats": 50}, token=ana)
            await closing(*guests, otto)

    run(scenario())


# -- transfer with a note; private notes never reach the visitor -----------------------------------------
def test_a_handover_with_a_note_reaches_both_operators_and_notes_never_reach_the_visitor(stack):
    nobody_online(stack)
    otto_tokens, olga_tokens = sign_in(stack, OTTO), sign_in(stack, OLGA)
    olga_id = user_id(olga_tokens)
    secret_note = "note-never-for-the-visitor-7d1"

    async def scenario() -> None:
        otto = await connect(stack, otto_tokens)
        guest = await connect(stack, visitor(stack))
        olga = None
        try:
            ch = (await guest.ok("support.open"))["channel"]
            assert ch["assignee"] == user_id(otto_tokens)  # the only one online
            await guest.ok("channel.watch", channel_id=ch["id"])
            olga = await connect(stack, olga_tokens)
            await otto.ok("channel.watch", channel_id=ch["id"])
            hello = await guest.ok("message.send", channel_id=ch["id"], text="Hello?", client_id="g-1")
            assert set(hello) == {"message"} and set(hello["message"]) == MESSAGE_KEYS
            # a private note, and a reply
            note = (await otto.ok("message.send", channel_id=ch["id"], text=secret_note, client_id="o-n",
                                  internal=True))["message"]
            assert note["internal"] is True and set(note) == MESSAGE_KEYS | {"internal"}
            reply = (await otto.ok("message.send", channel_id=ch["id"], text="Hi, one moment", client_id="o-1"))
            assert "internal" not in reply["message"]
            # a visitor cannot write one
            assert await error(guest, "message.send", channel_id=ch["id"], text="x", client_id="g-n",
                               internal=True) == "forbidden"
            # a note without a handover is refused; a handover to someone away is a conflict
            assert await error(otto, "channel.assign", channel_id=ch["id"], note="hm") == "validation_error"
            await olga.ok("presence.set", status="away")
            assert await error(otto, "channel.assign", channel_id=ch["id"], operator_id=olga_id,
                               note="VIP customer") == "conflict"
            await olga.ok("presence.set", status="online")
            # the handover: both hear of it at once, the note kept as a private note
            handed = await otto.ok("channel.assign", channel_id=ch["id"], operator_id=olga_id,
                                   note="Refund asked - VIP customer")
            assert set(handed) == {"channel"} and handed["channel"]["assignee"] == olga_id
            got = await olga.event("channel.updated", channel__id=ch["id"], channel__assignee=olga_id)
            assert set(got["channel"]) == STAFF_CHANNEL_KEYS
            watched = await olga.ok("channel.watch", channel_id=ch["id"])
            texts = {m["text"]: m.get("internal", False) for m in watched["messages"]}
            assert texts == {"Hello?": False, secret_note: True, "Hi, one moment": False,
                             "Refund asked - VIP customer": True}
            await olga.ok("message.send", channel_id=ch["id"], text="Olga here", client_id="l-1")
            # the visitor: the replies live and in history, never a note
            await guest.event("message.new", message__text="Olga here")
            history = await guest.ok("channel.history", channel_id=ch["id"])
            assert [m["text"] for m in history["messages"]] == ["Hello?", "Hi, one moment", "Olga here"]
            rewatch = await guest.ok("channel.watch", channel_id=ch["id"])
            assert secret_note not in json.dumps(rewatch)
            await olga.ok("channel.close", channel_id=ch["id"])
            assert secret_note not in json.dumps(guest.seen) and "VIP customer" not in json.dumps(guest.seen)
        finally:
            await closing(guest, otto, *([olga] if olga else []))

    run(scenario())


# -- canned replies (HTTP) ------------------------------------------------------------------------------
def test_admins_manage_canned_replies_and_staff_read_them(stack):
    ana, otto = sign_in(stack, ANA)["access_token"], sign_in(stack, OTTO)["access_token"]
    body = {"title": "Refund policy", "text": "Hi {visitor.name}, refunds take 5 days. {operator.name}",
            "shortcut": "refund"}
    r = api(stack, "POST", "/admin/canned", body, token=ana)
    assert r.status_code == 201, r.text
    made = r.json()
    assert set(made) == {"canned"} and {k: made["canned"][k] for k in body} == body
    cid = made["canned"]["id"]
    try:
        listed = api(stack, "GET", "/canned", token=otto)
        assert listed.status_code == 200 and set(listed.json()) == {"canned"}
        assert [c["shortcut"] for c in listed.json()["canned"]] == ["refund"]
        # a taken shortcut, a bad one, an operator managing, a visitor reading
        problem(api(stack, "POST", "/admin/canned", {**body, "title": "Again"}, token=ana), 409, "conflict")
        problem(api(stack, "POST", "/admin/canned", {**body, "shortcut": "Has Spaces"}, token=ana), 400,
                "validation_error")
        problem(api(stack, "POST", "/admin/canned", {**body, "shortcut": "mine"}, token=otto), 403, "forbidden")
        problem(api(stack, "GET", "/canned", token=visitor(stack)["access_token"]), 403, "forbidden")
        problem(api(stack, "GET", "/canned"), 401, "invalid_token")
        changed = api(stack, "PATCH", f"/admin/canned/{cid}", {"shortcut": "refunds"}, token=ana)
        assert changed.status_code == 200 and changed.json()["canned"]["shortcut"] == "refunds"
        assert [c["shortcut"] for c in api(stack, "GET", "/canned", token=otto).json()["canned"]] == ["refunds"]
    finally:
        gone = api(stack, "DELETE", f"/admin/canned/{cid}", token=ana)
    assert gone.status_code == 200 and gone.json() == {"removed": cid}
    assert api(stack, "GET", "/canned", token=otto).json() == {"canned": []}
    problem(api(stack, "DELETE", f"/admin/canned/{cid}", token=ana), 404, "not_found")


# -- labels, inbox filters, closed conversations paginated ---------------------------------------------
def test_labels_filter_the_inbox_and_closed_conversations_are_read_page_by_page(stack):
    nobody_online(stack)
    otto_tokens = sign_in(stack, OTTO)
    otto_id = user_id(otto_tokens)

    async def pages(client: ChatClient, action: str, key: str, **params: Any) -> list[list[str]]:
        out, cursor = [], None
        while True:
            data = await client.ok(action, limit=2, **params, **({"cursor": cursor} if cursor else {}))
            assert set(data) == {key, "cursor"}
            out.append([c.get("text") or c["id"] for c in data[key]])
            cursor = data["cursor"]
            if cursor is None:
                return out

    async def scenario() -> None:
        otto = await connect(stack, otto_tokens)
        guests = [await connect(stack, visitor(stack)) for _ in range(3)]
        admin = None
        try:
            chans = [(await g.ok("support.open"))["channel"] for g in guests]
            assert {c["assignee"] for c in chans} == {otto_id}  # the one online
            admin = await connect(stack, sign_in(stack, ANA))
            labelled = await otto.ok("channel.label", channel_id=chans[0]["id"], add=["  VIP   Customer ", "Refund"])
            assert set(labelled) == {"channel"} and labelled["channel"]["labels"] == ["vip customer", "refund"]
            assert (await otto.ok("channel.label", channel_id=chans[0]["id"], remove=["REFUND"]))["channel"][
                "labels"] == ["vip customer"]
            await otto.ok("channel.label", channel_id=chans[2]["id"], add=["vip customer"])
            assert await error(guests[0], "channel.label", channel_id=chans[0]["id"], add=["x"]) == "forbidden"
            assert await error(otto, "channel.label", channel_id=chans[0]["id"], add=["x" * 33]) == "validation_error"
            assert await error(otto, "channel.label", channel_id=chans[0]["id"]) == "validation_error"
            # the visitor's own views never show labels
            own = await guests[0].ok("channel.watch", channel_id=chans[0]["id"])
            assert "labels" not in own["channel"] and "vip customer" not in json.dumps(guests[0].seen)
            # filters: label, visitor, assignee (newest first, a page of 2 at a time)
            assert await pages(admin, "channel.query", "channels", filter={"label": "VIP Customer"}) == \
                [[chans[2]["id"], chans[0]["id"]]]
            assert await pages(admin, "channel.query", "channels", filter={"visitor": chans[1]["visitor"]}) == \
                [[chans[1]["id"]]]
            mine = [i for page in await pages(admin, "channel.query", "channels", filter={"assignee": otto_id})
                    for i in page]
            assert mine[:3] == [c["id"] for c in reversed(chans)]
            # a conversation of five messages, closed, read by an admin two at a time, oldest first in a page
            for i in range(5):
                who = guests[1] if i % 2 == 0 else otto
                await who.ok("message.send", channel_id=chans[1]["id"], text=f"m{i}", client_id=f"c-{i}")
            for ch in chans:
                await otto.ok("channel.close", channel_id=ch["id"])
            closed = [i for page in await pages(admin, "channel.query", "channels", filter={"status": "closed"})
                      for i in page]
            assert {c["id"] for c in chans} <= set(closed)
            history: list[list[str]] = []
            before = None
            while True:
                page = await admin.ok("channel.history", channel_id=chans[1]["id"], limit=2,
                                      **({"before": before} if before else {}))
                assert set(page) == {"messages", "cursor"}
                history.append([m["text"] for m in page["messages"]])
                if page["cursor"] is None:
                    break
                before = page["cursor"]
            assert history == [["m3", "m4"], ["m1", "m2"], ["m0"]]
            # a visitor's staff-only filters are refused: they list nobody else's conversations
            for query in ({"visitor": chans[0]["visitor"]}, {"label": "vip customer"}, {"status": "closed"}):
                assert await error(guests[1], "channel.query", filter=query) == "forbidden"
        finally:
            await closing(*guests, otto, *([admin] if admin else []))

    run(scenario())


# -- CSAT ---------------------------------------------------------------------------------------------
def test_the_visitor_rates_a_closed_conversation_once_and_staff_hear_of_it(stack):
    nobody_online(stack)
    async def scenario() -> None:
        otto = await connect(stack, sign_in(stack, OTTO))
        guest = await connect(stack, visitor(stack))
        try:
            ch = (await guest.ok("support.open"))["channel"]
            await otto.ok("channel.watch", channel_id=ch["id"])
            assert await error(guest, "channel.rate", channel_id=ch["id"], score=5) == "conflict"  # still open
            await otto.ok("channel.close", channel_id=ch["id"])
            for bad in (0, 6):
                assert await error(guest, "channel.rate", channel_id=ch["id"], score=bad) == "validation_error"
            assert await error(otto, "channel.rate", channel_id=ch["id"], score=1) == "forbidden"
            rated = await guest.ok("channel.rate", channel_id=ch["id"], score=4, comment="Quick, thanks")
            assert set(rated) == {"channel"}
            csat = rated["channel"]["csat"]
            assert set(csat) == {"score", "comment", "at"} and (csat["score"], csat["comment"]) == (4, "Quick, thanks")
            heard = await otto.event("channel.updated", channel__id=ch["id"], channel__csat__score=4)
            assert heard["channel"]["csat"] == csat
            assert await error(guest, "channel.rate", channel_id=ch["id"], score=1) == "conflict"  # once
        finally:
            await closing(guest, otto)

    run(scenario())


# -- follow-up mail and /auth/resume ---------------------------------------------------------------------
def test_a_reply_to_a_visitor_who_left_is_mailed_once_and_its_link_signs_them_back_in_once(stack):
    nobody_online(stack)
    address = f"jo-{time.time_ns()}@example.test"
    guest_tokens = visitor(stack)

    async def reply_while_away() -> str:
        otto = await connect(stack, sign_in(stack, OTTO))
        guest = await connect(stack, guest_tokens)
        try:
            ch = (await guest.ok("support.open", email=address, context={"url": f"{ORIGIN}/orders/7"}))["channel"]
            await guest.close()  # the visitor leaves the page
            await asyncio.sleep(0.3)
            await otto.ok("message.send", channel_id=ch["id"], text="Your parcel left today.", client_id="o-1")
            await otto.ok("message.send", channel_id=ch["id"], text="courier-internal-ref-991", client_id="o-n",
                          internal=True)
            await otto.ok("message.send", channel_id=ch["id"], text="Tracking: ZX-42.", client_id="o-2")
            return str(ch["id"])
        finally:
            await otto.close()

    channel_id = run(reply_while_away())
    # the mailer (every second here) sends one mail for the two replies, never the note
    deadline, mails = time.monotonic() + 20, []
    while time.monotonic() < deadline and not mails:
        time.sleep(0.5)
        mails = [m for m in outbox(stack) if m["to"] == address]
    assert len(mails) == 1, mails
    mail = mails[0]
    assert set(mail) == {"to", "subject", "text", "sent_at"}
    assert "Your parcel left today." in mail["text"] and "Tracking: ZX-42." in mail["text"]
    assert "courier-internal-ref-991" not in mail["text"]
    # the link opens the page the visitor was on (its origin is the tenant's), the secret in ?resume=
    link = re.search(r"(https?://[^/\s?#]+)(/[^\s?#]*)?\?(?:[^\s#]*&)?resume=([0-9a-f]{16}\.[A-Za-z0-9_-]+)",
                     mail["text"])
    assert link and link.group(1) == ORIGIN and link.group(2) == "/orders/7", mail["text"]
    token = link.group(3)
    time.sleep(2.5)
    assert len([m for m in outbox(stack) if m["to"] == address]) == 1  # batched: one mail, not one per reply
    # a page on another origin cannot spend it (and leaves it whole), nor a wrong secret
    problem(api(stack, "POST", "/auth/resume", {"tenant": DESK, "token": token}, origin="https://evil.test"), 403,
            "forbidden")
    problem(api(stack, "POST", "/auth/resume", {"tenant": DESK, "token": token[:17] + "A" * 43}, origin=ORIGIN), 401,
            "invalid_identity")
    problem(api(stack, "POST", "/auth/resume", {"tenant": DESK, "token": "nope"}, origin=ORIGIN), 400,
            "validation_error")
    # the link signs the same visitor back in, once
    r = api(stack, "POST", "/auth/resume", {"tenant": DESK, "token": token}, origin=ORIGIN)
    assert r.status_code == 200, r.text
    back = r.json()
    assert set(back) == TOKEN_KEYS and user_id(back) == user_id(guest_tokens)
    problem(api(stack, "POST", "/auth/resume", {"tenant": DESK, "token": token}, origin=ORIGIN), 401,
            "invalid_identity")

    async def resumed() -> None:
        guest = await connect(stack, back)
        try:
            watched = await guest.ok("channel.watch", channel_id=channel_id)
            assert [m["text"] for m in watched["messages"]] == ["Your parcel left today.", "Tracking: ZX-42."]
            admin = await connect(stack, sign_in(stack, ANA))
            try:
                await admin.ok("channel.close", channel_id=channel_id)
            finally:
                await admin.close()
        finally:
            await guest.close()

    run(resumed())


# -- the sweep ------------------------------------------------------------------------------------------
def test_the_sweep_hands_an_unanswered_chat_to_the_next_operator(stack):
    nobody_online(stack)
    otto_tokens, olga_tokens = sign_in(stack, OTTO), sign_in(stack, OLGA)
    otto_id, olga_id = user_id(otto_tokens), user_id(olga_tokens)

    async def scenario() -> None:
        otto = await connect(stack, otto_tokens)
        guest = await connect(stack, visitor(stack))
        olga = None
        try:
            ch = (await guest.ok("support.open"))["channel"]
            assert ch["assignee"] == otto_id
            await guest.ok("channel.watch", channel_id=ch["id"])
            olga = await connect(stack, olga_tokens)
            started = time.monotonic()
            await guest.ok("message.send", channel_id=ch["id"], text="Anyone there?", client_id="g-1")
            # Otto does not answer: after REASSIGN seconds the scheduled sweep gives it to Olga,
            # and both operators hear of it
            moved = await olga.event("channel.updated", timeout=REASSIGN + 15, channel__id=ch["id"],
                                     channel__assignee=olga_id)
            assert time.monotonic() - started >= REASSIGN - 1
            assert moved["channel"]["status"] == "open"
            await otto.event("channel.updated", channel__id=ch["id"], channel__assignee=olga_id)
            # nothing lost: the message is there for Olga
            assert [m["text"] for m in (await olga.ok("channel.watch", channel_id=ch["id"]))["messages"]] == \
                ["Anyone there?"]
            await olga.ok("message.send", channel_id=ch["id"], text="Olga here", client_id="l-1")
            await olga.ok("channel.close", channel_id=ch["id"])
        finally:
            await closing(guest, otto, *([olga] if olga else []))

    run(scenario())
    assert "SupportSweepFunction" in stack.output
