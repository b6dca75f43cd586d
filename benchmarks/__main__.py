"""``python -m benchmarks [--quick] [--only NAME ...]``: run the benchmarks, print one table.

Each module in :data:`MODULES` that is present is run: through its ``run(quick) ->
list[Figure]`` when it has one, otherwise as ``python -m benchmarks.<name> [--quick]``,
whose output is printed after the table. Progress goes to stderr, the table to stdout.
The exit status is 1 when a benchmark failed to run; a missed goal is a MISS row, not
a failure.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
import traceback

from benchmarks.common import REPO, Figure, log, skipped, table

MODULES = ("e2e", "http_load", "limiter", "cache_retry", "growth")


def run_module(name: str, quick: bool) -> tuple[list[Figure], str, bool]:
    """(figures, printed output of a module without ``run``, whether it ran cleanly)."""
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"benchmarks.{name}":
            raise
        return [skipped(name, "module not present")], "", True
    if not hasattr(module, "run"):
        command = [sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if quick else [])]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        sys.stderr.write(done.stderr)
        output = f"## {name} (`{' '.join(command[1:])}`, exit {done.returncode})\n\n{done.stdout}"
        return [], output, done.returncode == 0
    try:
        return list(module.run(quick)), "", True
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
        traceback.print_exc()
        return [skipped(name, f"failed: {type(exc).__name__}: {exc}")], "", False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="short durations and small data (about 2 minutes)")
    parser.add_argument("--only", action="append", choices=MODULES, metavar="NAME",
                        help=f"run only these benchmarks (repeatable): {', '.join(MODULES)}")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    outputs: list[str] = []
    clean = True
    for name in args.only or MODULES:
        log(f"running {name}{' (quick)' if args.quick else ''}")
        start = time.perf_counter()
        found, output, ok = run_module(name, args.quick)
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
