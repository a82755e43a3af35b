"""The in-process AWS of the local stack: moto with the template's resources and a seed.

Every process that runs handlers locally (``switchboard dev``, ``switchboard invoke``)
goes through :class:`LocalAws`: local credentials (kept through moto's ``mock_aws``, which would
swap them for its own: the local endpoints check the functions' signatures against them; the
secret may be overridden, ``switchboard dev`` draws one per run), Lambda's environment resolved from the
template, moto's ``mock_aws`` (DynamoDB, Secrets Manager, S3 in-process), the template's
resources provisioned, and the seed loaded. Requests to anything that is not an AWS URL
(the local WebSocket gateway's ``@connections`` endpoint) pass through moto untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from switchboard_local.provision import LOCAL_REFS, provision, shared_environment
from switchboard_local.seed import DEMO_SEED, Seed
from switchboard_local.template import Template

__all__ = ["LocalAws", "local_aws"]

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


@dataclass
class LocalAws:
    template: Template
    environment: dict[str, str]
    operators: list[dict[str, str]] = field(default_factory=list)


def _reset_caches() -> None:
    from switchboard.runtime import reset_caches

    reset_caches()  # the one reset the tests use too


@contextmanager
def local_aws(template: Template, seed: Seed | dict[str, Any] | None = None,
              overrides: dict[str, str] | None = None) -> Iterator[LocalAws]:
    """Set Lambda's environment, start moto, provision the template's resources, apply the seed."""
    from moto import mock_aws

    from switchboard_local.seed import apply_seed

    saved = dict(os.environ)
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL") or k == "AWS_PROFILE"]:
        del os.environ[name]
    env = {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
           **shared_environment(template),
           # webhooks and origins on this machine's plain-http servers (production: https only)
           "ALLOW_HTTP_URLS": "1",
           # outbound events (docs/webhooks.md): the account's default bus (moto's) and the webhooks' queue
           "EVENT_BUS_NAME": "default", "WEBHOOK_QUEUE_URL": LOCAL_REFS["WebhookQueue"], **(overrides or {})}
    os.environ.update(env)
    try:
        from switchboard_local.moto_atomic import one_request_at_a_time
        from switchboard_local.moto_speed import dynamodb_costs

        # moto would swap the credentials for its own: keep the stack's, which its local endpoints
        # (@connections, the S3 port) check the functions' signatures against
        keep_credentials: Any = {"core": {"mock_credentials": False, "passthrough": {"urls": [], "services": []},
                                          "reset_boto3_session": True, "service_whitelist": None}}
        # Query: one partition; transactions: their items; each request atomic (handlers run side by side)
        with mock_aws(config=keep_credentials), dynamodb_costs(), one_request_at_a_time():
            _reset_caches()
            provision(template)
            from switchboard.runtime import services

            operators = apply_seed(services().store, seed if seed is not None else DEMO_SEED)
            yield LocalAws(template=template, environment=env, operators=operators)
    finally:
        _reset_caches()
        os.environ.clear()
        os.environ.update(saved)
