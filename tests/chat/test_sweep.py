"""The support sweep (issue 17): every minute, a queued chat nobody claimed and an assigned chat
its operator did not answer within N minutes (REASSIGN_AFTER_SECONDS, 300 by default) go to the
next available operator or back to the queue - never lost - reading only the chats that are due
(a sparse GSI1 list), never a Scan."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.chat.test_support_channels import OLGA, add_operator
from tests.chat_support import ACTION_COUNTERS, visitor_tokens
from tests.conftest import OPERATOR

N_SECONDS = 300


@pytest.fixture
def olga(svc, seeded):
    return add_operator(svc, OLGA)


def sweep(chat, *, minutes_from_now: float):
    """A scheduled run, as EventBridge sends it, for a minute ``minutes_from_now`` ahead."""
    at = datetime.fromtimestamp(time.time() + minutes_from_now * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {"version": "0", "id": "sweep", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": at, "region": "us-east-1", "resources": [], "detail": {}}
    return chat.invoke("SupportSweepFunction", event)


def test_an_unanswered_chat_goes_to_the_next_operator_and_both_hear_of_it(chat, call, tokens_for, olga, svc):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert channel["assignee"] == otto.user_id
    o = chat.connect(tokens_for(olga))
    guest.ok("message.send", channel_id=channel["id"], text="hello?", client_id="g-1")
    # Before N minutes nothing moves
    assert sweep(chat, minutes_from_now=1)["due"] == 0
    # After N minutes unanswered, it is Olga's: never handed back to the one it is taken from
    done = sweep(chat, minutes_from_now=N_SECONDS / 60 + 1)
    assert (done["due"], done["assigned"]) == (1, 1), done
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee) == ("open", o.tokens["user"]["id"])
    assert otto.events("channel.updated")[-1]["channel"]["assignee"] == now.assignee
    assert o.events("channel.updated")[-1]["channel"]["assignee"] == now.assignee


def test_an_answered_chat_is_left_alone(chat, call, tokens_for, olga, svc):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    chat.connect(tokens_for(olga))
    guest.ok("message.send", channel_id=channel["id"], text="hello?", client_id="g-1")
    otto.ok("message.send", channel_id=channel["id"], text="Hi! Looking.", client_id="o-1")
    assert sweep(chat, minutes_from_now=N_SECONDS / 60 + 1)["due"] == 0
    assert svc.store.channels.get(channel["id"]).assignee == otto.user_id


def test_an_unanswered_chat_with_nobody_else_goes_back_to_the_queue_never_lost(chat, call, tokens_for, svc):
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    guest.ok("message.send", channel_id=channel["id"], text="hello?", client_id="g-1")
    done = sweep(chat, minutes_from_now=N_SECONDS / 60 + 1)
    assert done["requeued"] == 1, done
    now = svc.store.channels.get(channel["id"])
    assert (now.status, now.assignee) == ("queued", None)
    assert channel["id"] in [c["id"] for c in otto.ok("channel.query", filter={"status": "queued"})["channels"]]
    # still due for the sweep: the queue's own clock starts now
    assert sweep(chat, minutes_from_now=2 * N_SECONDS / 60 + 2)["due"] == 1


def test_a_queued_chat_nobody_claimed_goes_to_an_operator_who_came_online(chat, call, tokens_for, svc):
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    assert channel["status"] == "queued"
    # nobody online: it stays queued and is looked at again N minutes later (not every minute)
    done = sweep(chat, minutes_from_now=N_SECONDS / 60 + 1)
    assert done["still_queued"] == 1
    assert sweep(chat, minutes_from_now=N_SECONDS / 60 + 2)["due"] == 0
    # an operator away is no one to give it to either
    otto = chat.connect(tokens_for(OPERATOR))
    otto.ok("presence.set", status="away")
    assert sweep(chat, minutes_from_now=3 * N_SECONDS / 60)["still_queued"] == 1
    otto.ok("presence.set", status="online")
    assert sweep(chat, minutes_from_now=5 * N_SECONDS / 60)["assigned"] == 1
    assert svc.store.channels.get(channel["id"]).assignee == otto.user_id


def test_a_chat_the_visitor_wrote_nothing_in_leaves_the_list(chat, call, tokens_for, svc):
    chat.connect(tokens_for(OPERATOR))
    channel = chat.connect(visitor_tokens(call)).ok("support.open")["channel"]
    assert sweep(chat, minutes_from_now=N_SECONDS / 60 + 1)["nothing_to_answer"] == 1
    assert sweep(chat, minutes_from_now=3 * N_SECONDS / 60)["due"] == 0
    assert svc.store.channels.get(channel["id"]).status == "open"


def _sweep_calls(chat, svc, minutes):
    seen = []

    def record(params, model, **_):
        if not params.get("Key", {}).get("pk", {}).get("S", "").startswith(ACTION_COUNTERS):
            seen.append((model.name, params.get("IndexName")))

    svc.store.client.meta.events.register("before-parameter-build.dynamodb.*", record)
    try:
        sweep(chat, minutes_from_now=minutes)
    finally:
        svc.store.client.meta.events.unregister("before-parameter-build.dynamodb.*", record)
    return seen


@pytest.mark.parametrize("others", [0, 12])
def test_the_sweep_costs_what_the_due_chats_cost_not_what_every_chat_costs(chat, call, tokens_for, svc, others):
    # Given 2 queued chats that are due, and some number of other chats that are not
    # (answered, closed, or newer)
    due = [chat.connect(visitor_tokens(call)).ok("support.open")["channel"] for _ in range(2)]
    otto = chat.connect(tokens_for(OPERATOR))
    otto.ok("presence.set", status="away")  # the due chats stay queued: a run does the same work each time
    for i in range(others):
        guest = chat.connect(visitor_tokens(call))
        ch = guest.ok("support.open")["channel"]
        if i % 2:
            guest.ok("channel.close", channel_id=ch["id"])  # closed while queued: waits for nobody
            continue
        otto.ok("channel.assign", channel_id=ch["id"])
        otto.ok("message.send", channel_id=ch["id"], text="hello", client_id=f"o-{i}")  # answered
    # When a run finds them due
    seen = _sweep_calls(chat, svc, N_SECONDS / 60 + 1)
    # Then it read one Query of the sparse list (GSI1), never a Scan, and did per due chat the same
    assert ("Query", "GSI1") in seen and not any(op == "Scan" for op, _ in seen)
    assert len(due) == 2
    # the whole run's calls: the same with 0 or 12 other chats (pinned, so both sizes compare)
    assert len(seen) == EXPECTED_CALLS, seen


#: a run with 2 due queued chats and nobody available: 1 Query (GSI1) + 1 BatchGetItem, then per
#: chat: the staff presence Query and the wait_again UpdateItem
EXPECTED_CALLS = 2 + 2 * 2
