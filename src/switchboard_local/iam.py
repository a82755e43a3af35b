"""Least privilege, checked locally: each function may call only what its template policy allows.

moto does not enforce IAM, so a policy that lacks an action (say ``dynamodb:ConditionCheckItem``
for a transaction's condition check) would pass every local test and fail only in AWS. Here
every AWS API call made while a template function runs is mapped to the IAM actions AWS
would require and checked against that function's ``Policies`` statements; a missing action
answers ``AccessDeniedException``, as AWS would. Actions only: resources and conditions are
not evaluated (the template's ``Resource`` entries are checked by cfn-lint and by review).
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

_current: contextvars.ContextVar[tuple[str, frozenset[str]] | None] = contextvars.ContextVar("sb_fn", default=None)
_install_lock = threading.Lock()
_installed = False

_TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem"}
_SERVICE_PREFIX = {"dynamodb": "dynamodb", "s3": "s3", "secretsmanager": "secretsmanager", "kms": "kms"}


def allowed_actions(template: Template, function_id: str) -> frozenset[str]:
    """The actions the function's inline policy statements allow (``Effect: Allow``)."""
    props = template.resources[function_id]["Properties"]
    actions: set[str] = set()
    for policy in props.get("Policies", []) or []:
        if not isinstance(policy, dict):
            continue  # a SAM policy template by name: none in this template
        for statement in policy.get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            listed = statement["Action"]
            actions.update(listed if isinstance(listed, list) else [listed])
    return frozenset(actions)


def required_actions(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The IAM actions AWS checks for one API call."""
    if service == "apigatewaymanagementapi":
        return ["execute-api:ManageConnections"]
    if service == "dynamodb" and operation == "TransactWriteItems":
        kinds = {next(iter(item)) for item in params.get("TransactItems", [])}
        return sorted(f"dynamodb:{_TRANSACT_ITEM_ACTIONS[k]}" for k in kinds)
    if service == "dynamodb" and operation == "TransactGetItems":
        return ["dynamodb:GetItem"]
    prefix = _SERVICE_PREFIX.get(service, service)
    return [f"{prefix}:{operation}"]


def _allows(allowed: frozenset[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed)


@contextmanager
def running(template: Template, function_id: str) -> Iterator[None]:
    """Calls made inside are checked against ``function_id``'s policy."""
    token = _current.set((function_id, allowed_actions(template, function_id)))
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
                function_id, allowed = current
                service = self.meta.service_model.service_name
                for action in required_actions(service, operation_name, api_params):
                    if not _allows(allowed, action):
                        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message":
                                                     f"{function_id} is not authorized to perform: {action} "
                                                     "(its policy in template.yaml does not allow it)"}},
                                          operation_name)
            return original(self, operation_name, api_params)

        BaseClient._make_api_call = checked  # type: ignore[method-assign]
        _installed = True
