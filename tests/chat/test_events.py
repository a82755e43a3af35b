"""The chat's sample events (events/chat_*.json): shaped like API Gateway's, routed to the function the
template names, and answered as documented - through `switchboard invoke` and in a seeded world."""

from __future__ import annotations

import json

import pytest
from switchboard.models import SessionKey

from switchboard_local.cli import main
from tests.chat_support import Chat, authorizer_event, connect_event, disconnect_event, message_event
from tests.conftest import ROOT

EVENTS = ROOT / "events"
DEMO_ADMIN = {"email": "admin@demo.test", "password": "demo-admin-password"}

#: sample -> (function, route key, what it answers once its connection exists)
SAMPLES = {
    "chat_authorizer.json": ("ChatAuthorizerFunction", "$connect", "Allow"),
    "chat_authorizer_wrong_origin.json": ("ChatAuthorizerFunction", "$connect", "Deny"),
    "chat_connect.json": ("ChatConnectFunction", "$connect", 200),
    "chat_read_channel_query.json": ("ChatReadFunction", "channel.query", "ok"),
    "chat_conversation_channel_create.json": ("ChatConversationFunction", "channel.create", "ok"),
    "chat_close_unknown_channel.json": ("ChatCloseFunction", "channel.close", "not_found"),
    "chat_attachment_unknown_channel.json": ("ChatAttachmentFunction", "attachment.presign", "not_found"),
    "chat_default_unknown_action.json": ("ChatDefaultFunction", "$default", "unknown_action"),
    "chat_disconnect.json": ("ChatDisconnectFunction", "$disconnect", 200),
}


def load(name: str, values: dict[str, str] | None = None) -> dict:
    text = (EVENTS / name).read_text()
    for key, value in (values or {}).items():
        text = text.replace(key, value)
    return json.loads(text)


def test_every_chat_sample_is_listed_here():
    assert {p.name for p in EVENTS.glob("chat_*.json")} == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_sample_goes_to_the_function_its_route_names_and_has_api_gateways_shape(name, template):
    function, route, _ = SAMPLES[name]
    event = load(name)
    if function == "ChatAuthorizerFunction":
        assert template.websocket_authorizer() == function
        reference = authorizer_event("t")
        assert set(event) == set(reference) and event["type"] == "REQUEST" and event["methodArn"].endswith("$connect")
    else:
        assert template.websocket_routes()[route] == function
        if route == "$connect":
            reference = connect_event("c", {})
        elif route == "$disconnect":
            reference = disconnect_event("c", authorizer={})
        else:
            reference = message_event("c", "{}", route, authorizer={})
        assert set(event) == set(reference)
        assert set(event["requestContext"]) == set(reference["requestContext"])
        assert event["requestContext"]["routeKey"] == route


def _invoke(capsys, function: str, name: str) -> tuple[int, dict]:
    code = main(["invoke", function, "-e", str(EVENTS / name)])
    out = capsys.readouterr().out
    start = out.rindex("\n{\n") + 1 if "\n{\n" in out else out.index("{")
    return code, json.loads(out[start:])


def test_switchboard_invoke_runs_the_authorizer_samples(capsys):
    code, allowed = _invoke(capsys, "ChatAuthorizerFunction", "chat_authorizer.json")
    assert code == 0 and allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert allowed["context"]["tid"] == "demo"
    code, denied = _invoke(capsys, "ChatAuthorizerFunction", "chat_authorizer_wrong_origin.json")
    assert code == 0 and denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_switchboard_invoke_runs_the_connect_and_default_samples(capsys):
    code, connected = _invoke(capsys, "ChatConnectFunction", "chat_connect.json")
    assert code == 0 and connected == {"statusCode": 200}
    code, reply = _invoke(capsys, "ChatDefaultFunction", "chat_default_unknown_action.json")
    assert code == 0 and json.loads(reply["body"])["error"]["code"] == "unknown_action"


def test_the_samples_in_order_connect_act_and_disconnect(template, call, seeded, svc):
    # Given the demo tenant and its admin signed in (what `switchboard invoke` fills in)
    from switchboard_local.seed import DEMO_SEED, apply_seed

    apply_seed(svc.store, DEMO_SEED)
    r = call("POST /auth/internal", body={"tenant": "demo", **DEMO_ADMIN})
    assert r["status"] == 200, r
    claims = svc.tokens.verify_chat(r["json"]["chat_token"])
    session = svc.store.sessions.get(SessionKey(claims.tid, claims.sub, claims.sid))
    assert session is not None
    values = {"{{CHAT_TOKEN}}": r["json"]["chat_token"], "{{USER_ID}}": claims.sub, "{{SESSION_ID}}": claims.sid,
              "{{SESSION_EXPIRES_AT}}": str(session.expires_at)}
    chat = Chat(template)
    # When each sample runs through its function, in the order a connection lives
    for name in ["chat_authorizer.json", "chat_authorizer_wrong_origin.json", "chat_connect.json",
                 "chat_read_channel_query.json", "chat_conversation_channel_create.json",
                 "chat_close_unknown_channel.json", "chat_attachment_unknown_channel.json",
                 "chat_default_unknown_action.json", "chat_disconnect.json"]:
        function, _route, expected = SAMPLES[name]
        result = chat.invoke(function, load(name, values))
        # Then each answers as documented
        if function == "ChatAuthorizerFunction":
            assert result["policyDocument"]["Statement"][0]["Effect"] == expected, name
        elif isinstance(expected, int):
            assert result["statusCode"] == expected, name
        else:
            reply = json.loads(result["body"])
            assert ("ok" if reply["ok"] else reply["error"]["code"]) == expected, (name, reply)
    assert svc.store.connections.get(load("chat_connect.json")["requestContext"]["connectionId"]) is None
