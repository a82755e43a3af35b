"""The one Logger. Structured JSON logs; never pass a secret to it.

Tracer and Metrics are left out on purpose: the X-Ray SDK alone costs ~150 ms of cold
start here (see bench/). Enable API Gateway and Lambda tracing in the template instead.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

__all__ = ["logger"]

logger = Logger(service="switchboard")
