"""`switchboard seed FILE` loads the contract's seed file into a deployed stack, idempotently."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from switchboard_local.cli import main
from switchboard_local.provision import LOCAL_REFS
from tests.conftest import SEED

TABLE = LOCAL_REFS["Table"]
WEB = Path(__file__).resolve().parents[2] / "web"


@pytest.fixture
def seed_file(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED))
    return path


def sam_project(tmp_path, *, stack, region):
    """A project folder whose samconfig.toml is what `sam deploy --guided` writes for ``stack`` in ``region``."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "samconfig.toml").write_text(
        f'version = 0.1\n[default.global.parameters]\nstack_name = "{stack}"\n'
        f'[default.deploy.parameters]\nregion = "{region}"\n')
    return project


def _operators(svc, tenant):
    return svc.store.staff.get_by_email(tenant, "ana@acme.test")


def test_seeding_by_table_name_creates_tenants_and_operators_and_is_idempotent(aws, svc, seed_file, capsys):
    assert main(["seed", str(seed_file), "--table", TABLE, "--region", "us-east-1"]) == 0
    first = svc.store.staff.get_by_email("acme", "ana@acme.test")
    assert first is not None and svc.store.tenants.get("globex") is not None
    assert "ana@acme.test" in capsys.readouterr().out

    assert main(["seed", str(seed_file), "--table", TABLE, "--region", "us-east-1"]) == 0
    again = svc.store.staff.get_by_email("acme", "ana@acme.test")
    assert (again.id, again.password_hash) == (first.id, first.password_hash)  # nothing changed


