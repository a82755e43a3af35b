"""POST /auth/external - website visitors (contract section 3)."""

from __future__ import annotations

import hashlib
import re

import pytest
from switchboard.auth.identity import visitor_hash

from tests.conftest import IDENTITY_SECRET, ORIGIN, TENANT


def test_anonymous_visitor_gets_level_0_tokens(call, seeded, svc):
    # When a visitor signs in with no identity
    r = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": ORIGIN})
    # Then they are an anonymous level-0 visitor with chat scopes only
    assert r["status"] == 200, r
    body = r["json"]
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "chat_token", "user"}
    assert body["user"]["anonymous"] is True and body["user"]["level"] == 0 and body["user"]["role"] == "visitor"
    claims = svc.tokens.verify_access(body["access_token"])
    assert claims.scopes == {"chat:read", "chat:write"} and claims.anon is True and claims.lvl == 0
    assert body["user"]["id"].startswith("anon-")
    # And the browser may read the answer (CORS for the allowed origin)
    assert r["headers"]["Access-Control-Allow-Origin"] == ORIGIN


def test_identified_visitor_with_valid_hash_is_level_1(call, seeded, svc):
    # Given the website's backend computed the HMAC of its user id
    user = {"id": "Customer|42", "name": "Jo", "email": "jo@example.com",
            "hash": visitor_hash(IDENTITY_SECRET, "Customer|42")}
    # When the visitor signs in with it
    r = call("POST /auth/external", body={"tenant": TENANT, "user": user})
    # Then they are a known level-1 visitor with a stable chat-safe id
    assert r["status"] == 200, r
    expected = "vh-customer42-" + hashlib.sha256(b"Customer|42").hexdigest()[:32]
    assert r["json"]["user"] == {"id": expected, "role": "visitor", "level": 1, "anonymous": False, "name": "Jo"}
    chat = svc.tokens.verify_chat(r["json"]["chat_token"])
    assert chat.sub == expected and chat.lvl == 1
    # and the tenant allows visitor attachments, so level 1 gets chat:attach
    assert "chat:attach" in chat.scopes


@pytest.mark.parametrize("bad_hash", [None, "", "00" * 32, visitor_hash("another-secret", "Customer|42"),
                                      visitor_hash(IDENTITY_SECRET, "Customer|43"),
                                      # the right hash, cut short or with more after it
                                      visitor_hash(IDENTITY_SECRET, "Customer|42")[:16],
                                      visitor_hash(IDENTITY_SECRET, "Customer|42")[:63],
                                      visitor_hash(IDENTITY_SECRET, "Customer|42") + "00"])
def test_claimed_identity_without_valid_hash_is_refused(call, seeded, bad_hash):
    # Given a visitor claiming to be a known user with a missing or wrong hash
    user = {"id": "Customer|42"}
    if bad_hash is not None:
        user["hash"] = bad_hash
    # When they sign in
    r = call("POST /auth/external", body={"tenant": TENANT, "user": user})
    # Then they are refused outright: no half-trusted visitor
    assert r["status"] == 401
    assert r["json"]["code"] == "invalid_identity"
    assert "access_token" not in r["json"]


@pytest.mark.parametrize("origin", ["https://evil.test", ORIGIN + ".evil.test", ORIGIN + ":8443",
                                    ORIGIN.replace("https://", "http://"), ORIGIN[:-1]])
def test_origin_not_allowed_for_tenant_is_forbidden(call, seeded, origin):
    # an origin is allowed only as listed: not one that starts like it, on another port or scheme
    r = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": origin})
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in r["headers"]


def test_another_tenants_origin_is_forbidden(call, seeded):
    # globex's site may not sign visitors into acme
    r = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": "https://globex.test"})
    assert r["status"] == 403


def test_unknown_tenant_is_not_found(call, seeded):
    r = call("POST /auth/external", body={"tenant": "nope"})
    assert r["status"] == 404 and r["json"]["code"] == "not_found"


