"""template.yaml: valid SAM, lint-clean, least privilege, and in step with the code."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CONTRACT_HTTP_ROUTES = {
    "POST /auth/external", "POST /auth/internal", "POST /auth/refresh", "POST /auth/revoke", "GET /auth/me",
    "GET /auth/sessions", "GET /.well-known/jwks.json",
}


def test_every_auth_core_route_of_the_contract_is_declared(template):
    assert {r.route_key for r in template.http_routes()} >= CONTRACT_HTTP_ROUTES


def test_every_function_has_its_handler_file(template):
    for fn in template.functions.values():
        source = fn.module_path.read_text()
        assert f"def {fn.attribute}" in source or f"{fn.attribute} =" in source, fn.logical_id


def test_no_function_imports_pydantic_or_pyjwt(template):
    # Given every handler of the template, imported in one fresh interpreter as Lambda would
    # (pydantic and its validators cost ~30-40 ms of cold start: requests are msgspec Structs;
    # PyJWT ~13 ms: tokens go through switchboard.tokens.jws)
    script = """
import importlib.util, json, sys
for path in json.loads(sys.argv[1]):
    spec = importlib.util.spec_from_file_location("fn_" + str(abs(hash(path))), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "jwt")))
"""
    paths = sorted({str(fn.module_path) for fn in template.functions.values()})
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "shared" / "python"), "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", script, json.dumps(paths)], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    # Then none of them loaded either
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    # And no module of the layer or of a function imports one later, on a first call - but
    # pyjwt inside the modules that verify other issuers' tokens (SSO's ID tokens, POST
    # /auth/exchange: RS256/PS256 and the issuer's JWKS are PyJWKClient's job, as the team's rules
    # say), lazily, so no function loads it before its first request on that path
    for source in [*(ROOT / "layers").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        text = source.read_text()
        if source.relative_to(ROOT).as_posix() in OTHER_ISSUERS:
            assert not re.search(r"^(from|import) (pydantic|jwt)\b", text, re.M), source  # never at import
            text = re.sub(r"^\s+(from jwt import|import jwt\b).*$", "", text, flags=re.M)
        assert not re.search(r"^\s*(from|import) (pydantic|jwt)\b", text, re.M), source


#: the modules that verify other issuers' tokens with pyjwt, importing it on that path only
OTHER_ISSUERS = {"layers/shared/python/switchboard/auth/oidc.py", "layers/shared/python/switchboard/auth/exchange.py"}


def test_sam_translator_and_cfn_lint_accept_the_template():
    from cfnlint.api import lint_all

    matches = lint_all((ROOT / "template.yaml").read_text())
    # errors (E) and warnings (W) fail; informational hints (I) are advice, as in `sam validate --lint`
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []


def _policy_statements(template):
    for logical_id, fn in template.of_type("AWS::Serverless::Function").items():
        for policy in fn["Properties"].get("Policies", []):
            assert isinstance(policy, dict) and "Statement" in policy, f"{logical_id}: use explicit statements"
            for st in policy["Statement"]:
                yield logical_id, st


def test_functions_have_least_privilege(template):
    for logical_id, st in _policy_statements(template):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert not any(a.endswith("*") for a in actions), (logical_id, actions)
        assert "dynamodb:Scan" not in actions, f"{logical_id}: no request path scans"
        assert st["Resource"] != "*", logical_id


def _actions(statement):
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


#: what each function may do, and nothing more. The local stack denies every call outside a
#: function's policy (src/switchboard_local/iam.py), so a missing action fails the tests that use
#: it; an extra one fails only here - a new permission is granted by editing this list on purpose.
FUNCTION_ACTIONS = {
    # kms:Decrypt: the tenant's rotated identity secrets are sealed (test_tenant_secrets_...)
    "LoginExternalFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "execute-api:ManageConnections", "kms:Decrypt", "secretsmanager:GetSecretValue"}),
    # as LoginExternal: a visitor signs in, and an anonymous one's conversation is carried over
    "TokenExchangeFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "execute-api:ManageConnections", "secretsmanager:GetSecretValue"}),
    # a reset link by mail; the reset: the link and the password in one transaction, then every
    # session ended (sockets closed), the other links and MFA challenges dropped
    "PasswordRecoveryFunction": frozenset({
        "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
        "dynamodb:UpdateItem", "execute-api:ManageConnections", "ses:SendEmail"}),
    # the CLI's device sign-in: the request and its user code, polls, the approving admin's
    # record and session (with its ConditionCheck); verifies the approver's token, mints the CLI's
    "DeviceAuthFunction": frozenset({
        "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue"}),
    "LoginInternalFunction": frozenset({
        "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue"}),
    "RefreshFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
        "dynamodb:UpdateItem", "execute-api:ManageConnections", "secretsmanager:GetSecretValue"}),
    "RevokeFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "execute-api:ManageConnections", "secretsmanager:GetSecretValue"}),
    "MeFunction": frozenset({"dynamodb:GetItem", "secretsmanager:GetSecretValue"}),
    "SessionsFunction": frozenset({"dynamodb:GetItem", "dynamodb:Query", "secretsmanager:GetSecretValue"}),
    "JwksFunction": frozenset({"secretsmanager:GetSecretValue"}),
    # the tenant, and its staff presence (section 8's "online": one Query of T#<tid>#OPS)
    "WidgetSettingsFunction": frozenset({"dynamodb:GetItem", "dynamodb:Query"}),
    # section 8: a follow-up mail's link spent (conditional delete), then a visitor's sign-in
    "AuthResumeFunction": frozenset({
        "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
        "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"}),
    # section 8: due follow-ups (GSI2), their channels, messages and visitors' connections, the
    # resume link and its pointer written (one BatchWriteItem), the batch deleted; the mail, as MailFrom only
    "FollowupMailFunction": frozenset({
        "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "ses:SendEmail"}),
    "CorsPreflightFunction": frozenset(),
    # staff land on their record: a link (Put, Update) and the session's check of the record
    # kms:Decrypt: rotated hook secrets are sealed
    "PostLoginFunction": frozenset({
        "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "kms:Decrypt",
        "secretsmanager:GetSecretValue"}),
    # SSO (contract section 7): each step holds what it needs, no more
    "AuthProvidersFunction": frozenset({"dynamodb:GetItem"}),
    "OidcAuthorizeFunction": frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}),
    "OidcCallbackFunction": frozenset({  # the client secret; no signing key
        "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue"}),
    "OidcCompleteFunction": frozenset({  # the signing key; no client secret
        "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
        "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"}),
    "IdentitiesFunction": frozenset({
        "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "execute-api:ManageConnections", "secretsmanager:GetSecretValue"}),
    "MfaFunction": frozenset({
        "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
        "dynamodb:UpdateItem", "kms:Decrypt", "kms:Encrypt", "secretsmanager:GetSecretValue"}),
    "TotpFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "execute-api:ManageConnections", "kms:Decrypt", "kms:Encrypt", "secretsmanager:GetSecretValue"}),
    "AccountFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
        "dynamodb:UpdateItem", "execute-api:ManageConnections", "secretsmanager:GetSecretValue"}),
    "StaffFunction": frozenset({"dynamodb:GetItem", "dynamodb:Query", "secretsmanager:GetSecretValue"}),
    # issue 17: the support sweep (requeue and assign transactions, fan-out, stale connections' cleanup)
    "SupportSweepFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "execute-api:ManageConnections"}),
    # issue 17: canned replies, each with its shortcut pointer in one transaction (Put/Update/Delete)
    "CannedFunction": frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                 "dynamodb:Query", "secretsmanager:GetSecretValue"}),
    "AdminOperatorsFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
        "dynamodb:UpdateItem", "execute-api:ManageConnections", "secretsmanager:GetSecretValue"}),
    "AdminEventsFunction": frozenset({"dynamodb:GetItem", "dynamodb:Query", "secretsmanager:GetSecretValue"}),
    # the tenant's settings: its conditional Put and the audit event's; seals secrets, never opens one
    "AdminTenantFunction": frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "kms:Encrypt",
                                      "secretsmanager:GetSecretValue"}),
    # reads only: the table (session, tenant), the archive; runs queries in its Athena workgroup
    "AdminReportsFunction": frozenset({
        "dynamodb:GetItem", "secretsmanager:GetSecretValue", "athena:StartQueryExecution",
        "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "glue:GetDatabase",
        "glue:GetTable", "glue:GetPartitions", "s3:GetObject", "s3:ListBucket", "s3:PutObject",
        "s3:GetBucketLocation", "s3:AbortMultipartUpload"}),
    "KeyRotationFunction": frozenset({
        "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage"}),
    "ChatAuthorizerFunction": frozenset({"dynamodb:GetItem", "secretsmanager:GetSecretValue"}),
    "ChatConnectFunction": frozenset({
        "dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}),
    "ChatDisconnectFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "execute-api:ManageConnections"}),
    "ChatDefaultFunction": frozenset({"dynamodb:GetItem"}),
    "ChatReadFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}),
    "ChatConversationFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "execute-api:ManageConnections"}),
    "ChatCloseFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "execute-api:ManageConnections", "s3:PutObject"}),
    # UpdateItem: its actions' rate-limit counters only (test_the_attachment_function_writes_only_counters)
    "ChatAttachmentFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "s3:GetObject",
        "s3:PutObject"}),
    # outbound events (issue 19): the tenant's webhooks, the bus, the queue; the stream's read actions
    # come from SAM's DynamoDB event (the local pump reads moto's stream itself)
    "EventsDispatchFunction": frozenset({"dynamodb:GetItem", "events:PutEvents", "sqs:SendMessage"}),
    # opens webhook secrets only (test_the_totp_key_...); a failed attempt's backoff is its visibility
    "WebhookDeliveryFunction": frozenset({
        "dynamodb:GetItem", "kms:Decrypt", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility"}),
    # privacy requests: a visitor's records by key, the audit; every version of their files; their
    # sockets closed (test_only_functions_that_post_to_sockets_...)
    "AdminVisitorsFunction": frozenset({
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "execute-api:ManageConnections",
        "secretsmanager:GetSecretValue", "s3:ListBucketVersions", "s3:GetObject", "s3:DeleteObject",
        "s3:DeleteObjectVersion"}),
}

#: functions that only read: whatever a request to them holds, they change nothing in the table
READ_ONLY_FUNCTIONS = {"MeFunction", "SessionsFunction", "JwksFunction", "WidgetSettingsFunction",
                       "AuthProvidersFunction",
                       "CorsPreflightFunction", "StaffFunction", "AdminEventsFunction", "ChatAuthorizerFunction",
                       "ChatDefaultFunction", "AdminReportsFunction"}
DYNAMODB_READS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}


def test_each_function_may_do_exactly_what_it_needs(template):
    # Given every function's policies, as deployed
    allowed: dict[str, set[str]] = {fid: set() for fid in template.of_type("AWS::Serverless::Function")}
    for logical_id, st in _policy_statements(template):
        assert st["Effect"] == "Allow", logical_id
        allowed[logical_id].update(_actions(st))
    # Then each may do exactly what the list above grants it
    assert set(allowed) == set(FUNCTION_ACTIONS)
    for fid, actions in allowed.items():
        assert actions == FUNCTION_ACTIONS[fid], (fid, "differs by", sorted(actions ^ FUNCTION_ACTIONS[fid]))
    # And a function that only reads may only read the table
    for fid in READ_ONLY_FUNCTIONS:
        assert {a for a in allowed[fid] if a.startswith("dynamodb:")} <= DYNAMODB_READS, fid
    # And no policy names a transaction: IAM has no such action (a transaction is authorised item
    # by item: PutItem, UpdateItem, DeleteItem, ConditionCheckItem, GetItem), so it would only mislead
    assert not {a for actions in allowed.values() for a in actions if a.startswith("dynamodb:Transact")}


def test_the_attachment_function_writes_only_counters(template):
    # Given ChatAttachmentFunction's statements that may write the table
    writes = [st for logical_id, st in _policy_statements(template) if logical_id == "ChatAttachmentFunction"
              and set(_actions(st)) - DYNAMODB_READS and any(a.startswith("dynamodb:") for a in _actions(st))]
    # Then there is one, UpdateItem alone, on the items whose key starts as the action counters'
    # (chat_limits.py: RL#ws#<tenant>#<user>): it can count its actions and touch nothing else
    assert len(writes) == 1 and _actions(writes[0]) == ["dynamodb:UpdateItem"]
    assert writes[0]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["RL#ws#*"]}}


def test_the_public_sso_start_updates_only_its_address_counters(template):
    # GET /auth/oidc/{p}/authorize answers anyone: its UpdateItem (counting starts per address)
    # reaches the address counters (ratelimit.py: RL#ip#<address>) and no staff or tenant item
    writes = [st for logical_id, st in _policy_statements(template) if logical_id == "OidcAuthorizeFunction"
              and "dynamodb:UpdateItem" in _actions(st)]
    assert len(writes) == 1 and _actions(writes[0]) == ["dynamodb:UpdateItem"]
    assert writes[0]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["RL#ip#*"]}}


def test_functions_reach_only_the_table_and_its_indexes(template):
    # Given the table's ARN and its indexes' (what a policy may name: not every table of the account)
    from switchboard_local.template import Tag

    indexes = [i["IndexName"] for i in template.resources["Table"]["Properties"]["GlobalSecondaryIndexes"]]
    table_arns = {Tag("GetAtt", "Table.Arn"), *(Tag("Sub", f"${{Table.Arn}}/index/{name}") for name in indexes)}
    for logical_id, st in _policy_statements(template):
        if any(a.startswith("dynamodb:") for a in _actions(st)):
            # Then every DynamoDB statement names only those
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            assert resources and set(resources) <= table_arns, (logical_id, resources)
            assert all(a.startswith("dynamodb:") for a in _actions(st)), logical_id


def test_the_totp_key_trusts_only_the_account_and_its_iam_policies(template):
    # Given the TOTP key's own policy (a key policy can grant use to any principal, past IAM)
    from switchboard_local.template import Tag

    statements = template.resources["TotpKey"]["Properties"]["KeyPolicy"]["Statement"]
    root = Tag("Sub", "arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
    # Then it names the account itself and no one else: who may use the key is decided by the
    # functions' IAM policies (only the second factor functions may decrypt:
    # test_only_the_second_factor_functions_may_use_the_totp_key_and_only_for_totp)
    assert statements and all(st["Principal"] == {"AWS": root} for st in statements), statements
    assert all("NotPrincipal" not in st for st in statements), statements


def test_table_has_ttl_and_its_two_indexes(template):
    (definition,) = template.table_definitions().values()
    assert definition["ttl"] == "ttl"
    assert [i["IndexName"] for i in definition["create"]["GlobalSecondaryIndexes"]] == ["GSI1", "GSI2"]


def test_the_local_table_is_provisioned_with_the_templates_ttl_and_indexes(template, aws):
    # Given the table the local stack and the tests provision from template.yaml
    import boto3

    from switchboard_local.provision import LOCAL_REFS

    ddb = boto3.client("dynamodb")
    # When AWS is asked about it
    ttl = ddb.describe_time_to_live(TableName=LOCAL_REFS["Table"])["TimeToLiveDescription"]
    table = ddb.describe_table(TableName=LOCAL_REFS["Table"])["Table"]
    # Then expired items would go, as they do in the deployed table
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == ["GSI1", "GSI2"]


CONTRACT_WS_ACTIONS = {
    "support.open", "channel.query", "channel.watch", "channel.history", "channel.assign", "channel.create",
    "channel.close", "message.send", "message.delete", "typing", "read", "attachment.presign",
    "visitor.email", "visitor.context", "channel.rate",  # section 8
}
CONTRACT_WS_ACTIONS |= {"channel.label", "presence.set"}  # contract section 8 (issue 17; desk-visitor adds its own)


#: actions beyond the contract (docs/chat-policy.md says why)
EXTRA_WS_ACTIONS = {"attachment.open"}


def test_websocket_api_routes_every_action_of_the_contract(template):
    (api,) = template.of_type("AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    assert set(template.websocket_routes()) == (CONTRACT_WS_ACTIONS | EXTRA_WS_ACTIONS
                                                | {"$connect", "$disconnect", "$default"})


def test_connect_route_is_guarded_by_the_request_authorizer(template):
    (connect,) = [r for r in template.of_type("AWS::ApiGatewayV2::Route").values()
                  if r["Properties"]["RouteKey"] == "$connect"]
    assert connect["Properties"]["AuthorizationType"] == "CUSTOM"
    (authorizer,) = template.of_type("AWS::ApiGatewayV2::Authorizer").values()
    assert authorizer["Properties"]["AuthorizerType"] == "REQUEST"
    assert authorizer["Properties"]["IdentitySource"] == ["route.request.querystring.token"]


def test_every_action_route_sends_the_function_reply_back(template):
    routes = template.of_type("AWS::ApiGatewayV2::Route")
    answered = {r["Properties"]["RouteId"].value for r in template.of_type("AWS::ApiGatewayV2::RouteResponse").values()}
    for logical_id, route in routes.items():
        if route["Properties"]["RouteKey"] not in ("$connect", "$disconnect"):
            assert logical_id in answered, logical_id


def _manages_connections(template, function_id):
    policies = template.resources[function_id]["Properties"].get("Policies", [])
    statements = [st for p in policies for st in p["Statement"]]
    return any("execute-api:ManageConnections" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
               for st in statements)


def test_only_functions_that_post_to_sockets_may_manage_connections(template):
    # revocation reaches live sockets: every function that can end a session posts to them
    posting = {"ChatConversationFunction", "ChatCloseFunction", "ChatDisconnectFunction", "RevokeFunction",
               "RefreshFunction", "TotpFunction", "AccountFunction", "AdminOperatorsFunction",
               "LoginExternalFunction", "IdentitiesFunction", "TokenExchangeFunction", "PasswordRecoveryFunction",
               "AdminVisitorsFunction"}  # an erased visitor's sockets are closed
    posting |= {"SupportSweepFunction"}  # issue 17: a moved chat's channel.updated to its old and new assignee
    for function_id in template.of_type("AWS::Serverless::Function"):
        assert _manages_connections(template, function_id) == (function_id in posting), function_id


def test_only_the_mailing_functions_send_mail_and_only_as_mail_from(template):
    senders = {}
    for logical_id, st in _policy_statements(template):
        if any(a.startswith("ses:") for a in _actions(st)):
            senders[logical_id] = st
    # (and section 8's follow-up mail)
    assert set(senders) == {"PasswordRecoveryFunction", "FollowupMailFunction"}
    for st in senders.values():
        assert _actions(st) == ["ses:SendEmail"]
        # one identity (no "*"), and only the configured from-address
        assert st["Resource"].name == "Sub" and st["Resource"].value.endswith(":identity/${MailIdentity}")
        assert st["Condition"]["StringEquals"]["ses:FromAddress"].value == "MailFrom"


def test_key_secret_is_rotated_immediately_by_the_rotation_function(template):
    schedule = template.resources["SigningKeysRotation"]["Properties"]
    assert schedule["RotateImmediatelyOnUpdate"] is True
    assert json.loads(template.resources["SigningKeys"]["Properties"]["SecretString"]) == {"keys": []}


# -- the real SAM CLI ---------------------------------------------------------------------
def _sam() -> str:
    candidates = [os.environ.get("SAM_CLI"), str(ROOT / ".tools/sam/bin/sam"), shutil.which("sam")]
    for c in candidates:
        if c and Path(c).exists():
            return c
    pytest.fail("SAM CLI not found: run the tests with `make test`, which installs it into .tools/sam")


def _python312_path() -> str:
    """sam build needs a python3.12 on PATH for the python3.12 runtime."""
    roots = [os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))]
    found = sorted(glob.glob(f"{roots[0]}/versions/3.12*/bin")) + [
        d for d in ("/usr/bin", "/usr/local/bin") if Path(d, "python3.12").exists()]
    if not found:
        pytest.fail("no python3.12 found for `sam build` (the Lambda runtime is python3.12)")
    return found[-1]


def _run_sam(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1",
           "PATH": _python312_path() + os.pathsep + os.environ["PATH"]}
    return subprocess.run([_sam(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.sam
def test_sam_validate_lint_passes():
    r = _run_sam("validate", "--lint", "--region", "us-east-1", cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "is a valid SAM Template" in r.stdout + r.stderr


@pytest.mark.sam
def test_sam_build_builds_every_function_and_the_layer(tmp_path, template):
    r = _run_sam("build", "--build-dir", str(tmp_path / "build"), "--template-file", str(ROOT / "template.yaml"),
                 cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    built = tmp_path / "build"
    for logical_id in template.functions:
        assert (built / logical_id / "app.py").exists(), logical_id
    layer = built / "SharedLayer" / "python"
    for module in ("tokens/access.py", "store/keys.py", "edge/httpapi.py", "chat/actions.py", "auth/sessions.py"):
        assert (layer / "switchboard" / module).exists(), module  # the layer's folders, each one
    assert (layer / "cryptography").is_dir() and (layer / "argon2").is_dir()  # requirements installed into the layer
    # PyJWT ships for other issuers' tokens (SSO's ID tokens, auth/exchange.py; imported on those paths only:
    # test_no_function_imports_pydantic_or_pyjwt); requests for SSO's discovery and code exchange
    assert (layer / "jwt").is_dir() and (layer / "requests").is_dir()
    assert (layer / "msgspec").is_dir() and not (layer / "pydantic").exists()  # validation without pydantic
    # And the layer ships bytecode for python3.12, used as shipped: /opt is read-only on Lambda, so
    # without it every cold start would compile every module of the layer again
    sources = sorted(layer.rglob("*.py"))
    assert len(sources) > 100
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        assert pyc.exists(), source
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01, pyc  # PEP 552: hash-based, unchecked
    assert not (layer / "Makefile").exists() and not (layer / "requirements.txt").exists()


# -- least privilege, enforced in every test (src/switchboard_local/iam.py) ---------------------------
def test_a_transactions_items_each_need_their_own_iam_action():
    from switchboard_local.iam import required_actions

    items = [{"Put": {}}, {"ConditionCheck": {}}, {"Update": {}}, {"Delete": {}}]
    assert required_actions("dynamodb", "TransactWriteItems", {"TransactItems": items}) == [
        "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert required_actions("apigatewaymanagementapi", "PostToConnection", {}) == ["execute-api:ManageConnections"]
    assert required_actions("s3", "PutObject", {}) == ["s3:PutObject"]


def test_a_head_of_an_s3_object_needs_read_access_as_in_aws():
    # S3 has no s3:HeadObject action: AWS checks s3:GetObject for a HEAD, so a policy must grant that
    from switchboard_local.iam import required_actions

    assert required_actions("s3", "HeadObject", {"Bucket": "b", "Key": "k"}) == ["s3:GetObject"]


def test_a_call_outside_the_functions_policy_is_denied_as_aws_would(template, aws):
    # Given the JWKS function, whose policy allows only reading the public keys' secret
    import boto3
    from botocore.exceptions import ClientError

    from switchboard_local import iam
    from switchboard_local.provision import LOCAL_REFS

    iam.enforce()
    with iam.running(template, "JwksFunction"):
        boto3.client("secretsmanager").get_secret_value(SecretId=LOCAL_REFS["VerifyKeys"])  # allowed
        # When it tries to read the table, or the private signing keys
        with pytest.raises(ClientError) as denied:
            boto3.client("dynamodb").get_item(TableName=LOCAL_REFS["Table"], Key={"pk": {"S": "x"}, "sk": {"S": "y"}})
        with pytest.raises(ClientError) as secret_denied:
            boto3.client("secretsmanager").get_secret_value(SecretId=LOCAL_REFS["SigningKeys"])
    # Then AWS's answer comes back, for the secret too (the one resource this check holds to the policy)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert secret_denied.value.response["Error"]["Code"] == "AccessDeniedException"
    # And outside any function (test set-up, the CLI) nothing is checked
    boto3.client("dynamodb").get_item(TableName=LOCAL_REFS["Table"], Key={"pk": {"S": "x"}, "sk": {"S": "y"}})


def test_a_secret_named_by_its_arn_is_held_to_the_policy_as_by_its_name(template, aws):
    # Given the secrets' ARNs - what a function's !Ref gives it in AWS
    import boto3
    from botocore.exceptions import ClientError

    from switchboard_local import iam
    from switchboard_local.provision import LOCAL_REFS

    iam.enforce()
    sm = boto3.client("secretsmanager")
    verify_arn = sm.describe_secret(SecretId=LOCAL_REFS["VerifyKeys"])["ARN"]
    signing_arn = sm.describe_secret(SecretId=LOCAL_REFS["SigningKeys"])["ARN"]
    with iam.running(template, "JwksFunction"):
        # When the JWKS function reads the public keys by ARN, then the private ones
        sm.get_secret_value(SecretId=verify_arn)
        with pytest.raises(ClientError) as denied:
            sm.get_secret_value(SecretId=signing_arn)
    # Then the first is allowed (its policy names it) and the second denied, as by name
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    with iam.running(template, "RefreshFunction"):
        sm.get_secret_value(SecretId=signing_arn)  # a function that signs may read it by ARN too


def test_the_sso_callback_reads_client_secrets_and_never_the_signing_keys(template, aws):
    # Given a provider's client secret where `switchboard seed` puts it
    import boto3
    from botocore.exceptions import ClientError

    from switchboard_local import iam
    from switchboard_local.provision import LOCAL_REFS

    iam.enforce()
    sm = boto3.client("secretsmanager")
    client_secret = sm.create_secret(Name="switchboard-local/oidc/acme/corp", SecretString="s")["ARN"]
    with iam.running(template, "OidcCallbackFunction"):
        # Then the callback reads it (by name or ARN), and not the private signing keys
        sm.get_secret_value(SecretId="switchboard-local/oidc/acme/corp")
        sm.get_secret_value(SecretId=client_secret)
        with pytest.raises(ClientError) as signing:
            sm.get_secret_value(SecretId=LOCAL_REFS["SigningKeys"])
    with iam.running(template, "OidcCompleteFunction"):
        # And the function that signs never reads a client secret
        sm.get_secret_value(SecretId=LOCAL_REFS["SigningKeys"])
        with pytest.raises(ClientError) as other:
            sm.get_secret_value(SecretId="switchboard-local/oidc/acme/corp")
    assert signing.value.response["Error"]["Code"] == other.value.response["Error"]["Code"] == "AccessDeniedException"


def test_work_the_layer_hands_to_threads_is_held_to_the_same_policy(template, aws):
    # Given the JWKS function (no table access), counting a rate-limited attempt - work the
    # layer runs on a thread pool so its writes go out together
    from switchboard.auth import ratelimit
    from switchboard.errors import Unavailable
    from switchboard.runtime import services

    from switchboard_local import iam

    iam.enforce()
    svc = services()
    with iam.running(template, "JwksFunction"), pytest.raises(Unavailable):
        # Then the writes made on the pool's threads are denied too (storage answers 503)
        ratelimit.check(svc.store, svc.settings, [("ip", "192.0.2.1"), ("account", "x")])
    # While outside any function the same call goes through
    ratelimit.check(svc.store, svc.settings, [("ip", "192.0.2.1"), ("account", "x")])


def test_only_the_second_factor_functions_may_use_the_totp_key_and_only_for_totp(template):
    # a role that can read the table must not be able to open second factors with it; the key also
    # seals tenants' secrets, under another purpose: each grant names its purpose (and kind)
    users, tenant_secrets = {}, {}
    for logical_id, st in _policy_statements(template):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if any(a.startswith("kms:") for a in actions):
            assert st["Resource"].name == "GetAtt" and st["Resource"].value == "TotpKey.Arn", logical_id
            if st["Condition"]["StringEquals"]["kms:EncryptionContext:purpose"] == "tenant-secret":
                tenant_secrets[logical_id] = (set(actions), st["Condition"]["StringEquals"].get(
                    "kms:EncryptionContext:kind"))
                continue
            assert st["Condition"] == {"StringEquals": {"kms:EncryptionContext:purpose": "totp"}}, logical_id
            users[logical_id] = set(actions)
    assert users == {"MfaFunction": {"kms:Decrypt", "kms:Encrypt"}, "TotpFunction": {"kms:Decrypt", "kms:Encrypt"}}
    # the sign-ins open only their own kind of secret; the settings function only seals
    assert tenant_secrets == {"LoginExternalFunction": ({"kms:Decrypt"}, "identity"),
                              "PostLoginFunction": ({"kms:Decrypt"}, "hook"),
                              "AdminTenantFunction": ({"kms:Encrypt"}, None),
                              "WebhookDeliveryFunction": ({"kms:Decrypt"}, None)}
    # the webhook delivery opens webhook secrets only: kind webhook:<id>, never identity or hook
    (delivery,) = [st for lid, st in _policy_statements(template)
                   if lid == "WebhookDeliveryFunction" and "kms:Decrypt" in _actions(st)]
    assert delivery["Condition"]["StringLike"] == {"kms:EncryptionContext:kind": "webhook:*"}
    key = template.resources["TotpKey"]
    assert key["DeletionPolicy"] == "Retain" and key["Properties"]["EnableKeyRotation"] is True


def _refs(resource):
    listed = resource if isinstance(resource, list) else [resource]
    return {r.value for r in listed if getattr(r, "name", None) == "Ref"}


def test_only_the_functions_that_sign_tokens_may_read_the_private_keys(template):
    # a function that only verifies tokens reads the public set: if it were compromised, it could
    # still not mint a token
    readers: dict[str, set[str]] = {}
    for logical_id, st in _policy_statements(template):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if "secretsmanager:GetSecretValue" in actions:
            readers.setdefault(logical_id, set()).update(_refs(st["Resource"]))
    signing = {fid for fid, secrets in readers.items() if "SigningKeys" in secrets}
    assert signing == {"LoginExternalFunction", "LoginInternalFunction", "RefreshFunction", "PostLoginFunction",
                       "MfaFunction", "AccountFunction", "KeyRotationFunction", "OidcCompleteFunction",
                       "TokenExchangeFunction", "DeviceAuthFunction", "AuthResumeFunction"}
    for fid in ("MeFunction", "SessionsFunction", "JwksFunction", "RevokeFunction", "TotpFunction",
                "AdminOperatorsFunction", "AdminEventsFunction", "ChatAuthorizerFunction", "StaffFunction",
                "IdentitiesFunction"):
        assert readers[fid] == {"VerifyKeys"}, fid


def test_the_buckets_are_private_encrypted_and_keep_nothing_past_the_retention(template):
    for name in ("ArchiveBucket", "AttachmentsBucket"):
        props = template.resources[name]["Properties"]
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}, name
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        (rule,) = props["LifecycleConfiguration"]["Rules"]
        assert rule["Status"] == "Enabled" and rule["ExpirationInDays"].value == "ArchiveRetentionDays", name


def test_the_back_office_gets_the_same_content_security_policy_in_production_and_locally(template):
    from switchboard_local.web_policy import backoffice_csp

    policy = template.resources["BackofficeHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    deployed = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"].value
    api = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    ws = "wss://${ChatApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    # where presigned URLs point: botocore's virtual-hosted address, global in us-east-1
    files = ("https://${AttachmentsBucket}.s3.${AWS::URLSuffix} "
             "https://${AttachmentsBucket}.s3.${AWS::Region}.${AWS::URLSuffix}")
    assert deployed == backoffice_csp(api, ws, files)
    behaviors = template.resources["WebDistribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]
    assert [(b["PathPattern"], b["ResponseHeadersPolicyId"].value) for b in behaviors] == [
        ("backoffice/*", "BackofficeHeadersPolicy")]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the CloudFront function")
@pytest.mark.parametrize("uri,answer", [
    ("/", {"statusCode": 302, "location": "/backoffice/"}),
    ("/backoffice", {"statusCode": 302, "location": "/backoffice/"}),
    ("/demo", {"statusCode": 302, "location": "/demo/"}),
    ("/backoffice/", {"uri": "/backoffice/index.html"}),
    ("/demo/", {"uri": "/demo/index.html"}),
    ("/backoffice/main.js", {"uri": "/backoffice/main.js"}),
    ("/backoffice/views/inbox.js", {"uri": "/backoffice/views/inbox.js"}),
    ("/widget.js", {"uri": "/widget.js"}),
    ("/switchboard-config.json", {"uri": "/switchboard-config.json"}),
])
def test_the_web_distribution_serves_folders_their_index_and_sends_the_root_to_the_back_office(template, uri,
                                                                                              answer):
    code = template.resources["WebIndexFunction"]["Properties"]["FunctionCode"]
    script = code + f"""
var out = handler({{request: {{uri: {json.dumps(uri)}, method: "GET", headers: {{}}, querystring: {{}}}}}});
console.log(JSON.stringify(out.statusCode ? {{statusCode: out.statusCode, location: out.headers.location.value}}
                                          : {{uri: out.uri}}));
"""
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(run.stdout) == answer
