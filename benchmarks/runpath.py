"""The run path over HTTP, side by side with the upstream reference server (issue 15).

The workflow is the 3-operation one in the legacy dialect (GetCurrentDateTime →
Calculate round → Calculate round), sent as ``POST /api/v1/workflows/execute``.

- **executes/s and p50**: ``a2e serve`` (gunicorn gthread, 1 worker × 4 threads) and
  the upstream server from a checkout (the same gunicorn shape, through
  ``benchmarks/upstream_server.py``), both loaded by ``wrk -t1 -c4`` for the same time,
  in alternating rounds (the order flips every round); the figure is the median of the
  rounds, the note gives min–max. The upstream checkout is ``A2E_BENCH_UPSTREAM=/path``
  (run with ``A2E_BENCH_UPSTREAM_PYTHON``, a Python that has the upstream server's
  dependencies; default this one); without it those rows are skipped and say so.
- **server CPU per execute** (no goal): user + system CPU of each server's own processes
  (read from ``/proc`` for its process group) over the same loads, per request; the
  database server's processes are not counted.
- **in-process CPU per execute** (no goal): the same request through each app's Flask
  test client, no sockets and no threads: process CPU per call over 5 rounds of 1,500
  after 200 of warm-up (the upstream app in its own Python, ``upstream_server.py
  --in-process``). ``py-spy record --gil`` on ``python -m benchmarks.runpath
  --in-process`` shows where a2e's share goes.
- **instructions per execute** (no goal): the same in-process request, counted by
  ``valgrind --tool=callgrind`` over 60 calls after 60 of warm-up (the count is zeroed
  and dumped around the loop, :func:`benchmarks.upstream_server.counted_loop`); and
  per audit event the sealer chains (one ``seal_pending`` of 300 events that executes
  left pending: background work every execute brings). Instructions are not time, but
  the count repeats to within about half a percent whatever else the machine does, so
  it tells a small change apart where the timed rows cannot (a2e's hold of a
  self-contained run's start is stretched as callgrind stretches time, so that the
  count follows the path of an execute at full speed). Skipped without valgrind
  (Debian: ``apt-get install valgrind``).
- **server transactions per execute** (PostgreSQL): ``pg_stat_database.xact_commit +
  xact_rollback`` of the server's database over 200 sequential executes, after a
  warm-up and an idle pause (so the warm-up's counts are flushed), up to the server's
  exit (its last audit seal included): reads, writes and background work all count.
- **backends waiting on a lock** (PostgreSQL): ``pg_stat_activity`` rows with
  ``wait_event_type = 'Lock'`` in that database, sampled every 20 ms while ``wrk -t2
  -c16`` runs executes against 4 workers; the mean of a load's samples, median of as
  many loads of the same server as there are rounds.

Needs ``wrk`` (Debian: ``apt-get install wrk``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import requests
from flask import Flask
from sqlalchemy.engine import make_url

from a2e.engine import runner as runner_module
from a2e.heap import freeze_startup_objects
from a2e.store.queries import agents as agent_queries
from a2e.store.session import Database
from benchmarks.common import (
    POSTGRES_SERVER,
    REPO,
    UNLIMITED,
    Figure,
    bench_app,
    at_least,
    at_most,
    dialects,
    log,
    median,
    scratch_database,
    skipped,
)
from benchmarks.upstream_server import counted_loop, per_thread
from tests.serving import ServerProcess, free_port

WORKFLOW = "\n".join(json.dumps(message) for message in (
    {"operationUpdate": {"workflowId": "bench", "operations": [
        {"id": "now", "operation": {"GetCurrentDateTime": {
            "format": "timestamp", "outputPath": "/workflow/now"}}},
        {"id": "round-1", "operation": {"Calculate": {
            "inputPath": "/workflow/now", "operation": "round", "precision": 2,
            "outputPath": "/workflow/round-1"}}},
        {"id": "round-2", "operation": {"Calculate": {
            "inputPath": "/workflow/round-1", "operation": "round", "precision": 0,
            "outputPath": "/workflow/round-2"}}},
    ]}},
    {"beginExecution": {"workflowId": "bench", "root": "now"}},
))
BODY = json.dumps({"workflow": WORKFLOW})
GOAL_RATIO = {"sqlite": 1.0, "postgresql": 0.8}
SEQUENTIAL = 200
#: Seconds to wait so that PostgreSQL backends flush their statistics while idle.
STATS_FLUSH_S = 11.0


@dataclass(frozen=True)
class Load:
    per_second: float
    p50_ms: float
    #: CPU time of the server's processes (gunicorn arbiter and worker) per execute.
    cpu_ms: float


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    api_key: str
    #: The server's process group (its processes' CPU is what an execute costs it).
    pgid: int


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of the live processes in process group ``pgid``."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(target: Target, seconds: float, *, connections: int = 4, threads: int = 1) -> Load:
    """``wrk`` POSTing the execute request; refuses a run with any non-2xx answer."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(BODY)}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["X-API-Key"] = "{target.api_key}"\n'
        )
    cpu_before = group_cpu_s(target.pgid)
    try:
        done = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
             "-s", script.name, f"{target.url}/api/v1/workflows/execute"],
            check=True, capture_output=True, text=True,
        )
    finally:
        os.unlink(script.name)
    cpu_s = group_cpu_s(target.pgid) - cpu_before
    out = done.stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{target.name} answered errors under load:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"\n\s+50%\s+([\d.]+)(us|ms|s)", out).groups()
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    return Load(rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit],
                1000 * cpu_s / max(requests_done, 1))