def test_failed_identity_is_audited_without_secrets(call, seeded, svc):
    call("POST /auth/external", body={"tenant": TENANT, "user": {"id": "42", "hash": "ab" * 32}})
    events, _ = svc.store.events.page(TENANT, limit=10)
    failed = [e for e in events if e.kind == "sign_in_failed"]
    assert failed and failed[0].detail == {"reason": "invalid_identity"}
    assert "ab" * 32 not in repr(failed[0])


# -- identifying later: the anonymous visitor becomes the known one, with their conversation ----------
def _identified_body(user_id: str = "customer-42") -> dict:
    from switchboard.auth.identity import visitor_hash

    return {"tenant": TENANT, "user": {"id": user_id, "name": "Jo", "hash": visitor_hash(IDENTITY_SECRET, user_id)}}


def test_identifying_later_keeps_the_open_conversation(call, seeded, svc, template):
    from tests.chat_support import Chat

    chat = Chat(template)
    # Given an anonymous visitor who opened a conversation and wrote in it
    anon = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": ORIGIN})["json"]
    guest = chat.connect(anon)
    channel = guest.ok("support.open")["channel"]
    guest.ok("message.send", channel_id=channel["id"], text="my order is late", client_id="c1")
    # When the website identifies them, presenting the anonymous session's access token
    r = call("POST /auth/external", body=_identified_body(), headers={"origin": ORIGIN}, token=anon["access_token"])
    assert r["status"] == 200, r
    known = r["json"]
    assert known["user"]["id"] == "v-customer-42" and known["user"]["level"] == 1
    # Then the known visitor has the same conversation, with its history
    me = chat.connect(known)
    resumed = me.ok("support.open")["channel"]
    assert resumed["id"] == channel["id"] and resumed["visitor"] == "v-customer-42"
    assert anon["user"]["id"] not in resumed["members"]
    assert [m["text"] for m in me.ok("channel.history", channel_id=channel["id"])["messages"]] == ["my order is late"]
    # And the anonymous id's channel list no longer holds it (its membership moved, not copied)
    assert svc.store.channels.query(TENANT, member=anon["user"]["id"], limit=10, cursor=None) == ([], False)
    # And the anonymous session is over: it can neither call the API nor read the channel any more
    assert call("GET /auth/me", token=anon["access_token"])["json"]["code"] == "session_revoked"
    assert call("POST /auth/refresh", body={"refresh_token": anon["refresh_token"]})["status"] == 401


def test_an_identified_visitors_token_cannot_hand_their_conversation_to_someone_else(call, seeded, svc, template):
    from tests.chat_support import Chat

    chat = Chat(template)
    # Given a known visitor with an open conversation
    jo = call("POST /auth/external", body=_identified_body("jo"), headers={"origin": ORIGIN})["json"]
    channel = chat.connect(jo).ok("support.open")["channel"]
    # When a sign-in as another known visitor presents Jo's token
    r = call("POST /auth/external", body=_identified_body("mallory"), headers={"origin": ORIGIN},
             token=jo["access_token"])
    # Then Mallory is signed in as herself, and Jo keeps both conversation and session
    assert r["status"] == 200 and r["json"]["user"]["id"] == "v-mallory"
    assert svc.store.channels.get(channel["id"]).visitor == "v-jo"
    assert call("GET /auth/me", token=jo["access_token"])["status"] == 200


def test_an_upgrade_with_a_wrong_hash_changes_nothing(call, seeded, svc, template):
    from tests.chat_support import Chat

    anon = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": ORIGIN})["json"]
    channel = Chat(template).connect(anon).ok("support.open")["channel"]
    body = _identified_body()
    body["user"]["hash"] = "0" * 64
    r = call("POST /auth/external", body=body, headers={"origin": ORIGIN}, token=anon["access_token"])
    assert r["status"] == 401 and r["json"]["code"] == "invalid_identity"
    assert svc.store.channels.get(channel["id"]).visitor == anon["user"]["id"]
    assert call("GET /auth/me", token=anon["access_token"])["status"] == 200


