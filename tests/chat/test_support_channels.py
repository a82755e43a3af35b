"""support.open, assignment, the queue, claiming, and operators going offline (contract section 4)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.chat_support import atomic_requests, table_keys, visitor_tokens
from tests.conftest import ADMIN, OPERATOR

OLGA = {"email": "olga@acme.test", "password": "olga-correct-horse-battery", "role": "operator", "name": "Olga"}


def add_operator(svc, who):
    """Store ``who`` (email, password, name) as an operator of acme; ``who`` back, to sign in with."""
    from switchboard.auth.identity import new_operator_id
    from switchboard.auth.passwords import hash_password
    from switchboard.models import Operator

    svc.store.staff.put(Operator(tenant="acme", id=new_operator_id(), email=who["email"], name=who["name"],
                                    role="operator", password_hash=hash_password(who["password"])))
    return who


@pytest.fixture
def olga(svc, seeded):
    """A second operator of acme."""
    return add_operator(svc, OLGA)


TOM = {"email": "tom@acme.test", "password": "tom-correct-horse-battery", "role": "operator", "name": "Tom"}


@pytest.fixture
def tom(svc, seeded):
    """A third operator of acme."""
    return add_operator(svc, TOM)


def heard_of(client, channel_id):
    """The channel.updated events this connection got about one channel."""
    return [e["channel"] for e in client.events("channel.updated") if e["channel"]["id"] == channel_id]


def load_of(svc, user_id):
    return {p.user_id: p.load for p in svc.store.presence.of_tenant("acme", now=int(time.time()))}.get(user_id, 0)


def test_with_nobody_online_support_open_leaves_the_channel_queued(chat, call):
    # Given no operator is connected
    guest = chat.connect(visitor_tokens(call))
    # When a visitor opens support
    channel = guest.ok("support.open", subject="Where is my order?")["channel"]
    # Then the channel waits in the queue, with only the visitor in it
    assert (channel["status"], channel["assignee"], channel["type"]) == ("queued", None, "support")
    assert channel["members"] == [guest.user_id] and channel["visitor"] == guest.user_id
    assert channel["subject"] == "Where is my order?"


def test_support_open_again_resumes_the_open_channel(chat, call):
    guest = chat.connect(visitor_tokens(call))
    first = guest.ok("support.open", subject="one")["channel"]
    again = guest.ok("support.open", subject="two")["channel"]
    assert again["id"] == first["id"] and again["subject"] == "one"


def test_support_open_from_another_connection_of_the_same_visitor_resumes_too(chat, call):
    tokens = visitor_tokens(call)
    a, b = chat.connect(tokens), chat.connect(tokens)
    assert a.ok("support.open")["channel"]["id"] == b.ok("support.open")["channel"]["id"]


def test_the_queue_is_visible_to_every_operator_of_the_tenant_and_claimable(chat, call, tokens_for, olga, svc):
    # Given a queued channel
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    guest.ok("channel.watch", channel_id=channel["id"])
    # When operators come online, each sees it in the queue
    otto, ana, olga_ = (chat.connect(tokens_for(who)) for who in (OPERATOR, ADMIN, olga))
    for staff in (otto, ana, olga_):
        queued = staff.ok("channel.query", filter={"status": "queued"})["channels"]
        assert [c["id"] for c in queued] == [channel["id"]]
        # and may look into it before claiming
        assert staff.ok("channel.watch", channel_id=channel["id"])["channel"]["status"] == "queued"
    # When one of them claims it
    claimed = otto.ok("channel.assign", channel_id=channel["id"])["channel"]
    # Then it is theirs, open, and no longer in anyone's queue
    assert (claimed["status"], claimed["assignee"]) == ("open", otto.user_id)
    assert claimed["assignee_name"] == OPERATOR["name"]
    assert otto.user_id in claimed["members"]
    for staff in (otto, ana, olga_):
        assert staff.ok("channel.query", filter={"status": "queued"})["channels"] == []
    # And the visitor and the other operators heard of it
    assert guest.events("channel.updated")[-1]["channel"]["assignee"] == otto.user_id
    assert olga_.events("channel.updated")[-1]["channel"]["status"] == "open"
    assert load_of(svc, otto.user_id) == 1
    # And claiming it again is a no-op, not an error
    assert otto.ok("channel.assign", channel_id=channel["id"])["channel"]["assignee"] == otto.user_id
    assert load_of(svc, otto.user_id) == 1


def test_an_operator_cannot_take_a_channel_another_operator_holds(chat, call, tokens_for, olga):
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    otto, olga_ = chat.connect(tokens_for(OPERATOR)), chat.connect(tokens_for(olga))
    otto.ok("channel.assign", channel_id=channel["id"])
    # olga may no longer see it at all (it is neither hers nor queued)
    assert olga_.error("channel.assign", channel_id=channel["id"]) == "not_found"
    assert olga_.error("channel.watch", channel_id=channel["id"]) == "not_found"


def test_two_operators_claiming_at_once_exactly_one_wins(chat, call, tokens_for, olga):
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    staff = [chat.connect(tokens_for(OPERATOR)), chat.connect(tokens_for(olga))]
    replies: list = [None, None]
    with atomic_requests():
        threads = [threading.Thread(target=lambda i=i: replies.__setitem__(
            i, staff[i].request("channel.assign", channel_id=channel["id"]))) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    winners = [r for r in replies if r["ok"]]
    assert len(winners) == 1, replies
    assert [r["error"]["code"] for r in replies if not r["ok"]] in (["conflict"], ["not_found"])


def test_an_operator_may_not_assign_to_someone_else_but_an_admin_may(chat, call, tokens_for, svc):
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    otto, ana = chat.connect(tokens_for(OPERATOR)), chat.connect(tokens_for(ADMIN))
    assert otto.error("channel.assign", channel_id=channel["id"], operator_id=ana.user_id) == "forbidden"
    assigned = ana.ok("channel.assign", channel_id=channel["id"], operator_id=otto.user_id)["channel"]
    assert assigned["assignee"] == otto.user_id
    # an admin reassigns: the load moves with it
    ana.ok("channel.assign", channel_id=channel["id"])
    assert (load_of(svc, otto.user_id), load_of(svc, ana.user_id)) == (0, 1)
    assert ana.error("channel.assign", channel_id=channel["id"], operator_id="op-nobody") == "not_found"


def test_an_admin_cannot_assign_a_closed_channel(chat, call, tokens_for, seeded, svc):
    # Given a conversation the visitor closed
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    guest.ok("channel.close", channel_id=channel["id"])
    ana = chat.connect(tokens_for(ADMIN))
    # When an admin assigns it to Otto
    code = ana.error("channel.assign", channel_id=channel["id"], operator_id=seeded[OPERATOR["email"]]["id"])
    # Then it is a conflict, the channel stays closed (not reopened by the assignment)
    assert code == "conflict"
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee) == ("closed", None)
    # and it still takes no messages
    assert guest.error("message.send", channel_id=channel["id"], text="hello?", client_id="late") == "conflict"
    # And the store itself refuses it, whoever calls it
    from switchboard.errors import Conflict

    with pytest.raises(Conflict):
        svc.store.channels.assign(now, seeded[OPERATOR["email"]]["id"], now_ms=now.created_at + 1)
    assert svc.store.channels.get(channel["id"]).status == "closed"


def test_an_admin_cannot_assign_a_channel_to_a_blocked_operator(chat, call, tokens_for, olga, svc):
    # Given a queued channel, and Olga blocked by an admin
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    admin = tokens_for(ADMIN)
    olga_id = tokens_for(olga)["user"]["id"]
    r = call("PATCH /admin/operators/{id}", token=admin["access_token"], body={"blocked": True},
             path_params={"id": olga_id})
    assert r["status"] == 200, r
    ana = chat.connect(admin)
    before = table_keys()
    # When the admin assigns the channel to her
    code = ana.error("channel.assign", channel_id=channel["id"], operator_id=olga_id)
    # Then there is no such operator to assign to, and the channel is as it was
    assert code == "not_found"
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee, now.members) == ("queued", None, (guest.user_id,))
    assert table_keys() == before


def test_support_open_assigns_the_online_operator(chat, call, tokens_for):
    # Given an operator online
    otto = chat.connect(tokens_for(OPERATOR))
    # When a visitor opens support
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    # Then the operator gets it, and hears of it; the visitor sees who it is
    assert (channel["status"], channel["assignee"]) == ("open", otto.user_id)
    assert channel["assignee_name"] == OPERATOR["name"]
    assert set(channel["members"]) == {guest.user_id, otto.user_id}
    assert otto.events("channel.updated")[-1]["channel"]["id"] == channel["id"]
    # (the visitor has it in the reply; no event echoes it back)
    assert guest.events("channel.updated") == []


def test_assignment_goes_to_the_least_loaded_online_operator(chat, call, tokens_for, olga):
    otto, olga_ = chat.connect(tokens_for(OPERATOR)), chat.connect(tokens_for(olga))
    owners = [chat.connect(visitor_tokens(call)).ok("support.open")["channel"]["assignee"] for _ in range(4)]
    # each new channel goes to whoever has fewer: they alternate and end up even
    assert sorted(owners) == sorted([otto.user_id, olga_.user_id] * 2)
    assert owners[0] != owners[1] and owners[2] != owners[3]


def test_ties_in_load_go_round_robin(chat, call, tokens_for, olga):
    otto, olga_ = chat.connect(tokens_for(OPERATOR)), chat.connect(tokens_for(olga))
    owners = []
    for _ in range(4):
        guest = chat.connect(visitor_tokens(call))
        channel = guest.ok("support.open")["channel"]
        owners.append(channel["assignee"])
        guest.ok("channel.close", channel_id=channel["id"])  # back to a tie at zero load
    # the one assigned least recently gets the next: they take turns
    assert owners[0] != owners[1] and owners[0] == owners[2] and owners[1] == owners[3]
    assert set(owners) == {otto.user_id, olga_.user_id}


def test_a_queued_channel_is_assigned_when_the_visitor_comes_back_and_an_operator_is_online(chat, call, tokens_for):
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    otto = chat.connect(tokens_for(OPERATOR))
    resumed = guest.ok("support.open")["channel"]
    assert (resumed["id"], resumed["status"], resumed["assignee"]) == (channel["id"], "open", otto.user_id)


def test_an_operators_last_disconnect_requeues_their_open_channels(chat, call, tokens_for, svc):
    # Given an operator with two connections and an open channel
    tokens = tokens_for(OPERATOR)
    otto_tab1, otto_tab2 = chat.connect(tokens), chat.connect(tokens)
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    guest.ok("channel.watch", channel_id=channel["id"])
    assert channel["assignee"] == otto_tab1.user_id
    # When one tab closes, they are still online: nothing moves
    otto_tab1.disconnect()
    assert svc.store.channels.get(channel["id"]).assignee == otto_tab2.user_id
    # When the last one closes
    otto_tab2.disconnect()
    # Then the channel is back in the queue, visible to the other operators, and the visitor knows
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee, now.assignee_name) == ("queued", None, None)
    assert load_of(svc, otto_tab2.user_id) == 0
    assert guest.events("channel.updated")[-1]["channel"]["status"] == "queued"
    ana = chat.connect(tokens_for(ADMIN))
    assert [c["id"] for c in ana.ok("channel.query", filter={"status": "queued"})["channels"]] == [channel["id"]]


def test_an_operator_going_offline_hands_channels_to_another_online_operator(chat, call, tokens_for, olga):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    olga_ = chat.connect(tokens_for(olga))
    otto.disconnect()
    moved = olga_.events("channel.updated")[-1]["channel"]
    assert (moved["id"], moved["status"], moved["assignee"]) == (channel["id"], "open", olga_.user_id)
    # and the previous operator stays a member (the history is theirs too) but no longer writes
    assert otto.user_id in moved["members"]


def test_an_operator_closing_one_of_two_tabs_keeps_their_channels_though_a_colleague_is_free(
        chat, call, tokens_for, olga, svc):
    # Given Otto, online in two tabs, holding a visitor's channel, and Olga online with nothing to do
    tokens = tokens_for(OPERATOR)
    otto_tab1, otto_tab2 = chat.connect(tokens), chat.connect(tokens)
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert channel["assignee"] == otto_tab1.user_id
    chat.connect(tokens_for(olga))
    updates = len(guest.events("channel.updated"))
    # When Otto closes one tab
    otto_tab1.disconnect()
    # Then he is still there: the channel stays his, never passing through the queue
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee) == ("open", otto_tab2.user_id)
    assert len(guest.events("channel.updated")) == updates


def test_a_going_operator_hands_back_only_what_is_still_assigned_to_them(chat, call, tokens_for, olga, svc):
    from switchboard.store.codecs import assignment_item
    from switchboard.store.dynamo import to_wire

    # Given Olga's open channel, and Otto online
    olga_ = chat.connect(tokens_for(olga))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert channel["assignee"] == olga_.user_id
    otto = chat.connect(tokens_for(OPERATOR))
    # And Otto's assignment list still names it (read just before an admin moved it from him to Olga)
    ch = svc.store.channels.get(channel["id"])
    svc.store.client.put_item(TableName=svc.store.table, Item=to_wire(assignment_item(ch, otto.user_id)))
    updates = len(guest.events("channel.updated"))
    # When Otto goes offline
    otto.disconnect()
    # Then Olga's channel is not his to hand back: it never passes through the queue
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee) == ("open", olga_.user_id)
    assert len(guest.events("channel.updated")) == updates


def test_an_admins_last_disconnect_hands_their_channels_back_too(chat, call, tokens_for, svc):
    # Given an admin, the only staff online, who got a visitor's channel
    ana = chat.connect(tokens_for(ADMIN))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert channel["assignee"] == ana.user_id
    # When the admin goes offline
    ana.disconnect()
    # Then the conversation is back in the queue, not stranded with someone who is not there
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee) == ("queued", None)


def test_staff_online_hear_that_a_queued_channel_left_the_queue(chat, call, tokens_for, olga):
    # Given a queued channel, then two operators online
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert channel["status"] == "queued"
    otto, olga_ = chat.connect(tokens_for(OPERATOR)), chat.connect(tokens_for(olga))
    # When the visitor comes back and the channel goes to one of them
    assigned = guest.ok("support.open")["channel"]
    assert assigned["status"] == "open"
    # Then the other one, whose queue view listed it, hears that it is no longer queued
    other = otto if assigned["assignee"] == olga_.user_id else olga_
    heard = [e["channel"] for e in other.events("channel.updated") if e["channel"]["id"] == channel["id"]]
    assert heard and heard[-1]["status"] == "open"


def test_concurrent_support_open_of_one_visitor_makes_one_channel(chat, call):
    tokens = visitor_tokens(call)
    tabs = [chat.connect(tokens) for _ in range(4)]
    ids: list[str] = []
    with atomic_requests():
        threads = [threading.Thread(target=lambda t=t: ids.append(t.ok("support.open")["channel"]["id"]))
                   for t in tabs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(ids) == 4 and len(set(ids)) == 1


def test_a_lost_disconnect_does_not_strand_the_channel_when_the_visitor_comes_back(chat, call, tokens_for, olga,
                                                                                   svc):
    # Given Otto's open channel
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert channel["assignee"] == otto.user_id
    # And Otto's socket gone without a $disconnect: his presence records are past their expiry
    table, client = svc.store.table, svc.store.client
    for item in client.query(TableName=table, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                             ExpressionAttributeValues={":p": {"S": "T#acme#OPS"},
                                                        ":s": {"S": f"OC#{otto.user_id}#"}})["Items"]:
        client.update_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]},
                           UpdateExpression="SET expires_at = :past", ExpressionAttributeValues={":past": {"N": "1"}})
    olga_ = chat.connect(tokens_for(olga))
    # When the visitor comes back to the conversation
    again = guest.ok("support.open")["channel"]
    # Then it went to the operator who is actually there
    assert again["id"] == channel["id"]
    assert (again["status"], again["assignee"]) == ("open", olga_.user_id)


def _support_channel(channel_id, *, visitor="anon-v1", assignee=None):
    from switchboard.models import Channel

    return Channel(id=channel_id, tenant="acme", type="support", status="open" if assignee else "queued",
                   subject=None, members=tuple(m for m in (visitor, assignee) if m), assignee=assignee,
                   visitor=visitor, created_at=1, last_message_at=1)


def test_a_visitor_never_has_two_open_support_channels_even_when_two_opens_race(svc):
    from switchboard.errors import Conflict

    # Given a visitor's support channel, written by one support.open
    svc.store.channels.create(_support_channel("0000000000001-a"), support_pointer=True, now_ms=1)
    # When a second support.open of theirs, which read no open channel either, writes its own
    with pytest.raises(Conflict):
        svc.store.channels.create(_support_channel("0000000000002-b"), support_pointer=True, now_ms=2)
    # Then the visitor keeps the first, and the second channel was never made
    assert svc.store.channels.open_support_id("acme", "anon-v1") == "0000000000001-a"
    assert svc.store.channels.get("0000000000002-b") is None


def test_a_requeue_decided_before_a_reassignment_leaves_the_new_assignee_their_channel(svc):
    from switchboard.errors import Conflict

    # Given a channel assigned to op-a, then taken over by op-b
    first = _support_channel("0000000000003-c", assignee="op-a")
    svc.store.channels.create(first, support_pointer=True, now_ms=1)
    svc.store.channels.assign(first, "op-b", now_ms=2)
    # When op-a's going offline requeues it, on the read from before the takeover
    with pytest.raises(Conflict):
        svc.store.channels.requeue(first, now_ms=3)
    # Then op-b still has it, and their load is untouched
    now = svc.store.channels.get("0000000000003-c")
    assert (now.status, now.assignee) == ("open", "op-b")
    assert svc.store.channels.assigned_ids("acme", "op-b") == ["0000000000003-c"]
    assert load_of(svc, "op-b") == 1


def test_giving_a_channel_back_does_not_count_as_being_assigned_one(svc):
    # Given op-a assigned a channel at t=1
    ch = _support_channel("0000000000007-g", visitor="anon-v3", assignee="op-a")
    svc.store.channels.create(ch, support_pointer=True, now_ms=1)
    # When it goes back to the queue at t=5 (op-a went offline)
    svc.store.channels.requeue(ch, now_ms=5)
    # Then op-a was last assigned one at t=1: the round-robin order is about assignments, not releases
    presence = {p.user_id: p for p in svc.store.presence.of_tenant("acme", now=int(time.time()))}
    assert (presence["op-a"].load, presence["op-a"].last_assigned_at) == (0, 1)


def test_staff_who_may_not_read_an_open_conversation_hear_nothing_of_its_reassignment_or_close(chat, call,
                                                                                                tokens_for, olga):
    # Given Otto in a conversation whose subject is the visitor's own business, and Olga online,
    # for whom that channel does not exist
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open", subject="my card number is 4111")["channel"]
    assert channel["assignee"] == otto.user_id
    olga_ = chat.connect(tokens_for(olga))
    assert olga_.error("channel.watch", channel_id=channel["id"]) == "not_found"
    ana = chat.connect(tokens_for(ADMIN))
    # When the admin hands it to herself, then closes it
    ana.ok("channel.assign", channel_id=channel["id"], operator_id=ana.user_id)
    ana.ok("channel.close", channel_id=channel["id"])
    # Then Olga heard nothing of it: not its subject, nor who is in it
    assert heard_of(olga_, channel["id"]) == []
    # while those who may read it heard both changes: the visitor, and Otto (still a member,
    # who heard of the conversation first when it was given to him)
    changes = [("open", ana.user_id), ("closed", ana.user_id)]
    assert [(c["status"], c["assignee"]) for c in heard_of(guest, channel["id"])] == changes
    assert [(c["status"], c["assignee"]) for c in heard_of(otto, channel["id"])] == [("open", otto.user_id), *changes]


def test_a_conversation_handed_on_when_its_operator_leaves_is_told_only_to_who_may_read_it(chat, call, tokens_for,
                                                                                            olga, tom, svc):
    # Given Otto in a conversation, and Olga and Tom online
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open", subject="private matter")["channel"]
    olga_, tom_ = chat.connect(tokens_for(olga)), chat.connect(tokens_for(tom))
    # When Otto goes offline and the conversation passes straight to one of them
    otto.disconnect()
    taker_id = svc.store.channels.get(channel["id"]).assignee
    taker, other = (olga_, tom_) if taker_id == olga_.user_id else (tom_, olga_)
    assert taker_id == taker.user_id
    # Then the one who took it heard of it, and the other - who never saw it queued - heard nothing
    assert [(c["status"], c["assignee"]) for c in heard_of(taker, channel["id"])] == [("open", taker.user_id)]
    assert heard_of(other, channel["id"]) == []


def test_a_queued_conversation_claimed_or_closed_is_dropped_from_every_queue_view(chat, call, tokens_for, olga, tom):
    # Given two queued conversations, seen by three operators in their queue
    guests = [chat.connect(visitor_tokens(call)) for _ in range(2)]
    first, second = (g.ok("support.open")["channel"] for g in guests)
    otto, olga_, tom_ = (chat.connect(tokens_for(who)) for who in (OPERATOR, olga, tom))
    # When Otto claims the first and its visitor closes the second
    otto.ok("channel.assign", channel_id=first["id"])
    guests[1].ok("channel.close", channel_id=second["id"])
    # Then the others were told both left the queue (they saw them there a moment ago)
    for staff in (olga_, tom_):
        assert [c["status"] for c in heard_of(staff, first["id"])] == ["open"]
        assert [c["status"] for c in heard_of(staff, second["id"])] == ["closed"]


def test_an_admin_online_hears_of_every_change_to_the_tenants_conversations(chat, call, tokens_for, olga):
    # Given Otto in a conversation, and the admin and Olga online (the admin may read every one)
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    ana, olga_ = chat.connect(tokens_for(ADMIN)), chat.connect(tokens_for(olga))
    # When Otto closes it
    otto.ok("channel.close", channel_id=channel["id"])
    # Then the admin was told, and Olga was not
    assert [c["status"] for c in heard_of(ana, channel["id"])] == ["closed"]
    assert heard_of(olga_, channel["id"]) == []


def federated(call, svc, user_id, role, name, email):
    """Tokens of a staff member signed in through the tenant's Auth0 Action (the post-login
    hook), with the email Auth0 verified: they land on the operator record invited with it."""
    from switchboard.auth import hooks

    from tests.conftest import HOOK_SECRET, TENANT

    raw = json.dumps({"tenant": TENANT, "user": {"user_id": user_id, "name": name, "role": role, "email": email,
                                                 "email_verified": True}}).encode()
    r = call("POST /hooks/post-login", raw_body=raw,
             headers={"content-type": "application/json", "Switchboard-Signature": hooks.sign(HOOK_SECRET, raw)})
    assert r["status"] == 200, r
    chat_token = r["json"]["chat_token"]
    return {"chat_token": chat_token, "user": {"id": svc.tokens.verify_chat(chat_token).sub}}


def test_staff_signed_in_through_auth0_claim_and_are_given_conversations_even_offline(chat, call, tokens_for, svc,
                                                                                     admin):
    # Given a queued conversation, and Fay, an operator invited here whom the tenant's Auth0 signs in
    guest = chat.connect(visitor_tokens(call))
    queued = guest.ok("support.open")["channel"]
    invited = call("POST /admin/operators", body={"email": "fay@acme.test", "name": "Fay"}, token=admin)
    assert invited["status"] == 201, invited
    fay = chat.connect(federated(call, svc, "auth0|fay", "operator", "Fay", "fay@acme.test"))
    # (one person: the Auth0 sign-in landed on her record)
    assert fay.user_id == invited["json"]["operator"]["id"]
    # When she claims it from the queue
    claimed = fay.ok("channel.assign", channel_id=queued["id"])["channel"]
    # Then it is hers, under her name
    assert (claimed["status"], claimed["assignee"], claimed["assignee_name"]) == ("open", fay.user_id, "Fay")
    # And the admin may give her another one, and put her in a team channel
    ana = chat.connect(tokens_for(ADMIN))
    other = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    given = ana.ok("channel.assign", channel_id=other["id"], operator_id=fay.user_id)["channel"]
    assert (given["assignee"], given["assignee_name"]) == (fay.user_id, "Fay")
    team = ana.ok("channel.create", type="team", name="Shift", members=[fay.user_id])["channel"]
    assert fay.user_id in team["members"]
    # But a visitor is nobody's assignee; and Fay, gone offline, is still known by her record
    assert ana.error("channel.assign", channel_id=other["id"], operator_id=guest.user_id) == "not_found"
    fay.disconnect()
    third = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    offline = ana.ok("channel.assign", channel_id=third["id"], operator_id=fay.user_id)["channel"]
    assert offline["assignee"] == fay.user_id
    assert fay.user_id in ana.ok("channel.create", type="team", name="Later", members=[fay.user_id])["channel"][
        "members"]


def test_an_operator_with_a_record_is_named_by_it_even_offline_and_not_once_blocked(chat, call, tokens_for, svc):
    # Given a queued conversation, and Otto (a password operator) offline
    queued = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    otto_id = svc.store.staff.get_by_email("acme", OPERATOR["email"]).id
    ana = chat.connect(tokens_for(ADMIN))
    # Then the admin may still give it to him by id (his record says who he is)
    assert ana.ok("channel.assign", channel_id=queued["id"], operator_id=otto_id)["channel"]["assignee"] == otto_id
    # but not to an id of that form no record has
    assert ana.error("channel.assign", channel_id=queued["id"], operator_id="op-0123456789abcdef") == "not_found"
