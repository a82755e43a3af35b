"""What a function's cold start imports that the floor does not: `python bench/importtime.py [FunctionId ...]`.

Runs the cold-start child of ``auth_bench`` (handler import + first-call setup) and the floor
(``import boto3; boto3.client("dynamodb")``) under ``python -X importtime``, from the same
warm bytecode cache, and prints the modules only the function loads, grouped by top-level
package (least self time over a few runs, summed; ``switchboard`` split by module), plus the
heaviest third-party imports counted with only what they pull in beyond the floor. Use these to
rank contributors; the benchmark itself is ``auth_bench``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import auth_bench  # noqa: E402

LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def importtime(args: list[str], env: dict[str, str], cwd: Path) -> list[tuple[str, int, int]]:
    """One run of the cold-start child: (module, self us, depth) in ``-X importtime``'s post-order."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", auth_bench._CHILD, *args], env=env, cwd=cwd,
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    rows = []
    for line in out.stderr.splitlines():
        m = LINE.match(line)
        if m:
            rows.append((m.group(4), int(m.group(1)), len(m.group(3)) // 2))
    return rows


Tree = list[tuple[str, int, int]]


def profile(args: list[str], env: dict[str, str], cwd: Path, runs: int) -> tuple[Tree, dict[str, int]]:
    """The import tree of the first run, and each module's least self time over ``runs`` runs
    (the least: a garbage collection pause lands on whichever import happens to trigger it)."""
    trees = [importtime(args, env, cwd) for _ in range(runs)]
    least: dict[str, int] = {}
    for tree in trees:
        for name, self_us, _ in tree:
            least[name] = min(self_us, least.get(name, self_us))
    return trees[0], least


def extra_cumulative(tree: list[tuple[str, int, int]], least: dict[str, int], floor: set[str]) -> dict[str, int]:
    """Per module: self time of it and everything it pulled in, counting only modules the floor lacks."""
    out: dict[str, int] = {}
    stack: list[tuple[int, int]] = []  # (depth, extra cumulative) of subtrees waiting for their parent
    for name, _, depth in tree:
        total = 0 if name in floor else least[name]
        while stack and stack[-1][0] > depth:
            total += stack.pop()[1]
        out[name] = total
        stack.append((depth, total))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("functions", nargs="*", help="logical ids (default: all in template.yaml)")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3, help="runs per function (least self time is kept)")
    args = parser.parse_args(argv)
    from switchboard_local.provision import function_environment

    template = auth_bench._template()
    ids = args.functions or sorted(template.functions)
    work = Path(tempfile.mkdtemp(prefix="sb-importtime-"))
    cache = work / "pyc"
    try:
        for fid in ids:
            fn = template.functions[fid]
            clients = ",".join(auth_bench._policy_clients(template.resources[fid]))
            child = ["function", str(fn.code_uri.resolve()), str(auth_bench.LAYER), fn.handler.rsplit(".", 1)[0],
                     fn.attribute, clients]
            env = auth_bench._child_env(function_environment(template, fid), cache)
            warm = dict(env)
            del warm["PYTHONDONTWRITEBYTECODE"]
            auth_bench._spawn(["floor"], warm, work)
            auth_bench._spawn(child, warm, work)
            floor = {name for name, _, _ in importtime(["floor"], env, work)}
            tree, least = profile(child, env, work, args.runs)
            extra = {name: least[name] for name, _, _ in tree if name not in floor}
            groups: dict[str, int] = defaultdict(int)
            for m, self_us in extra.items():
                top = m.split(".")[0]
                groups[m if top == "switchboard" else top] += self_us
            total = sum(extra.values())
            print(f"== {fid} ({clients or 'no clients'}): {len(extra)} modules beyond the floor, "
                  f"{total / 1e3:.0f} ms import self time")
            for name, us in sorted(groups.items(), key=lambda kv: -kv[1])[: args.top]:
                print(f"   {us / 1e3:7.1f} ms  {name}")
            cumulative = extra_cumulative(tree, least, floor)
            heavy = sorted(((cum, m) for m, cum in cumulative.items() if m.split(".")[0] != "switchboard"),
                           reverse=True)
            shown, seen = [], set()
            for cum, m in heavy:  # the outermost import of each package, not its submodules again
                if m.split(".")[0] not in seen and cum:
                    seen.add(m.split(".")[0])
                    shown.append(f"{m} {cum / 1e3:.0f}")
            print("   heaviest third-party imports beyond the floor (ms, with what they pull in): "
                  + ", ".join(shown[:8]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
