"""Every sample event in events/ runs through `switchboard invoke`, as `sam local invoke` would
run it, and every function in the template has at least one sample event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard_local.cli import main
from tests.conftest import ROOT

EVENTS = ROOT / "events"

#: event file -> (function, what the function answers). Chat events are checked by the chat tests.
HTTP_EVENTS = {
    "login_external_anonymous.json": ("LoginExternalFunction", 200),
    "login_external_identified.json": ("LoginExternalFunction", 200),
    "login_external_wrong_hash.json": ("LoginExternalFunction", 401),
    "login_internal.json": ("LoginInternalFunction", 200),
    "login_internal_wrong_password.json": ("LoginInternalFunction", 401),
    "refresh.json": ("RefreshFunction", 200),
    "revoke_own_session.json": ("RevokeFunction", 200),
    "me.json": ("MeFunction", 200),
    "me_without_token.json": ("MeFunction", 401),
    "sessions.json": ("SessionsFunction", 200),
    "jwks.json": ("JwksFunction", 200),
    "widget_settings.json": ("WidgetSettingsFunction", 200),
    "cors_preflight.json": ("CorsPreflightFunction", 204),
    "auth_mfa_invalid_token.json": ("MfaFunction", 401),
    "totp_enroll.json": ("TotpFunction", 200),
    "account_password_wrong_current.json": ("AccountFunction", 401),
    "admin_operators_list.json": ("AdminOperatorsFunction", 200),
    "staff.json": ("StaffFunction", 200),
    "admin_events.json": ("AdminEventsFunction", 200),
    "admin_tenant_show.json": ("AdminTenantFunction", 200),
    "admin_reports.json": ("AdminReportsFunction", 200),
    "post_login_auth0_unsigned.json": ("PostLoginFunction", 401),
    "auth_providers.json": ("AuthProvidersFunction", 200),
    "oidc_authorize_return_to_not_allowed.json": ("OidcAuthorizeFunction", 400),
    "oidc_callback_unknown_state.json": ("OidcCallbackFunction", 401),
    "oidc_complete_used_code.json": ("OidcCompleteFunction", 401),
    "identities.json": ("IdentitiesFunction", 200),
    "token_exchange_untrusted.json": ("TokenExchangeFunction", 401),
    "password_recovery_forgot.json": ("PasswordRecoveryFunction", 202),
    "device_auth_start.json": ("DeviceAuthFunction", 200),
    "auth_resume_used_link.json": ("AuthResumeFunction", 401),
    "admin_visitors_erase_without_token.json": ("AdminVisitorsFunction", 401),
    "canned_without_token.json": ("CannedFunction", 401),
}


def _invoke(capsys: pytest.CaptureFixture[str], function: str, event: Path) -> tuple[int, dict]:
    code = main(["invoke", function, "-e", str(event)])
    out = capsys.readouterr().out
    # Powertools logs are JSON lines too; the response is the last JSON document printed
    start = out.rindex("\n{\n") + 1 if "\n{\n" in out else out.index("{\n")
    return code, json.loads(out[start:])


@pytest.mark.parametrize("name", sorted(HTTP_EVENTS))
def test_http_sample_event_gets_the_documented_answer(name, capsys):
    function, status = HTTP_EVENTS[name]
    code, response = _invoke(capsys, function, EVENTS / name)
    assert code == 0
    assert response["statusCode"] == status, response
    body = json.loads(response["body"]) if response.get("body") else None
    if status >= 400:
        assert response["headers"]["Content-Type"] == "application/problem+json"
        assert body["status"] == status
    if name.startswith("login_") and status == 200:
        assert {"access_token", "refresh_token", "chat_token"} <= body.keys()


def test_post_login_sample_event_mints_a_chat_token_for_a_chat_safe_id(capsys):
    code, response = _invoke(capsys, "PostLogin", EVENTS / "post_login_direct.json")
    assert code == 0
    assert response["chat_token"].count(".") == 2
    assert any(k.endswith("/tenant") for k in response["claims"])


def test_every_function_has_a_sample_event(template):
    names = [p.name for p in EVENTS.glob("*.json")]
    for function in template.functions.values():
        folder = function.code_uri.name
        assert any(n.startswith(folder) for n in names), f"{function.logical_id}: no events/{folder}*.json"


def test_invoke_names_the_functions_it_knows_when_given_an_unknown_one(capsys):
    assert main(["invoke", "NoSuchFunction", "-e", str(EVENTS / "jwks.json")]) == 2
    assert "LoginExternalFunction" in capsys.readouterr().err


def test_invoke_refuses_an_event_that_is_not_json(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["invoke", "Jwks", "-e", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "version", "role"), [
    ("post_login_cognito_v2.json", "2", "visitor"),
    ("post_login_cognito_v2_operator.json", "2", "operator"),
    ("post_login_cognito_v1.json", "1", "visitor"),
])
def test_cognito_trigger_samples_come_back_with_the_chat_token_claim(capsys, name, version, role):
    # When the Cognito samples run through the post-login function (the demo tenant by default)
    code, event = _invoke(capsys, "PostLoginFunction", EVENTS / name)
    assert code == 0
    ns = "https://switchboard.dev/claims"
    if version == "2":
        # Then V2 puts the claims in both the ID and the access token
        details = event["response"]["claimsAndScopeOverrideDetails"]
        for token in ("idTokenGeneration", "accessTokenGeneration"):
            claims = details[token]["claimsToAddOrOverride"]
            assert claims[f"{ns}/tenant"] == "demo" and claims[f"{ns}/role"] == role
            assert claims[f"{ns}/chat_token"].count(".") == 2
    else:
        # And V1 in the ID token, with string values
        claims = event["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"]
        assert all(isinstance(v, str) for v in claims.values())
        assert claims[f"{ns}/role"] == role and claims[f"{ns}/level"] == "1"


def test_the_follow_up_mailer_sample_runs_and_counts(capsys):
    # When EventBridge's minute tick runs FollowupMailFunction on a stack with nothing due
    code, counts = _invoke(capsys, "FollowupMailFunction", EVENTS / "followup_mail_scheduled.json")
    # Then it answers what it did: nothing was due
    assert code == 0
    assert counts == {"due": 0, "mailed": 0, "seen_live": 0, "nothing_new": 0, "failed": 0}


def test_the_machine_to_machine_cognito_sample_comes_back_unchanged(capsys):
    # When Cognito's V3 event for a client-credentials token request runs through the function
    code, event = _invoke(capsys, "PostLoginFunction", EVENTS / "post_login_cognito_v3_client_credentials.json")
    # Then it succeeds (Cognito would otherwise fail the machine's token request) and changes nothing
    assert code == 0
    assert event["triggerSource"] == "TokenGeneration_ClientCredentials"
    assert event["response"] == {"claimsAndScopeOverrideDetails": None}


def test_the_support_sweep_sample_runs_and_counts(capsys):
    # When the minute tick runs SupportSweepFunction on a stack where no chat waits
    code, counts = _invoke(capsys, "SupportSweepFunction", EVENTS / "support_sweep_scheduled.json")
    # Then it answers what it did: nothing was due
    assert code == 0
    assert counts == {"due": 0, "assigned": 0, "requeued": 0, "still_queued": 0, "nothing_to_answer": 0,
                      "changed": 0}


#: the sample events other tests here run, besides HTTP_EVENTS (chat_*.json: tests/chat/test_events.py)
OTHER_EVENTS = {"followup_mail_scheduled.json", "support_sweep_scheduled.json", "post_login_direct.json",
                "post_login_cognito_v1.json",
                "post_login_cognito_v2.json", "post_login_cognito_v2_operator.json",
                "post_login_cognito_v3_client_credentials.json"}
#: the outbound events' samples (issue 19): the dispatcher takes a stream batch (the demo tenant has no
#: webhooks, and `switchboard invoke` sets no bus: one event, no delivery); a delivery for a webhook
#: that no longer exists is dropped, not retried
OTHER_EVENTS |= {"events_dispatch_stream.json", "webhook_delivery_unknown_webhook.json"}


def test_the_events_samples_run(capsys):
    code, answer = _invoke(capsys, "EventsDispatchFunction", EVENTS / "events_dispatch_stream.json")
    assert code == 0 and answer == {"events": 1, "deliveries": 0}
    code, answer = _invoke(capsys, "WebhookDeliveryFunction", EVENTS / "webhook_delivery_unknown_webhook.json")
    assert code == 0 and answer == {"batchItemFailures": []}


#: samples no test runs as they are, and why
NOT_RUN = {"key_rotation_create_secret.json": "needs a rotation Secrets Manager started; "
                                              "tests/tokens/test_key_rotation.py drives the four steps"}


def test_every_sample_event_is_listed_here():
    # a new sample must say which test runs it (or why none does)
    names = {p.name for p in EVENTS.glob("*.json") if not p.name.startswith("chat_")}
    assert names == set(HTTP_EVENTS) | OTHER_EVENTS | set(NOT_RUN)


def test_invoke_refuses_an_env_override_that_is_not_name_value(capsys):
    # When --env is given something that is not NAME=VALUE
    for bad in ("RATE_LIMIT_IP", "=1000/20000"):
        assert main(["invoke", "Jwks", "-e", str(EVENTS / "jwks.json"), "--env", bad]) == 2
        # Then the command says which, and runs nothing
        err = capsys.readouterr().err
        assert "--env wants NAME=VALUE" in err and repr(bad) in err


def test_invoke_reports_a_crashing_function_with_a_failing_exit_code(tmp_path, capsys):
    # Given an event the function cannot take at all (not an API Gateway event)
    event = tmp_path / "event.json"
    event.write_text("[1, 2]")
    # When it is invoked
    code = main(["invoke", "Jwks", "-e", str(event)])
    # Then the error is printed as Lambda reports it, and the exit code says it failed
    out = capsys.readouterr().out
    assert code == 1, out
    assert set(json.loads(out[out.index("{"):])) == {"errorType", "errorMessage"}
