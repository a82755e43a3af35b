"""Create the template's AWS resources in whatever AWS boto3 points at (moto, locally).

Tables come from the template's own definitions, so tests, the local stack and the
deployed stack cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from switchboard_local.template import Template

__all__ = ["LOCAL_REFS", "function_environment", "provision"]

#: Local physical names for the template's resources.
#: ``ChatApi`` makes ``WS_MANAGEMENT_ENDPOINT`` an execute-api URL that moto answers in tests;
#: ``switchboard dev`` points it at its own WebSocket gateway instead.
LOCAL_REFS: dict[str, str] = {"Table": "switchboard-local", "SigningKeys": "switchboard-local/signing-keys",
                              "VerifyKeys": "switchboard-local/verify-keys",
                              "ChatApi": "local", "ArchiveBucket": "switchboard-local-archive",
                              "AttachmentsBucket": "switchboard-local-attachments",
                              "TotpKeyAlias": "alias/switchboard-local-totp",
                              # names only: the local stack's reports run on DuckDB, never Athena
                              "ReportsWorkGroup": "switchboard-local-reports", "ReportsDatabase": "switchboard_local"}


def function_environment(template: Template, function_id: str, refs: dict[str, Any] | None = None, *,
                         strict: bool = True) -> dict[str, str]:
    """The function's environment variables with ``!Ref``s resolved to local values. Not
    ``strict``: a value that cannot be resolved locally (an ``!If`` on a CloudFront domain) is left
    out, so the function falls back to its setting's default (the cold-start bench)."""
    refs = {**LOCAL_REFS, **(refs or {})}
    fn = template.functions[function_id]
    env = {}
    for name, value in fn.environment.items():
        try:
            env[name] = str(template.resolve(value, refs))
        except KeyError:
            if strict:
                raise
    return env


def shared_environment(template: Template, refs: dict[str, Any] | None = None) -> dict[str, str]:
    """The Globals environment (what every function sees), resolved locally."""
    refs = {**LOCAL_REFS, **(refs or {})}
    glob = template.doc.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {k: str(template.resolve(v, refs)) for k, v in glob.items()}


def provision(template: Template, refs: dict[str, str] | None = None) -> dict[str, str]:
    """Create tables (with TTL), buckets, KMS keys with their aliases, the SES identity mail is
    sent as, and the signing-key secret holding one fresh key."""
    from switchboard.tokens.key_rotation import rotate_now

    refs = {**LOCAL_REFS, **(refs or {})}
    ddb = boto3.client("dynamodb")
    for logical_id, definition in template.table_definitions().items():
        name = refs.get(logical_id, logical_id)
        ddb.create_table(TableName=name, **definition["create"])
        if definition["ttl"]:
            ddb.update_time_to_live(TableName=name,
                                    TimeToLiveSpecification={"AttributeName": definition["ttl"], "Enabled": True})
    s3 = boto3.client("s3")
    for logical_id in template.of_type("AWS::S3::Bucket"):
        s3.create_bucket(Bucket=refs.get(logical_id, logical_id.lower()))
    kms = boto3.client("kms")
    for logical_id in template.of_type("AWS::KMS::Alias"):
        target = template.resources[logical_id]["Properties"]["TargetKeyId"].value  # !Ref <the key>
        key = kms.create_key(Description=template.resources[target]["Properties"].get("Description", target))
        kms.create_alias(AliasName=refs.get(logical_id, f"alias/{logical_id}"),
                         TargetKeyId=key["KeyMetadata"]["KeyId"])
    # the identity mail is sent as (template parameter MailIdentity), verified as a deployer does in SES
    identity = template.parameter_defaults().get("MailIdentity")
    if identity:
        boto3.client("sesv2").create_email_identity(EmailIdentity=str(identity))
    sm = boto3.client("secretsmanager")
    for logical_id in ("SigningKeys", "VerifyKeys"):
        props = template.resources[logical_id]["Properties"]
        sm.create_secret(Name=refs[logical_id], SecretString=props.get("SecretString", json.dumps({"keys": []})))
    rotate_now(refs["SigningKeys"])  # what the template's RotateImmediatelyOnUpdate does on deploy
    provision_queues(template, refs)
    provision_versioning(template, refs)
    return refs


def provision_versioning(template: Template, refs: dict[str, str]) -> None:
    """Versioning on the buckets the template versions (the archive): an erasure must find and
    delete every version, locally as in AWS."""
    s3 = boto3.client("s3")
    for logical_id, res in template.of_type("AWS::S3::Bucket").items():
        if (res.get("Properties", {}).get("VersioningConfiguration") or {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=refs.get(logical_id, logical_id.lower()),
                                     VersioningConfiguration={"Status": "Enabled"})


#: the webhooks' queues (issue 19): !Ref of a queue is its URL; moto's URLs for these names
LOCAL_REFS.update({"WebhookQueue": "https://sqs.us-east-1.amazonaws.com/123456789012/switchboard-local-webhooks",
                   "WebhookDeadLetterQueue":
                       "https://sqs.us-east-1.amazonaws.com/123456789012/switchboard-local-webhooks-dlq"})


def provision_queues(template: Template, refs: dict[str, str]) -> dict[str, str]:
    """The template's SQS queues, dead-letter queues first, with their visibility, retention and
    redrive policy as the template says; ``refs`` gets each queue's real URL."""
    sqs = boto3.client("sqs")
    queues = template.of_type("AWS::SQS::Queue")
    arns: dict[str, str] = {}
    for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {})):
        props = queues[logical_id].get("Properties", {})
        attributes = {k: str(props[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in props}
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"].value.split(".")[0]  # !GetAtt <queue>.Arn
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arns[target],
                                                      "maxReceiveCount": str(redrive["maxReceiveCount"])})
        name = refs.get(logical_id, logical_id).rsplit("/", 1)[-1]
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        refs[logical_id] = url
        arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return refs