def check(target: Target) -> None:
    response = requests.post(f"{target.url}/api/v1/workflows/execute", data=BODY,
                             headers={"Content-Type": "application/json",
                                      "X-API-Key": target.api_key}, timeout=30)
    body = response.json()
    if response.status_code != 200 or body.get("status") not in ("succeeded", "success", "completed"):
        raise RuntimeError(f"{target.name} did not run the workflow: {response.status_code} {body}")


class Ours:
    """``a2e serve`` on a scratch database, with limits that never refuse."""

    def __init__(self, url: str, workdir: Path, workers: int) -> None:
        config = workdir / "a2e.json"
        config.write_text(json.dumps({"rateLimiting": UNLIMITED}))
        self.server = ServerProcess(url, workdir, workers=workers, env={"A2E_CONFIG": str(config)})
        db = Database.from_url(url)
        with db.session(write=True) as session:
            key = agent_queries.create_agent(session, f"bench-{workers}-{time.monotonic_ns()}")
        db.dispose()
        self.api_key = key.api_key

    def __enter__(self) -> Target:
        self.server.start()
        assert self.server.process is not None
        return Target("a2e", self.server.url, self.api_key, self.server.process.pid)

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


class Upstream:
    """The upstream server from its checkout (see ``benchmarks/upstream_server.py``)."""

    def __init__(self, checkout: str, workdir: Path) -> None:
        self.checkout = checkout
        self.workdir = workdir / "upstream"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Target:
        python = os.environ.get("A2E_BENCH_UPSTREAM_PYTHON", sys.executable)
        self.workdir.mkdir(parents=True, exist_ok=True)
        output = open(self.workdir / "server.out", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [python, str(REPO / "benchmarks" / "upstream_server.py"), self.checkout,
             str(self.workdir), str(self.port)],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
        output.close()
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the upstream server exited; see {self.workdir}/server.out")
            key_file = self.workdir / "api_key"
            try:
                if key_file.exists():
                    requests.get(f"{url}/api/v1/capabilities", timeout=1)
                    return Target("upstream", url, key_file.read_text().strip(),
                                  self.process.pid)
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError("the upstream server did not answer")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def side_by_side(dialect: str, seconds: float, rounds: int) -> list[Figure]:
    checkout = os.environ.get("A2E_BENCH_UPSTREAM")
    with scratch_database(dialect, "a2e_bench_runpath") as url, \
            tempfile.TemporaryDirectory(prefix="a2e-bench-runpath-") as tmp:
        workdir = Path(tmp)
        with Ours(url, workdir, workers=1) as ours:
            check(ours)
            if not checkout:
                load = wrk(ours, seconds)
                reason = "no upstream checkout (set A2E_BENCH_UPSTREAM=/path)"
                log(f"runpath {dialect}: {load.per_second:.0f} executes/s, p50 {load.p50_ms:.2f} ms; "
                    f"upstream skipped: {reason}")
                return [
                    Figure(f"executes/s, 3-op legacy workflow ({dialect})", load.per_second,
                           "exec/s", note="one round, wrk -t1 -c4, 1 worker × 4 threads"),
                    skipped(f"executes/s vs upstream ({dialect})", reason),
                    skipped(f"p50 vs upstream ({dialect})", reason),
                ]
            with Upstream(checkout, workdir) as upstream:
                check(upstream)
                results: dict[str, list[Load]] = {"a2e": [], "upstream": []}
                for n in range(rounds):
                    order = (ours, upstream) if n % 2 == 0 else (upstream, ours)
                    for target in order:
                        results[target.name].append(load := wrk(target, seconds))
                        log(f"runpath {dialect} round {n + 1} {target.name}: "
                            f"{load.per_second:.0f} executes/s, p50 {load.p50_ms:.2f} ms, "
                            f"server CPU {load.cpu_ms:.2f} ms per execute")
    mine, theirs = results["a2e"], results["upstream"]
    method = (f"wrk -t1 -c4, {seconds:g} s × {rounds} alternating rounds, gunicorn gthread "
              "1 worker × 4 threads each")

    def spread(loads: list[Load], field: str, fmt: str) -> str:
        values = [getattr(load, field) for load in loads]
        return f"{fmt.format(min(values))}–{fmt.format(max(values))}"

    return [
        Figure(f"executes/s vs upstream ({dialect})", median([l.per_second for l in mine]),
               "exec/s", at_least(GOAL_RATIO[dialect], relative=True),
               median([l.per_second for l in theirs]),
               note=f"{method}; a2e {spread(mine, 'per_second', '{:.0f}')}, "
                    f"upstream {spread(theirs, 'per_second', '{:.0f}')}"),
        Figure(f"p50 vs upstream ({dialect})", median([l.p50_ms for l in mine]), "ms",
               at_most(1.0, relative=True), median([l.p50_ms for l in theirs]),
               note=f"a2e {spread(mine, 'p50_ms', '{:.2f}')} ms, "
                    f"upstream {spread(theirs, 'p50_ms', '{:.2f}')} ms"),
        Figure(f"server CPU per execute vs upstream ({dialect})",
               median([l.cpu_ms for l in mine]), "ms", baseline=median([l.cpu_ms for l in theirs]),
               note=f"the server's processes (not the database's) during the same loads; a2e "
                    f"{spread(mine, 'cpu_ms', '{:.2f}')} ms, upstream "
                    f"{spread(theirs, 'cpu_ms', '{:.2f}')} ms; no goal, where the time goes"),
    ]


IN_PROCESS_WARM_UP, IN_PROCESS_ROUNDS, IN_PROCESS_CALLS = 200, 5, 1500


@contextmanager
def executing(dialect: str, name: str) -> Iterator[tuple[Callable[[], None], Flask]]:
    """A call that posts the execute request to a2e through Flask's test client (one per
    thread; on the scratch database ``name``, one agent), raising unless it succeeds; and
    the app, its startup objects frozen as ``a2e serve``'s worker freezes its own."""
    with scratch_database(dialect, name) as url, \
            tempfile.TemporaryDirectory(prefix="a2e-bench-inprocess-") as logs:
        db = Database.from_url(url)
        with db.session(write=True) as session:
            key = agent_queries.create_agent(session, "bench-in-process")
        db.dispose()
        app = bench_app(url, logs)
        freeze_startup_objects()
        headers = {"X-API-Key": key.api_key, "Content-Type": "application/json"}
        client = per_thread(app.test_client)

        def call() -> None:
            response = client().post("/api/v1/workflows/execute", data=BODY, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"a2e in-process: {response.status_code} {response.json}")

        try:
            yield call, app
        finally:
            app.extensions["a2e"].db.dispose()


def in_process_ours(dialect: str) -> list[float]:
    """CPU µs per execute of a2e through Flask's test client, per round."""
    with executing(dialect, "a2e_bench_inprocess") as (call, _):
        for _ in range(IN_PROCESS_WARM_UP):
            call()
        rounds = []
        for _ in range(IN_PROCESS_ROUNDS):
            start = time.process_time()
            for _ in range(IN_PROCESS_CALLS):
                call()
            rounds.append((time.process_time() - start) / IN_PROCESS_CALLS * 1e6)
        return rounds


def in_process_upstream(checkout: str) -> list[float]:
    python = os.environ.get("A2E_BENCH_UPSTREAM_PYTHON", sys.executable)
    with tempfile.TemporaryDirectory(prefix="a2e-bench-upstream-") as work:
        done = subprocess.run(
            [python, str(REPO / "benchmarks" / "upstream_server.py"), checkout, work,
             "--in-process", BODY],
            check=True, capture_output=True, text=True, timeout=600,
        )
    return [float(value) for value in json.loads(done.stdout.strip().splitlines()[-1])]


def in_process(dialects_: list[str]) -> list[Figure]:
    checkout = os.environ.get("A2E_BENCH_UPSTREAM")
    theirs = in_process_upstream(checkout) if checkout else None
    figures = []
    for dialect in dialects_:
        mine = in_process_ours(dialect)
        log(f"runpath in-process {dialect}: a2e {[round(v) for v in mine]} µs"
            + (f", upstream {[round(v) for v in theirs]} µs" if theirs else ""))
        note = f"test client, {IN_PROCESS_ROUNDS} × {IN_PROCESS_CALLS}; a2e {min(mine):.0f}–{max(mine):.0f} µs"
        if theirs:
            note += f", upstream {min(theirs):.0f}–{max(theirs):.0f} µs"
        figures.append(Figure(f"in-process CPU per execute vs upstream ({dialect})",
                              median(mine), "µs", baseline=median(theirs) if theirs else None,
                              note=note + "; no goal, where the time goes"))
    return figures


INSTRUCTION_WARM_UP, INSTRUCTION_CALLS = 60, 60
#: Threads of the second count: requests in flight at once, as under ``wrk -c4``.
INSTRUCTION_THREADS = 4
#: Audit events the sealer's count is taken over.
SEALED_EVENTS = 300


#: How much slower a call runs under callgrind, roughly: what the run path times (how
#: long a self-contained run may hold its start open) is stretched by as much there, so
#: that the count is of the path an execute takes at full speed.
CALLGRIND_SLOWDOWN = 50


def instructions_ours(dialect: str, threads: int) -> None:
    """The loop :func:`instruction_counts` counts, for a2e (in the child under callgrind)."""
    runner_module.HOLD_START_S *= CALLGRIND_SLOWDOWN
    with executing(dialect, f"a2e_bench_instructions_{threads}") as (call, _):
        counted_loop(call, INSTRUCTION_WARM_UP, INSTRUCTION_CALLS * threads, threads)


def instructions_sealing(dialect: str) -> None:
    """What :func:`instruction_counts` counts of the sealer: one ``seal_pending`` of the
    :data:`SEALED_EVENTS` events that executes left pending (in the child under callgrind)."""
    with executing(dialect, "a2e_bench_sealing") as (call, app):
        sealer = app.extensions["a2e"].services.sealer.sealer
        for _ in range(INSTRUCTION_WARM_UP):
            call()
        sealer.seal_pending(wait=True)
        for _ in range(SEALED_EVENTS // 2):  # an execute writes run.started and run.finished
            call()
        counted_loop(lambda: sealer.seal_pending(wait=True), 0, 1)


def _under_callgrind(argv: list[str], work: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--cache-sim=no",
         f"--callgrind-out-file={work / 'callgrind.%p'}", *argv],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _counted(child: subprocess.Popen[bytes], work: Path, what: str, per: int) -> float:
    """Instructions per one of ``per`` from the loop's dump in ``work``."""
    _, err = child.communicate(timeout=3600)
    dumps = list(work.glob("callgrind.*.1"))
    if child.returncode != 0 or not dumps:
        raise RuntimeError(f"{what} under callgrind failed: {err.decode()[-2000:]}")
    summary = next(line for line in dumps[0].read_text().splitlines()
                   if line.startswith("summary:"))
    return int(summary.split()[1]) / per


def instruction_counts(dialects_: list[str]) -> list[Figure]:
    """Instructions per in-process execute of a2e on each dialect, and of the upstream
    server when a checkout is given, and per event a2e's sealer chains, the children
    counted side by side."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return [skipped("instructions per execute", "valgrind is not installed")]
    checkout = os.environ.get("A2E_BENCH_UPSTREAM")
    with tempfile.TemporaryDirectory(prefix="a2e-bench-callgrind-") as scratch:
        children = {}
        for dialect in dialects_:
            for threads in (1, INSTRUCTION_THREADS):
                work = Path(scratch, f"{dialect}-{threads}")
                work.mkdir()
                children[f"{dialect}-{threads}"] = (work, _under_callgrind(
                    [sys.executable, "-m", "benchmarks.runpath", "--instructions", dialect,
                     str(threads)], work))
            work = Path(scratch, f"seal-{dialect}")
            work.mkdir()
            children[f"seal-{dialect}"] = (work, _under_callgrind(
                [sys.executable, "-m", "benchmarks.runpath", "--seal-instructions", dialect],
                work))
        if checkout:
            python = os.environ.get("A2E_BENCH_UPSTREAM_PYTHON", sys.executable)
            for threads in (1, INSTRUCTION_THREADS):
                work = Path(scratch, f"upstream-{threads}")
                work.mkdir()
                children[f"upstream-{threads}"] = (work, _under_callgrind(
                    [python, str(REPO / "benchmarks" / "upstream_server.py"), checkout,
                     str(work / "server"), "--instructions", BODY, str(INSTRUCTION_WARM_UP),
                     str(INSTRUCTION_CALLS * threads), str(threads)], work))
        counts = {what: _counted(child, work, what,
                                 SEALED_EVENTS if what.startswith("seal-")
                                 else INSTRUCTION_CALLS * int(what.rsplit("-", 1)[1]))
                  for what, (work, child) in children.items()}
    figures = []
    for threads in (1, INSTRUCTION_THREADS):
        theirs = counts.get(f"upstream-{threads}")
        at_once = "" if threads == 1 else f", {threads} threads at once"
        note = (f"callgrind, {INSTRUCTION_CALLS * threads} calls after {INSTRUCTION_WARM_UP}"
                f"{at_once}; no goal, repeatable where the timed rows are not")
        figures += [Figure(f"instructions per in-process execute{at_once} vs upstream ({dialect})",
                           counts[f"{dialect}-{threads}"] / 1e6, "M instr",
                           baseline=theirs / 1e6 if theirs else None, note=note)
                    for dialect in dialects_]
    figures += [Figure(f"instructions per audit event sealed ({dialect})",
                       counts[f"seal-{dialect}"] / 1e3, "k instr",
                       note=f"callgrind, one seal of {SEALED_EVENTS} pending events "
                            "(two per execute); no goal")
                for dialect in dialects_]
    return figures


def _admin() -> psycopg.Connection:
    url = make_url(POSTGRES_SERVER).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def _transactions(admin: psycopg.Connection, database: str) -> int:
    row = admin.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                        "WHERE datname = %s", (database,)).fetchone()
    return int(row[0])


def transactions_per_execute(quick: bool) -> Figure:
    count = 50 if quick else SEQUENTIAL
    with scratch_database("postgresql", "a2e_bench_xacts") as url, \
            tempfile.TemporaryDirectory(prefix="a2e-bench-xacts-") as tmp, _admin() as admin:
        database = make_url(url).database
        ours = Ours(url, Path(tmp), workers=1)
        with ours as target, requests.Session() as session:
            headers = {"Content-Type": "application/json", "X-API-Key": target.api_key}
            call = f"{target.url}/api/v1/workflows/execute"
            for _ in range(5):
                session.post(call, data=BODY, headers=headers, timeout=30).raise_for_status()
            time.sleep(STATS_FLUSH_S)
            before = _transactions(admin, database)
            for _ in range(count):
                session.post(call, data=BODY, headers=headers, timeout=30).raise_for_status()
        time.sleep(1.0)  # the server's backends flushed their counts as they exited
        after = _transactions(admin, database)
    per_execute = (after - before) / count
    log(f"runpath transactions: {after - before} over {count} executes")
    return Figure("server transactions per execute (postgresql)", per_execute, "xact",
                  at_most(4), note=f"pg_stat_database over {count} sequential executes, "
                                   "background sealing and the exit's seal included")


def lock_waits(seconds: float, rounds: int) -> Figure:
    """Backends waiting on a lock while 16 connections load 4 workers: the median of
    ``rounds`` loads of the same server (one load's mean swings with how the connections
    and the GIL happen to line up, so a single sample is not a figure)."""
    with scratch_database("postgresql", "a2e_bench_locks") as url, \
            tempfile.TemporaryDirectory(prefix="a2e-bench-locks-") as tmp, _admin() as admin:
        database = make_url(url).database
        with Ours(url, Path(tmp), workers=4) as target:
            check(target)
            means, loads, peak = [], [], 0
            for round_no in range(1, rounds + 1):
                samples: list[int] = []
                stop = threading.Event()

                def sample() -> None:
                    while not stop.is_set():
                        samples.append(int(admin.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND wait_event_type = 'Lock'", (database,)).fetchone()[0]))
                        time.sleep(0.02)

                sampler = threading.Thread(target=sample)
                sampler.start()
                try:
                    load = wrk(target, seconds, connections=16, threads=2)
                finally:
                    stop.set()
                    sampler.join()
                means.append(sum(samples) / len(samples))
                loads.append(load.per_second)
                peak = max(peak, max(samples))
                log(f"runpath lock waits round {round_no}: mean {means[-1]:.3f} over "
                    f"{len(samples)} samples, max {max(samples)}, {load.per_second:.0f} executes/s")
    return Figure("backends waiting on a lock, 16 concurrent executes (postgresql)",
                  statistics.median(means), "backends", at_most(0.5),
                  note=f"4 workers × 4 threads, wrk -t2 -c16 {seconds:g} s × {rounds}, median; "
                       f"rounds {min(means):.2f}–{max(means):.2f} (max {peak}), "
                       f"{min(loads):.0f}–{max(loads):.0f} executes/s")


def run(quick: bool) -> list[Figure]:
    if shutil.which("wrk") is None:
        return [skipped("runpath", "wrk is not installed (apt-get install wrk)")]
    seconds, rounds = (3.0, 1) if quick else (10.0, 3)
    figures: list[Figure] = []
    for dialect in dialects():
        figures += side_by_side(dialect, seconds, rounds)
    if "postgresql" in dialects():
        figures.append(transactions_per_execute(quick))
        figures.append(lock_waits(seconds, rounds))
    if not quick:
        figures += in_process(dialects())
        figures += instruction_counts(dialects())
    return figures


if __name__ == "__main__":
    if sys.argv[1:] == ["--in-process"]:  # for a profiler: the in-process loop alone
        print(in_process_ours("sqlite"))
    elif sys.argv[1:2] == ["--instructions"]:  # a child of instruction_counts
        instructions_ours(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["--seal-instructions"]:  # a child of instruction_counts
        instructions_sealing(sys.argv[2])