def test_a_refused_identified_sign_in_hands_nothing_over(call, seeded, svc, template, monkeypatch):
    from switchboard.auth import postlogin
    from switchboard.errors import Forbidden

    from tests.chat_support import Chat

    # Given an anonymous visitor with an open conversation
    anon = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": ORIGIN})["json"]
    channel = Chat(template).connect(anon).ok("support.open")["channel"]
    # And post-login rules that refuse the known visitor they are about to become
    original = postlogin.run

    def deny_known(tenant, principal, *, namespace):
        if not principal.anon:
            raise Forbidden("sign-in denied by the tenant's post-login rules")
        return original(tenant, principal, namespace=namespace)

    monkeypatch.setattr(postlogin, "run", deny_known)
    # When the website identifies them
    r = call("POST /auth/external", body=_identified_body(), headers={"origin": ORIGIN}, token=anon["access_token"])
    # Then the answer is 403 and nothing changed: the conversation and the anonymous session are theirs
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"
    assert svc.store.channels.get(channel["id"]).visitor == anon["user"]["id"]
    assert call("GET /auth/me", token=anon["access_token"])["status"] == 200


def test_a_known_visitors_own_conversation_stays_theirs_and_the_anonymous_one_stays_too(call, seeded, svc,
                                                                                       template):
    from tests.chat_support import Chat

    chat = Chat(template)
    # Given a known visitor with an open conversation of their own
    known = call("POST /auth/external", body=_identified_body(), headers={"origin": ORIGIN})["json"]
    theirs = chat.connect(known).ok("support.open")["channel"]
    # And an anonymous visitor with another one
    anon = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": ORIGIN})["json"]
    anonymous = chat.connect(anon).ok("support.open")["channel"]
    # When the website identifies the anonymous visitor as that known one
    r = call("POST /auth/external", body=_identified_body(), headers={"origin": ORIGIN}, token=anon["access_token"])
    # Then the sign-in succeeds, but nothing is handed over: each conversation stays with its visitor,
    # and the anonymous session, which still holds one, goes on
    assert r["status"] == 200 and r["json"]["user"]["id"] == known["user"]["id"], r
    assert svc.store.channels.get(theirs["id"]).visitor == known["user"]["id"]
    assert svc.store.channels.get(anonymous["id"]).visitor == anon["user"]["id"]
    assert call("GET /auth/me", token=anon["access_token"])["status"] == 200


def test_an_anonymous_sign_in_takes_nothing_from_the_token_it_presents(call, seeded, svc, template):
    from tests.chat_support import Chat

    # Given an anonymous visitor with an open conversation
    first = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": ORIGIN})["json"]
    channel = Chat(template).connect(first).ok("support.open")["channel"]
    # When another anonymous sign-in presents that visitor's access token
    r = call("POST /auth/external", body={"tenant": TENANT}, headers={"origin": ORIGIN}, token=first["access_token"])
    # Then it is a new anonymous visitor, and the first keeps their conversation and their session
    assert r["status"] == 200 and r["json"]["user"]["id"] != first["user"]["id"], r
    assert svc.store.channels.get(channel["id"]).visitor == first["user"]["id"]
    assert call("GET /auth/me", token=first["access_token"])["status"] == 200
    # And so does the layer itself, given that header for an anonymous sign-in
    from switchboard.auth import visitors

    other = visitors.external(svc, tenant_id=TENANT, visitor=None, origin=ORIGIN, device=None,
                              upgrading=f"Bearer {first['access_token']}")
    assert other.session.user_id != first["user"]["id"]
    assert svc.store.channels.get(channel["id"]).visitor == first["user"]["id"]
    assert call("GET /auth/me", token=first["access_token"])["status"] == 200