@pytest.mark.filterwarnings("ignore:Tried to parse")
def test_seeding_by_stack_name_reads_the_table_from_the_stack_outputs(aws, svc, seed_file):
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    cfn.create_stack(StackName="switchboard-prod", TemplateBody=json.dumps({
        "Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"TableName": {"Value": TABLE}}}))
    assert main(["seed", str(seed_file), "--stack", "switchboard-prod", "--region", "us-east-1"]) == 0
    assert svc.store.tenants.get("acme") is not None


@pytest.mark.filterwarnings("ignore:Tried to parse")
def test_seed_file_alone_seeds_the_stack_samconfig_names_as_sam_deploy_does(aws, svc, seed_file, tmp_path,
                                                                             monkeypatch):
    # Given a deployed stack, and the samconfig.toml `sam deploy --guided` wrote for it
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    cfn.create_stack(StackName="switchboard-prod", TemplateBody=json.dumps({
        "Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"TableName": {"Value": TABLE}}}))
    monkeypatch.chdir(sam_project(tmp_path, stack="switchboard-prod", region="us-east-1"))
    assert svc.store.client  # the test's own client, made while the environment names a region
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)  # the region too comes from samconfig.toml
    monkeypatch.delenv("AWS_REGION", raising=False)
    # When the seed file alone is named, as the contract writes it
    assert main(["seed", str(seed_file)]) == 0
    # Then that stack's table has the tenants
    assert svc.store.tenants.get("acme") is not None


def test_a_table_named_on_the_command_line_keeps_the_aws_configurations_region(aws, svc, seed_file, tmp_path,
                                                                                 monkeypatch):
    # Given a samconfig.toml for a stack deployed elsewhere, and this shell's AWS region
    monkeypatch.chdir(sam_project(tmp_path, stack="elsewhere", region="ap-southeast-2"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # When a table is named (in this shell's region)
    assert main(["seed", str(seed_file), "--table", TABLE]) == 0
    # Then it was seeded there: samconfig's region goes with samconfig's stack only
    assert svc.store.tenants.get("acme") is not None


def test_seed_file_alone_without_a_samconfig_asks_for_the_stack(aws, svc, seed_file, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["seed", str(seed_file)]) == 2
    assert "--stack" in capsys.readouterr().err
    assert svc.store.tenants.get("acme") is None


def test_an_invalid_seed_file_is_refused_before_anything_is_written(aws, svc, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tenants": [{"id": "Bad Id!", "name": "x"}]}))
    assert main(["seed", str(bad), "--table", TABLE, "--region", "us-east-1"]) == 2
    assert "not valid" in capsys.readouterr().err
    assert svc.store.tenants.get("Bad Id!") is None


@pytest.fixture
def published(aws):
    """The pages published to a deployed stack's bucket; the bucket's S3 client."""
    # Given a deployed stack's outputs
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="sb-web")
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    cfn.create_stack(StackName="switchboard-prod", TemplateBody=json.dumps({
        "Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"WebBucketName": {"Value": "sb-web"}, "ApiUrl": {"Value": "https://api.example"},
                    "ChatUrl": {"Value": "wss://chat.example/live"}}}))
    # When the pages are published
    assert main(["publish-web", "--stack", "switchboard-prod", "--tenant", "acme", "--region", "us-east-1"]) == 0
    return s3


@pytest.mark.filterwarnings("ignore:Tried to parse")
def test_publish_web_uploads_the_pages_and_their_config_to_the_stacks_bucket(published, capsys):
    s3 = published
    # Then the widget, the demo page and the back office are there, with their types and the APIs' whereabouts
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="sb-web")["Contents"]}
    assert {"widget.js", "demo/index.html", "backoffice/index.html", "switchboard-config.json"} <= keys
    widget = s3.get_object(Bucket="sb-web", Key="widget.js")
    assert widget["ContentType"] in ("text/javascript", "application/javascript")
    config = json.loads(s3.get_object(Bucket="sb-web", Key="switchboard-config.json")["Body"].read())
    assert config == {"api": "https://api.example", "ws": "wss://chat.example/live", "tenant": "acme"}


@pytest.mark.filterwarnings("ignore:Tried to parse")
def test_publish_web_stores_every_back_office_module_as_javascript_asked_for_again_on_each_load(published):
    s3 = published
    backoffice = WEB / "backoffice"
    modules = sorted(p.relative_to(WEB).as_posix() for p in backoffice.rglob("*.js"))
    assert "backoffice/main.js" in modules and any(m.startswith("backoffice/views/") for m in modules)
    # Then each module, in subfolders too, is there as JavaScript: a browser runs no module served
    # as anything else (nor, under the back office's nosniff, any script)
    for key in modules:
        stored = s3.head_object(Bucket="sb-web", Key=key)
        assert stored["ContentType"] == "text/javascript", key
        # And it is revalidated on each load, as the page is: modules kept for minutes could mix
        # two publishes, and an import the older module cannot satisfy stops the page
        assert stored["CacheControl"] == "no-cache", key
    assert s3.head_object(Bucket="sb-web", Key="backoffice/index.html")["CacheControl"] == "no-cache"
    assert s3.head_object(Bucket="sb-web", Key="backoffice/style.css")["ContentType"] == "text/css"


def _totp_seed(tmp_path, secret):
    path = tmp_path / "totp-seed.json"
    path.write_text(json.dumps({"tenants": [{
        "id": "initech", "name": "Initech", "identity_secret": "initech-identity-secret-01",
        "hook_secret": "initech-hook-secret-0123", "operators": [
            {"email": "bill@initech.test", "password": "bill-correct-horse", "role": "admin",
             "totp_secret": secret}]}]}))
    return path


def test_seeding_totp_secrets_by_table_name_needs_the_key_that_seals_them(aws, svc, tmp_path, capsys):
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    path = _totp_seed(tmp_path, secret)
    # Without --totp-key the command refuses before writing anything
    assert main(["seed", str(path), "--table", TABLE, "--region", "us-east-1"]) == 2
    assert "--totp-key" in capsys.readouterr().err
    assert svc.store.tenants.get("initech") is None
    # With it, the operator's secret is stored sealed under that key
    assert main(["seed", str(path), "--table", TABLE, "--totp-key", LOCAL_REFS["TotpKeyAlias"],
                 "--region", "us-east-1"]) == 0
    op = svc.store.staff.get_by_email("initech", "bill@initech.test")
    assert op.totp_enabled and op.totp_secret.startswith("kms1:") and secret not in op.totp_secret


@pytest.mark.filterwarnings("ignore:Tried to parse")
def test_seeding_by_stack_name_seals_totp_secrets_with_the_stacks_key(aws, svc, tmp_path):
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    cfn.create_stack(StackName="switchboard-prod", TemplateBody=json.dumps({
        "Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"TableName": {"Value": TABLE}, "TotpKeyAlias": {"Value": LOCAL_REFS["TotpKeyAlias"]}}}))
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert main(["seed", str(_totp_seed(tmp_path, secret)), "--stack", "switchboard-prod",
                 "--region", "us-east-1"]) == 0
    op = svc.store.staff.get_by_email("initech", "bill@initech.test")
    from switchboard.tokens.sealing import totp_context

    assert svc.sealer.open(op.totp_secret, context=totp_context("initech", op.id)) == secret


def _acme(**changes):
    tenant = {**SEED["tenants"][0], **changes}
    return {"tenants": [tenant]}


@pytest.mark.parametrize("seed", [
    _acme(operators=[{"email": "ana@acme.test", "password": "short", "role": "admin"}]),
    _acme(operators=[{"email": "ana@acme.test", "password": "ana-correct-horse-battery", "role": "owner"}]),
    _acme(allowed_origin=["https://shop.acme.test"]),  # a misspelt key would silently drop the origins
    _acme(identity_secret="too-short"),
    _acme(hook_secret="too-short"),
    _acme(id="Acme Corp"),
    _acme(claims={"sub": "overwritten"}),  # a reserved claim name
    # a website's keys over plain http from the network: anyone on the way could swap them
    _acme(trusted_issuers=[{"id": "shop", "issuer": "https://shop.acme.test", "audience": "switchboard",
                            "jwks_uri": "http://shop.acme.test/.well-known/jwks.json"}]),
], ids=["short-password", "unknown-role", "misspelt-key", "short-identity-secret", "short-hook-secret",
        "bad-tenant-id", "reserved-claim", "jwks-over-http"])
def test_a_seed_the_contract_does_not_allow_is_refused_clearly_and_writes_nothing(aws, svc, tmp_path, capsys, seed):
    # Given a seed file with one thing wrong
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(seed))
    # When it is loaded
    code = main(["seed", str(bad), "--table", TABLE, "--region", "us-east-1"])
    # Then the command says so, without a traceback, and the table is untouched
    err = capsys.readouterr().err
    assert code != 0 and "switchboard:" in err and "Traceback" not in err, err
    assert svc.store.tenants.get("acme") is None and svc.store.tenants.get(seed["tenants"][0]["id"]) is None


def test_seeded_origins_and_emails_are_stored_as_the_checks_compare_them(aws, svc, tmp_path):
    # Given a seed written the way people write it: a trailing slash, an e-mail in mixed case
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(_acme(allowed_origins=["https://shop.acme.test/"], operators=[
        {"email": "Ana@Acme.Test", "password": "ana-correct-horse-battery", "role": "admin"}])))
    # When it is loaded
    assert main(["seed", str(path), "--table", TABLE, "--region", "us-east-1"]) == 0
    # Then the origin is the one a browser sends, and the operator signs in by any case of the address
    assert svc.store.tenants.get("acme").allowed_origins == ("https://shop.acme.test",)
    assert svc.store.staff.get_by_email("acme", "ana@acme.test").email == "ana@acme.test"
