"""Many Lambda containers share one process locally (the tests, `switchboard dev`): one
container's garbage must not outlive it. In Lambda the layer freezes its init objects
(switchboard.settle); locally that freeze would keep every earlier container's garbage for good
(~20 MB per test, which once ran a CI worker out of memory)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

from tests.conftest import ROOT, _clear_caches


def test_containers_started_one_after_another_in_one_process_freeze_nothing(aws, call):
    before = gc.get_freeze_count()
    for _ in range(3):
        _clear_caches()  # a new container: new clients, the handler imported again
        assert call("GET /.well-known/jwks.json")["status"] == 200
    assert gc.get_freeze_count() == before


def test_in_lambda_the_layers_init_objects_are_frozen_after_boto3_loads():
    """The cold-start optimisation stays on where one process is one container."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "shared" / "python")}
    out = subprocess.run(
        [sys.executable, "-c", "import gc, switchboard.store.dynamo; print(gc.get_freeze_count())"],
        env=env, capture_output=True, text=True, timeout=60, check=True)
    assert int(out.stdout) > 10_000
