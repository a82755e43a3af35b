"""The one Logger and the one Metrics. Structured JSON logs; never pass a secret to either.

Tracer is left out on purpose: the X-Ray SDK alone costs ~150 ms of cold start here (see
bench/). Enable API Gateway and Lambda tracing in the template instead.

Metrics are CloudWatch embedded metric format (EMF) lines on stdout, written by Powertools
Metrics: Lambda sends stdout to the function's log group, and CloudWatch turns each EMF line
into metric data points - no PutMetricData call, no client, no wait. Domain modules add one
line (:func:`count` or :func:`timing`) where the thing happens; the edge wrappers
(``edge/httpapi.endpoint``, ``edge/ws.action_endpoint``) and :func:`published` (the other
handlers) write them out once per invocation (:func:`flush`). The namespace is the template's
``MetricsNamespace`` (``POWERTOOLS_METRICS_NAMESPACE``).

What a metric may carry (docs/operations.md, "Metrics"): a name from :data:`MetricName` and a
number. No dimension but Powertools' ``service``: not the tenant (a sign-in attempt names a
tenant that may not exist, so a tenant dimension would let anyone create custom metrics - each
one billed - by trying names), never a user, an email, a token or a text. Per-tenant figures
are the reports' and the audit's, which are already kept per tenant.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

__all__ = ["MetricName", "count", "flush", "logger", "metrics", "published", "timing"]

logger = Logger(service="switchboard")

# botocore's DEBUG logs print whole request and response bodies - tenants' identity and
# hook secrets, password hashes, refresh-token hashes. Whatever log level the function is
# given, the AWS SDK's loggers never go below INFO.
for _name in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_name).setLevel(logging.INFO)

#: Every metric Switchboard writes (the dashboard and the alarms in template.yaml read these
#: names; docs/operations.md says what each counts). A typo is a mypy error, not a new metric.
MetricName = Literal[
    "SignIns",  # sessions opened: password, visitor, SSO and federated sign-ins alike
    "FailedSignIns",  # answers of invalid_credentials or invalid_mfa (a wrong password or code, no such account)
    "RefreshReuse",  # a rotated refresh token came back: its session was revoked (token_reused)
    "SessionsRevoked",  # sessions revoked, whatever the reason (sign-out, an admin, reuse, a reset)
    "Messages",  # chat messages stored (a retried client_id is not counted again)
    "QueueWait",  # ms from a support conversation's start to its first assignment (0: assigned at once)
    "FirstResponse",  # ms from a support conversation's start to staff's first message, counted at its close
    "WebhookFailures",  # webhook deliveries that failed (written by the events module)
]

# Powertools' default namespace is required at flush: the template sets it for every function
# (POWERTOOLS_METRICS_NAMESPACE); this is what the local stack and the tests write under.
metrics = Metrics(service="switchboard")
if not metrics.namespace:
    metrics.namespace = "Switchboard"


def count(name: MetricName, value: int = 1) -> None:
    """Add ``value`` to the counter ``name`` for this invocation (written out by :func:`flush`)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def timing(name: MetricName, milliseconds: float) -> None:
    """Record one duration of ``name``, in milliseconds (CloudWatch keeps its distribution:
    the dashboard shows p50 and p90)."""
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=max(0.0, milliseconds))


def flush() -> None:
    """Write this invocation's metrics as one EMF line, if there are any (an invocation that
    recorded nothing writes nothing: Powertools would only warn). Never raises: a metric is
    not worth failing a request for."""
    if not metrics.metric_set:
        return
    try:
        metrics.flush_metrics()
    except Exception:  # a metric is never worth a failed answer; the log says what went wrong
        logger.exception("metrics not written")
        metrics.clear_metrics()


_F = TypeVar("_F", bound=Callable[..., Any])


def published(handler: _F) -> _F:
    """Decorate a handler that has no edge wrapper (``$connect``, the authorizer, key rotation)
    so what it recorded is written out when it returns or raises."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            flush()

    return wrapper  # type: ignore[return-value]
