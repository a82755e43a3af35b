"""What the layer needs from the Lambda runtime image, and brings itself where an image lacks it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

LAYER = ROOT / "layers" / "shared" / "python"
PROBE = ("from switchboard.chat.hours import outside_hours; "
         "print(outside_hours({'time_zone': 'Europe/Paris', "
         "'weekly': [{'day': 'mon', 'from': '09:00', 'to': '10:00'}]}, 0))")


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(LAYER), "PYTHONTZPATH": ""}  # no system zone database
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          check=True).stdout.strip()


def test_business_hours_work_on_an_image_without_a_system_zone_database():
    # Lambda's Amazon Linux 2023 images have shipped without /usr/share/zoneinfo: zoneinfo then
    # reads the tzdata package, which the layer installs. Without it every tenant's hours would
    # silently read as "no hours" (an unreadable zone counts as none).
    requirements = (LAYER / "requirements.txt").read_text()
    assert any(line.split(">")[0].split("=")[0].strip() == "tzdata" for line in requirements.splitlines())
    assert _run(PROBE) == "True"  # Thursday 01:00 in Paris: outside Monday's one hour
    # (a week with no span would not do: no weekly span means no hours set, None either way)
    # (the same with the package hidden: what the layer would do without it)
    assert _run("import sys; sys.modules['tzdata'] = None; " + PROBE) == "None"
