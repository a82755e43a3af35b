"""The one Logger. Structured JSON logs; never pass a secret to it.

Tracer and Metrics are left out on purpose: the X-Ray SDK alone costs ~150 ms of cold
start here (see bench/). Enable API Gateway and Lambda tracing in the template instead.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger

__all__ = ["logger"]

logger = Logger(service="switchboard")

# botocore's DEBUG logs print whole request and response bodies - tenants' identity and
# hook secrets, password hashes, refresh-token hashes. Whatever log level the function is
# given, the AWS SDK's loggers never go below INFO.
for _name in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_name).setLevel(logging.INFO)
