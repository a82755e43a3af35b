"""Switchboard's benchmarks: `python bench/run.py [--quick] [--only auth,chat,load,lockout,web]`.

Each section is a module in this folder exposing ``run(quick: bool) -> list[Table]`` where a
Table is ``{"title": str, "columns": [str, ...], "rows": [[...], ...], "notes": str}``.
The runner prints every table as Markdown (paste-ready for the README) and writes them all
to ``bench/results/latest.json``. Figures are ratios or medians measured in the same run on
the same machine, so they travel between machines better than raw milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTIONS = {"auth": "auth_bench", "chat": "chat_bench", "load": "load_bench", "capacity": "capacity_bench",
            "lockout": "lockout_bench", "web": "web_bench", "reports": "reports_bench", "cost": "cost",
            "desk": "desk_bench"}


class _NoMetrics:
    """stdout without the handlers' EMF lines (the layer's metrics, one JSON line per invocation:
    CloudWatch's input, noise between the tables here)."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def write(self, text: str) -> int:
        kept = "".join(line for line in text.splitlines(keepends=True) if not line.startswith('{"_aws"'))
        return self.out.write(kept) if kept else len(text)

    def flush(self) -> None:
        self.out.flush()


def markdown(table: dict[str, Any]) -> str:
    lines = [f"**{table['title']}**", "", "| " + " | ".join(table["columns"]) + " |",
             "|" + "---|" * len(table["columns"])]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in table["rows"]]
    if table.get("notes"):
        lines += ["", table["notes"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--tiny", action="store_true",
                        help="the smallest size each section can run (the suite's check that every section runs)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ", ".join(SECTIONS))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(HERE)]
    if args.tiny:  # each section reads it and shrinks to its smallest meaningful size
        os.environ["BENCH_TINY"] = "1"
        args.quick = True
    tables: list[dict[str, Any]] = []
    for name in args.only.split(","):
        module = importlib.import_module(SECTIONS[name.strip()])
        started = time.perf_counter()
        with contextlib.redirect_stdout(_NoMetrics(sys.stdout)):
            section = module.run(args.quick)
        print(f"[{name}: {time.perf_counter() - started:.1f} s]", file=sys.stderr)
        for table in section:
            print(markdown(table) + "\n", flush=True)
        tables += section
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"python": platform.python_version(), "machine": platform.machine(),
                                    "quick": args.quick, "tables": tables}, indent=2))
    print(f"written {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
