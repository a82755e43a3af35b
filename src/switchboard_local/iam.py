"""Least privilege, checked locally: each function may call only what its template policy allows.

moto does not enforce IAM, so a policy that lacks an action (say ``dynamodb:ConditionCheckItem``
for a transaction's condition check) would pass every local test and fail only in AWS. Here
every AWS API call made while a template function runs is mapped to the IAM actions AWS
would require and checked against that function's ``Policies`` statements; a missing action
answers ``AccessDeniedException``, as AWS would. Resources are evaluated for Secrets Manager
only - which secret a function may read is what keeps the private signing keys from the
functions that only verify tokens - by the statement's ``!Ref``; other resources and all
conditions are not (the template's ``Resource`` entries are checked by cfn-lint and by review).
"""

from __future__ import annotations

import contextvars
import fnmatch
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from switchboard_local.template import Template

__all__ = ["allowed_actions", "enforce", "required_actions", "running"]

_current: contextvars.ContextVar[tuple[str, frozenset[str], dict[str, set[str] | None]] | None] = \
    contextvars.ContextVar("sb_fn", default=None)
_install_lock = threading.Lock()
_installed = False

_TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem"}
_SERVICE_PREFIX = {"dynamodb": "dynamodb", "s3": "s3", "secretsmanager": "secretsmanager", "kms": "kms",
                   "sesv2": "ses"}  # SES v2's SendEmail is authorised as ses:SendEmail


def _allowing(template: Template, function_id: str) -> Iterator[tuple[list[str], Any]]:
    """(actions, resource) of each ``Effect: Allow`` statement of the function's inline policies."""
    for policy in template.resources[function_id]["Properties"].get("Policies", []) or []:
        if not isinstance(policy, dict):
            continue  # a SAM policy template by name: none in this template
        for statement in policy.get("Statement", []):
            if statement.get("Effect") == "Allow":
                listed = statement["Action"]
                yield (listed if isinstance(listed, list) else [listed]), statement.get("Resource")


def allowed_actions(template: Template, function_id: str) -> frozenset[str]:
    """The actions the function's inline policy statements allow."""
    return frozenset(action for actions, _ in _allowing(template, function_id) for action in actions)


def secret_grants(template: Template, function_id: str) -> dict[str, set[str] | None]:
    """Per Secrets Manager action pattern the function is allowed: the secrets' names (globs) its
    statements name - by ``!Ref`` (the local name of that secret), or by a ``!Sub`` ARN (the name
    part of the resolved ARN, ``switchboard-local/oidc/*``) - or None where a statement names
    them otherwise (``*``: any)."""
    from switchboard_local.provision import LOCAL_REFS

    grants: dict[str, set[str] | None] = {}
    for actions, resources in _allowing(template, function_id):
        names: set[str] = set()
        for r in (resources if isinstance(resources, list) else [resources]):
            if getattr(r, "name", None) == "Ref" and str(r.value) in LOCAL_REFS:
                names.add(LOCAL_REFS[str(r.value)])
            elif getattr(r, "name", None) == "Sub" and ":secret:" in str(r.value):
                names.add(str(template.resolve(r, LOCAL_REFS)).split(":secret:", 1)[1])
        for action in (a for a in actions if a.startswith("secretsmanager:")):
            known = grants.get(action, set())
            grants[action] = None if known is None or not names else known | names
    return grants


def _secret_name(secret_id: str) -> str:
    """A secret's name from its name or ARN (``arn:...:secret:<name>-<6 random characters>``)."""
    if secret_id.startswith("arn:") and ":secret:" in secret_id:
        name = secret_id.split(":secret:", 1)[1]
        return name[:-7] if len(name) > 7 and name[-7] == "-" else name
    return secret_id


def _secret_allowed(grants: dict[str, set[str] | None], action: str, secret_id: str) -> bool:
    from switchboard_local.provision import LOCAL_REFS

    name = _secret_name(secret_id)
    declared = name in LOCAL_REFS.values()
    # a secret the template declares is allowed only by a statement naming it; another one by a
    # statement whose name glob matches it, or that names no secret in particular
    return any(fnmatch.fnmatchcase(action, pattern) and (
        (named is None and not declared) or (named is not None and any(fnmatch.fnmatchcase(name, n) for n in named)))
        for pattern, named in grants.items())


def required_actions(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The IAM actions AWS checks for one API call."""
    if service == "apigatewaymanagementapi":
        return ["execute-api:ManageConnections"]
    if service == "dynamodb" and operation == "TransactWriteItems":
        kinds = {next(iter(item)) for item in params.get("TransactItems", [])}
        return sorted(f"dynamodb:{_TRANSACT_ITEM_ACTIONS[k]}" for k in kinds)
    if service == "dynamodb" and operation == "TransactGetItems":
        return ["dynamodb:GetItem"]
    if service == "s3" and operation == "HeadObject":
        return ["s3:GetObject"]  # S3 has no HeadObject action: a HEAD needs read access
    if service == "s3" and operation in ("ListObjectsV2", "ListObjects"):
        return ["s3:ListBucket"]  # listing a bucket's keys is the ListBucket action
    if service == "s3" and operation == "ListObjectVersions":
        return ["s3:ListBucketVersions"]  # listing versions is the ListBucketVersions action
    if service == "s3" and operation == "DeleteObject" and params.get("VersionId"):
        return ["s3:DeleteObjectVersion"]  # deleting one version for good
    if service == "sqs" and operation.endswith("Batch"):
        return [f"sqs:{operation[:-len('Batch')]}"]  # SendMessageBatch is authorised as SendMessage
    prefix = _SERVICE_PREFIX.get(service, service)
    return [f"{prefix}:{operation}"]


def _allows(allowed: frozenset[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed)


@contextmanager
def running(template: Template, function_id: str) -> Iterator[None]:
    """Calls made inside are checked against ``function_id``'s policy."""
    token = _current.set((function_id, allowed_actions(template, function_id), secret_grants(template, function_id)))
    try:
        yield
    finally:
        _current.reset(token)


def enforce() -> None:
    """Install the check on botocore's client (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from botocore.client import BaseClient
        from botocore.exceptions import ClientError

        original = BaseClient._make_api_call

        def checked(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            current = _current.get()
            if current is not None:
                function_id, allowed, secrets = current
                service = self.meta.service_model.service_name
                secret_id = api_params.get("SecretId") if service == "secretsmanager" else None
                for action in required_actions(service, operation_name, api_params):
                    if not _allows(allowed, action) or (
                            isinstance(secret_id, str) and not _secret_allowed(secrets, action, secret_id)):
                        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message":
                                                     f"{function_id} is not authorized to perform: {action} "
                                                     "(its policy in template.yaml does not allow it)"}},
                                          operation_name)
            return original(self, operation_name, api_params)

        BaseClient._make_api_call = checked  # type: ignore[method-assign]
        _installed = True