def test_a_hand_over_from_a_user_who_is_not_the_channels_visitor_changes_nothing(call, seeded, svc, template):
    from switchboard.errors import Conflict

    from tests.chat_support import Chat

    # Given Jo's open conversation, as read before it changed hands (a stale read)
    jo = call("POST /auth/external", body=_identified_body("jo"), headers={"origin": ORIGIN})["json"]
    channel = svc.store.channels.get(Chat(template).connect(jo).ok("support.open")["channel"]["id"])
    # When a hand-over of it is attempted from someone who is not its visitor
    with pytest.raises(Conflict):
        svc.store.channels.hand_over(channel, from_user="anon-0123456789abcdef01234567", to_user="v-mallory")
    # Then it is refused in the same write: the conversation is still Jo's, and nobody else's
    assert svc.store.channels.get(channel.id).visitor == "v-jo"
    assert svc.store.channels.open_support_id(TENANT, "v-mallory") is None


def test_failed_hashes_in_a_customers_name_never_lock_the_customer_out(call, seeded):
    # Given someone failing the HMAC for customer-42 many times, from many addresses
    bad = {"tenant": TENANT, "user": {"id": "customer-42", "hash": "00"}}
    answers = {call("POST /auth/external", body=bad, headers={"origin": ORIGIN},
                    source_ip=f"198.51.100.{i}")["json"]["code"] for i in range(1, 15)}
    # Then they are refused, and soon limited
    assert answers == {"invalid_identity", "rate_limited"}
    # But the real customer, vouched for by the website, signs in
    r = call("POST /auth/external", body=_identified_body(), headers={"origin": ORIGIN}, source_ip="192.0.2.7")
    assert r["status"] == 200 and r["json"]["user"]["id"] == "v-customer-42"


def test_a_visitors_email_is_not_vouched_for_so_no_rule_rests_on_it(call, seeded, svc):
    # Given a tenant that refuses sign-ins from blocked.test
    from msgspec.structs import replace

    svc.store.tenants.put(replace(svc.store.tenants.get(TENANT), deny_email_domains=("blocked.test",)))
    svc.tenants.forget()
    # When a known visitor signs in with an email the page says is at blocked.test
    body = _identified_body()
    body["user"]["email"] = "jo@blocked.test"
    r = call("POST /auth/external", body=body, headers={"origin": ORIGIN})
    # Then the rule does not apply: the HMAC covers the id alone, and anyone could leave the email out
    assert r["status"] == 200
    # Nor when post-login runs again at the refresh: the session lives on
    again = call("POST /auth/refresh", body={"refresh_token": r["json"]["refresh_token"]})
    assert again["status"] == 200, again
    assert call("GET /auth/me", token=again["json"]["access_token"])["status"] == 200


@pytest.mark.parametrize(("one", "other"), [
    ("Bob", "bob"),                        # case
    ("jo.smith", "josmith"),               # a dropped character
    ("jo+1@shop.test", "jo1@shop.test"),
    ("Customer|42", "customer42"),
    ("日本", "中国"),                        # nothing readable at all
    ("Bob", "vh-bob-" + hashlib.sha256(b"Bob").hexdigest()[:32]),  # a website id spelled as Bob's chat id
])
def test_two_website_users_are_never_one_chat_user(call, seeded, one, other):
    # Given two distinct users of the website whose ids differ only in what a chat-safe id drops
    ids = []
    for website_id in (one, other):
        user = {"id": website_id, "hash": visitor_hash(IDENTITY_SECRET, website_id)}
        r = call("POST /auth/external", body={"tenant": TENANT, "user": user})
        assert r["status"] == 200, r
        ids.append(r["json"]["user"]["id"])
    # Then each is a chat user of their own, chat-safe, and the same again on the next sign-in
    assert ids[0] != ids[1]
    assert all(re.fullmatch(r"[a-z0-9@_-]{1,128}", i) for i in ids)
    user = {"id": one, "hash": visitor_hash(IDENTITY_SECRET, one)}
    assert call("POST /auth/external", body={"tenant": TENANT, "user": user})["json"]["user"]["id"] == ids[0]
