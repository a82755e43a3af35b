"""Every bench section runs whole (issue 15: a per-user cap added later made the chat section
crash, so `make bench` exited 1 and never reached the load section - and nobody knew).

``bench/run.py --tiny`` runs each section at the smallest size it has; this test fails if a
section raises, is missing from the run, or writes a table with no rows. Figures are not
judged here (that is what bench/ is for), only that every section still runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_bench_section_runs_at_its_tiny_size(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from run import SECTIONS
    finally:
        sys.path.remove(str(ROOT / "bench"))
    out = tmp_path / "tiny.json"
    # Given the benchmark runner at its tiny size, every section
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--tiny", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"})
    # Then it exits 0, having run every section, and every table has rows
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    ran = [line.split(":")[0].lstrip("[") for line in done.stderr.splitlines() if line.startswith("[")]
    assert ran == list(SECTIONS), done.stderr[-2000:]
    tables = json.loads(out.read_text())["tables"]
    assert tables and all(t["rows"] for t in tables), [t["title"] for t in tables if not t["rows"]]
