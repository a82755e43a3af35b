"""Switchboard's shared layer: claims, tokens, sessions, storage and policy.

Handlers in ``functions/`` import from here; nothing else holds business rules.
"""

import gc

__all__: list[str] = ["FREEZE_AFTER_INIT", "settle"]

#: Whether :func:`settle` freezes. True in Lambda, where one process is one container. The local
#: stack and the tests run many containers, one after another, in one process (each test's fresh
#: moto makes new clients): there every freeze would also keep all the garbage of the containers
#: before it for good - ~20 MB per test, which ran an xdist worker out of memory in CI - so
#: ``switchboard_local.lambda_runtime`` turns it off.
FREEZE_AFTER_INIT = True


def settle() -> None:
    """Hand everything allocated so far to the garbage collector's permanent generation.

    Called right after the big allocations of a cold start (importing boto3, making the
    DynamoDB and Secrets Manager clients, which the first invocation does once per container):
    boto3 and its service models leave some hundred thousand objects that live as long as the
    container, and every collection during the rest of init - triggered by ordinary imports -
    walked all of them again: ~15-30 ms of a cold start (bench/: "Cold start"). Frozen,
    they are never walked or collected; they would not have been collected anyway. New objects
    are collected as usual. (``gc.freeze``: CPython 3.7+, the pre-fork idiom, used here for
    the same reason.) Not called on request paths: a freeze there would also keep whatever
    garbage that request had made (clients made later, S3 and the WebSocket management API,
    do not settle); the first invocation's own few objects are frozen once, a bounded cost.
    """
    if FREEZE_AFTER_INIT:
        gc.freeze()
