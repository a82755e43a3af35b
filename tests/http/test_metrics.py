"""CloudWatch metrics (EMF lines on stdout, docs/operations.md "Metrics"): what each operation
counts, written once per invocation by the edge, with no secret and no personal data in them."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.chat_support import visitor_tokens
from tests.conftest import ADMIN, OPERATOR, TENANT


class Emf:
    """The EMF documents the handlers printed during a test (what CloudWatch Logs receives)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.lines: list[str] = []

    def read(self) -> list[dict[str, Any]]:
        self.lines += [line for line in self.capsys.readouterr().out.splitlines() if '"_aws"' in line]
        return [json.loads(line) for line in self.lines]

    def values(self, name: str) -> list[float]:
        """Every value recorded under ``name``, across invocations."""
        out: list[float] = []
        for doc in self.read():
            if name in doc:
                value = doc[name]
                out += value if isinstance(value, list) else [value]
        return out

    def total(self, name: str) -> float:
        return sum(self.values(name))


@pytest.fixture
def emf(capsys: pytest.CaptureFixture[str]) -> Emf:
    capsys.readouterr()  # what came before the test's own calls
    return Emf(capsys)


def test_a_sign_in_writes_one_emf_document_with_the_namespace_and_only_the_service_dimension(call, seeded, emf):
    # When an operator signs in
    r = call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"],
                                         "password": OPERATOR["password"]})
    assert r["status"] == 200
    # Then one EMF document says so: the namespace, SignIns 1, and no dimension but the service
    docs = emf.read()
    assert len(docs) == 1
    meta = docs[0]["_aws"]["CloudWatchMetrics"][0]
    assert meta["Namespace"] == "Switchboard"
    assert meta["Dimensions"] == [["service"]] and docs[0]["service"] == "switchboard"
    assert {m["Name"]: m["Unit"] for m in meta["Metrics"]} == {"SignIns": "Count"}
    assert docs[0]["SignIns"] in (1.0, [1.0])


def test_failed_sign_ins_are_counted_and_successes_are_not(call, seeded, emf):
    # Given two wrong passwords and an unknown account
    for email, password in ((OPERATOR["email"], "wrong-password-1"), (OPERATOR["email"], "wrong-password-2"),
                            ("nobody@acme.test", "whatever-password")):
        r = call("POST /auth/internal", body={"tenant": TENANT, "email": email, "password": password})
        assert r["status"] == 401 and r["json"]["code"] == "invalid_credentials"
    # Then three failed sign-ins are counted, and no sign-in
    assert emf.total("FailedSignIns") == 3
    assert emf.values("SignIns") == []


def test_refresh_reuse_counts_the_reuse_and_the_revoked_session(call, seeded, emf):
    # Given a visitor's refresh token, rotated once
    first = call("POST /auth/external", body={"tenant": TENANT})["json"]
    assert call("POST /auth/refresh", body={"refresh_token": first["refresh_token"]})["status"] == 200
    assert emf.values("RefreshReuse") == []
    # When the rotated token comes back
    r = call("POST /auth/refresh", body={"refresh_token": first["refresh_token"]})
    assert r["json"]["code"] == "token_reused"
    # Then the reuse and the revoked session are counted
    assert emf.total("RefreshReuse") == 1
    assert emf.total("SessionsRevoked") == 1


def test_a_revocation_counts_every_session_it_ends(call, seeded, tokens_for, emf):
    # Given an operator signed in on two devices
    one = tokens_for(OPERATOR)
    tokens_for(OPERATOR)
    # When they sign out everywhere
    r = call("POST /auth/revoke", body={"kind": "user"}, token=one["access_token"])
    assert r["status"] == 200, r
    # Then both sessions are counted as revoked
    assert emf.total("SessionsRevoked") == 2


def test_chat_counts_messages_queue_wait_and_first_response(chat, call, tokens_for, emf):
    # Given a visitor who opened support with nobody online
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    guest.ok("channel.watch", channel_id=channel["id"])
    guest.ok("message.send", channel_id=channel["id"], text="hello?", client_id="c1")
    guest.ok("message.send", channel_id=channel["id"], text="hello?", client_id="c1")  # a retry: not counted
    assert emf.values("QueueWait") == []
    time.sleep(0.05)
    # When an operator claims it, answers, and closes it
    otto = chat.connect(tokens_for(OPERATOR))
    otto.ok("channel.assign", channel_id=channel["id"])
    otto.ok("message.send", channel_id=channel["id"], text="Hi, Otto here", client_id="o1")
    assert emf.values("FirstResponse") == []  # counted once, when the conversation closes
    otto.ok("channel.close", channel_id=channel["id"])
    # Then two messages, one queue wait (from the start to the claim) and one first response
    assert emf.total("Messages") == 2
    [wait] = emf.values("QueueWait")
    [first] = emf.values("FirstResponse")
    assert 50 <= wait <= first < 60_000
    # And closing again measures nothing again
    otto.ok("channel.close", channel_id=channel["id"])
    assert len(emf.values("FirstResponse")) == 1


def test_an_operator_online_at_once_is_a_queue_wait_of_zero(chat, call, tokens_for, emf):
    chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    assert guest.ok("support.open")["channel"]["status"] == "open"
    assert emf.values("QueueWait") == [0.0]


def test_no_secret_and_no_personal_data_reach_the_metrics(call, seeded, tokens_for, chat, emf):
    # Given sign-ins (a right and a wrong password), a visitor, a refresh, a message
    tokens = tokens_for(ADMIN)
    call("POST /auth/internal", body={"tenant": TENANT, "email": OPERATOR["email"], "password": "a-wrong-one-0"})
    visitor = visitor_tokens(call)
    call("POST /auth/refresh", body={"refresh_token": visitor["refresh_token"]})
    guest = chat.connect(visitor)
    channel = guest.ok("support.open")["channel"]
    guest.ok("message.send", channel_id=channel["id"], text="my card is 4111 1111", client_id="c1")
    # Then the metrics hold names, units and numbers only: no email, password, token, id or text
    docs = emf.read()
    assert docs
    text = "\n".join(emf.lines)
    for secret in (ADMIN["email"], ADMIN["password"], OPERATOR["email"], "a-wrong-one-0", tokens["access_token"],
                   tokens["refresh_token"], visitor["refresh_token"], visitor["chat_token"], "4111",
                   visitor["user"]["id"], channel["id"], TENANT):
        assert secret not in text
    for doc in docs:
        names = {m["Name"] for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
        assert set(doc) == {"_aws", "service", *names}, doc
