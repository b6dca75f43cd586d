"""``python -m benchmarks [--quick] [--only NAME ...]``: run the benchmarks, print one table.

Each module in :data:`MODULES` that is present runs in its own process (so that one
that hangs or crashes cannot take the others down; it is stopped after ``--timeout``
seconds): through its ``run(quick) -> list[Figure]`` when it has one, otherwise as
``python -m benchmarks.<name> [--quick]``, whose output is printed after the table.
Progress goes to stderr, the table to stdout. The exit status is 1 when a benchmark
failed to run; a missed goal is a MISS row, not a failure.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from typing import Any

from benchmarks.common import REPO, Figure, Goal, log, skipped, table

MODULES = ("e2e", "limiter", "cache_retry", "growth", "runpath", "sandbox_cost", "dashboard",
           "queue_drain")
#: Modules whose full run needs longer than the default stop (the 1 M-run fill and roll).
TIMEOUTS = {"dashboard": 1800.0}


def run_here(name: str, quick: bool) -> dict[str, Any]:
    """Run one module in this process: ``{"figures", "output", "ok"}`` (JSON-ready)."""
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"benchmarks.{name}":
            raise
        return {"figures": [dataclasses.asdict(skipped(name, "module not present"))],
                "output": "", "ok": True}
    if not hasattr(module, "run"):
        command = [sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if quick else [])]
        done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
        output = f"## {name} (`{' '.join(command[1:])}`, exit {done.returncode})\n\n{done.stdout}"
        return {"figures": [], "output": output, "ok": done.returncode == 0}
    figures = list(module.run(quick))
    return {"figures": [dataclasses.asdict(f) for f in figures], "output": "", "ok": True}


def figure_from(data: dict[str, Any]) -> Figure:
    goal = data.pop("goal")
    return Figure(**data, goal=Goal(**goal) if goal else None)


def run_isolated(name: str, quick: bool, timeout: float) -> tuple[list[Figure], str, bool]:
    """Run one module in a child process (its own session, killed as a group on timeout)."""
    command = [sys.executable, "-m", "benchmarks", "--child", name, *(["--quick"] if quick else [])]
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        stdout, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return [skipped(name, f"stopped after {timeout:g} s")], "", False
    if child.returncode != 0:
        return [skipped(name, f"failed (exit {child.returncode}, see stderr)")], "", False
    result = json.loads(stdout.strip().splitlines()[-1])  # modules may print before it
    return [figure_from(f) for f in result["figures"]], result["output"], result["ok"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="short durations and small data (about 2 minutes)")
    parser.add_argument("--only", action="append", choices=MODULES, metavar="NAME",
                        help=f"run only these benchmarks (repeatable): {', '.join(MODULES)}")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds one benchmark may take (default 900, dashboard 1800; "
                             "300 with --quick)")
    parser.add_argument("--child", choices=MODULES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        try:
            print(json.dumps(run_here(args.child, args.quick)))
        except Exception:  # noqa: BLE001 - reported by the parent as a failed row
            traceback.print_exc()
            return 1
        return 0
    figures: list[Figure] = []
    outputs: list[str] = []
    clean = True
    for name in args.only or MODULES:
        log(f"running {name}{' (quick)' if args.quick else ''}")
        start = time.perf_counter()
        timeout = args.timeout or (300.0 if args.quick else TIMEOUTS.get(name, 900.0))
        found, output, ok = run_isolated(name, args.quick, timeout)
        log(f"{name} done in {time.perf_counter() - start:.0f} s")
        figures += found
        outputs += [output] if output else []
        clean = clean and ok
    print(table(figures))
    for output in outputs:
        print(f"\n{output}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
