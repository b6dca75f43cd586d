"""Limiter figures: admissions/s on PostgreSQL (one hot agent, 100 agents) next to the raw
statements through psycopg, SQLite latency under 4 processes, the cost of 1 M old usage
rows, the in-memory limiter as the baseline, and 429 versus ``/health`` over HTTP (with
the load generator of ``benchmarks.http_load``).

``python -m benchmarks --only limiter [--quick]``
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from a2e.engine.clock import SystemClock
from a2e.limits.limiter import Limiter
from a2e.limits.sql import SqlUsageStorage
from a2e.limits.storage import MemoryUsageStorage
from a2e.limits.windows import windows_for
from a2e.store.queries.usage import AdmissionSql
from a2e.store.session import Database
from benchmarks import http_load
from benchmarks.common import (
    Figure,
    at_least,
    at_most,
    dialects,
    log,
    median,
    percentile,
    rate,
    scratch_database,
)

LIMITS = {"requests_per_minute": 10**9, "requests_per_hour": 10**9, "requests_per_day": 10**9}
WORKERS = 4
WARM_UP = 20
RAW_UPSERT = """
INSERT INTO usage_windows (agent_id, kind, period, window_start, admitted, rejected, quota)
VALUES (%(a)s, 'requests', 'minute', %(m)s, 1, 0, %(q)s),
       (%(a)s, 'requests', 'hour', %(h)s, 1, 0, %(q)s),
       (%(a)s, 'requests', 'day', %(d)s, 1, 0, %(q)s)
ON CONFLICT (agent_id, kind, period, window_start) DO UPDATE
SET admitted = usage_windows.admitted + 1, quota = excluded.quota
WHERE usage_windows.admitted < excluded.quota
RETURNING period, admitted
"""


def add_agents(db: Database, count: int) -> list[int]:
    with db.session(write=True) as session:
        for n in range(count):
            session.execute(text(
                "INSERT INTO agents (name, is_admin, allowed_hosts, disabled, created_at) "
                "VALUES (:n, false, '[]', false, CURRENT_TIMESTAMP)"
            ), {"n": f"bench-{n}"})
        return list(session.scalars(text("SELECT id FROM agents ORDER BY id")))


@dataclass(frozen=True)
class Shape:
    """How many admissions are in flight: ``processes`` × ``threads``, as gunicorn's
    gthread workers × their threads."""

    processes: int
    threads: int

    @property
    def total(self) -> int:
        return self.processes * self.threads

    def describe(self) -> str:
        threads = "thread" if self.threads == 1 else "threads"
        return f"{self.processes} processes × {self.threads} {threads}"


#: ``a2e serve --workers 4`` with the default ``server.threads``: threads share a process,
#: its limiter and its GIL, and their commits share WAL flushes.
SERVER = Shape(WORKERS, 4)
#: One admission in flight per process: each waits for its own commit's WAL flush.
ONE_EACH = Shape(WORKERS, 1)

#: A thread's loop body, made from its index among all threads and their number.
ThreadCall = Callable[[int, int], Callable[[], object]]
#: Set up in each process (a server worker's state), then made per thread.
Load = Callable[[], ThreadCall]


def process_rate(load: Load, seconds: float, shape: Shape) -> float:
    """Calls per second of ``shape``: each process sets up with ``load()``, each of its
    threads repeats its own call; all connect and warm up first, then count together
    for ``seconds``."""
    context = multiprocessing.get_context("fork")
    counts: multiprocessing.Queue = context.Queue()
    ready = context.Barrier(shape.total)

    def thread(make: ThreadCall, index: int, done: list[int]) -> None:
        call = make(index, shape.total)
        for _ in range(WARM_UP):
            call()
        ready.wait()
        count, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            call()
            count += 1
        done.append(count)

    def work(process: int) -> None:
        make, done = load(), []
        threads = [
            threading.Thread(target=thread, args=(make, process * shape.threads + i, done))
            for i in range(shape.threads)
        ]
        for each in threads:
            each.start()
        for each in threads:
            each.join()
        counts.put(sum(done))

    workers = [context.Process(target=work, args=(i,)) for i in range(shape.processes)]
    for worker in workers:
        worker.start()
    total = sum(counts.get() for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def turns(index: int, total: int, items: list[Any]) -> Iterator[Any]:
    """A thread's share of ``items`` in turn, offset from the other threads'."""
    return (items[n % len(items)] for n in itertools.count(index, total))


def admission_load(url: str, agents: list[int], *, spread: bool, async_commit: bool = False) -> Load:
    """``Limiter.check`` as the request hook calls it: one limiter per process, shared
    by its threads; one hot agent, or every agent in turn."""
    def setup() -> ThreadCall:
        limiter = Limiter(SqlUsageStorage(Database.from_url(url), async_commit=async_commit),
                          SystemClock())

        def make(index: int, total: int) -> Callable[[], object]:
            if not spread:
                return lambda: limiter.check(agents[0], "requests", LIMITS)
            agent = turns(index, total, agents)
            return lambda: limiter.check(next(agent), "requests", LIMITS)
        return make
    return setup


def psycopg_dsn(url: str) -> str:
    """The SQLAlchemy URL as psycopg's own connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def raw_load(url: str, agent_id: int) -> Load:
    """The reference: the plain upsert through psycopg, a connection per thread, no a2e code."""
    dsn = psycopg_dsn(url)
    windows = {w.period: w.start for w in windows_for("requests", LIMITS, datetime.now(timezone.utc))}
    params = {"a": agent_id, "m": windows["minute"], "h": windows["hour"], "d": windows["day"],
              "q": 10**9}

    def make(_index: int, _total: int) -> Callable[[], object]:
        conn = psycopg.connect(dsn, autocommit=True)
        return lambda: conn.execute(RAW_UPSERT, params).fetchall()
    return lambda: make


def raw_admission_load(url: str, agents: list[int]) -> Load:
    """The statement a2e sends (all or none), over the agents in turn, through psycopg."""
    db = Database.from_url(url)
    admission = AdmissionSql(db)
    windows = windows_for("requests", LIMITS, datetime.now(timezone.utc))
    sql = admission.sql_for(len(windows))
    params = [admission.params(agent, windows) for agent in agents]
    db.dispose()
    dsn = psycopg_dsn(url)

    def make(index: int, total: int) -> Callable[[], object]:
        conn = psycopg.connect(dsn, autocommit=True)
        each = turns(index, total, params)
        return lambda: conn.execute(sql, next(each)).fetchall()
    return lambda: make


def postgres_figures(seconds: float, rounds: int) -> list[Figure]:
    """Each rate is the median of ``rounds`` rounds, the loads alternating within a
    round, so that a drift of the machine hits a figure and its reference alike."""
    with scratch_database("postgresql", "a2e_bench_limiter") as url:
        db = Database.from_url(url)
        agents = add_agents(db, 100)
        db.dispose()
        loads = {
            "hot": (admission_load(url, agents, spread=False), SERVER),
            "raw": (raw_load(url, agents[1]), SERVER),
            "spread": (admission_load(url, agents, spread=True), SERVER),
            "raw_spread": (raw_admission_load(url, agents), SERVER),
            "spread_async": (admission_load(url, agents, spread=True, async_commit=True), SERVER),
            "spread_one_each": (admission_load(url, agents, spread=True), ONE_EACH),
            "raw_spread_one_each": (raw_admission_load(url, agents), ONE_EACH),
        }
        rates: dict[str, list[float]] = {name: [] for name in loads}
        for round_ in range(1, rounds + 1):
            for name, (load, shape) in loads.items():
                rates[name].append(process_rate(load, seconds, shape))
            log(f"postgresql round {round_}: "
                + ", ".join(f"{name} {rates[name][-1]:,.0f}/s" for name in loads))
    hot, raw, spread, raw_spread, spread_async, one_each, raw_one_each = (
        median(rates[name]) for name in loads
    )
    note = f"{SERVER.describe()}, median of {rounds} × {seconds:g} s"
    one_note = f"{ONE_EACH.describe()}, median of {rounds} × {seconds:g} s"
    raw_note = "no a2e code in the loop"
    return [
        Figure("admissions/s, one hot agent (PostgreSQL)", hot, "/s", at_least(2000), note=note),
        Figure("… versus the raw upsert through psycopg", hot, "/s", at_least(0.6, relative=True),
               baseline=raw, note=f"{note}; {raw_note}"),
        Figure("admissions/s, 100 agents (PostgreSQL)", spread, "/s", at_least(5000), note=note),
        Figure("… versus the same statement through psycopg, 100 agents", spread, "/s",
               baseline=raw_spread, note=f"{note}; {raw_note}"),
        Figure("admissions/s, 100 agents, rateLimiting.async_commit (PostgreSQL)", spread_async,
               "/s", at_least(5000), note=f"{note}; synchronous_commit off for the admission"),
        Figure("admissions/s, 100 agents, one in flight per process (PostgreSQL)", one_each,
               "/s", at_least(5000), baseline=raw_one_each,
               note=f"{one_note}; baseline: the same statement through psycopg, {raw_note}"),
    ]


def _sqlite_worker(url: str, agent_id: int, count: int, out: multiprocessing.Queue) -> None:
    db = Database.from_url(url)
    limiter = Limiter(SqlUsageStorage(db), SystemClock())
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        limiter.check(agent_id, "requests", LIMITS)
        samples.append((time.perf_counter() - start) * 1000)
    out.put(samples)
    db.dispose()


def sqlite_figures(count: int) -> list[Figure]:
    figures: list[Figure] = []
    with scratch_database("sqlite", "a2e-bench-limiter") as url:
        db = Database.from_url(url)
        agents = add_agents(db, 4)
        context = multiprocessing.get_context("fork")
        queue: multiprocessing.Queue = context.Queue()
        workers = [context.Process(target=_sqlite_worker, args=(url, agents[i], count, queue))
                   for i in range(4)]
        for worker in workers:
            worker.start()
        samples = [s for _ in workers for s in queue.get()]
        for worker in workers:
            worker.join()
        figures += [
            Figure("admission p50, 4 processes (SQLite)", percentile(samples, 0.5), "ms"),
            Figure("admission p99, 4 processes (SQLite)", percentile(samples, 0.99), "ms", at_most(5)),
            Figure("admission max, 4 processes (SQLite)", max(samples), "ms", at_most(100)),
        ]
        db.dispose()
    return figures


def old_rows_figure(old_rows: int, seconds: float, rounds: int = 3) -> Figure:
    """Admissions/s on a database holding ``old_rows`` rows of old windows versus an
    empty one, in alternating rounds (medians), so that a drift of the machine hits both."""
    with scratch_database("sqlite", "a2e-bench-empty") as empty_url, \
            scratch_database("sqlite", "a2e-bench-old") as old_url:
        empty_db, old_db = Database.from_url(empty_url), Database.from_url(old_url)
        (empty_agent, _), (old_agent, other) = add_agents(empty_db, 2), add_agents(old_db, 2)
        log(f"adding {old_rows:,} old usage rows")
        with old_db.session(write=True) as session:
            session.execute(text(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1) "
                "INSERT INTO usage_windows (agent_id, kind, period, window_start, admitted, rejected, quota) "
                "SELECT :a, 'requests', 'minute', datetime('2020-01-01', '+' || i || ' minutes'), 1, 0, 60 FROM n"
            ), {"rows": old_rows, "a": other})
        with old_db.engine.connect() as conn:  # the bulk load's cost, not the admissions'
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        calls = [
            (lambda limiter=Limiter(SqlUsageStorage(db), SystemClock()), agent=agent:
             limiter.check(agent, "requests", LIMITS))
            for db, agent in ((empty_db, empty_agent), (old_db, old_agent))
        ]
        empty_rates, old_rates = [], []
        for _ in range(rounds):
            empty_rates.append(rate(calls[0], seconds))
            old_rates.append(rate(calls[1], seconds))
        empty_db.dispose()
        old_db.dispose()
    empty, crowded = median(empty_rates), median(old_rates)
    return Figure(f"admission cost with {old_rows:,} old rows (SQLite)", empty / crowded,
                  "× empty", at_most(1.2),
                  note=f"{crowded:,.0f}/s vs {empty:,.0f}/s; median of {rounds} alternating rounds")


def memory_figure(seconds: float) -> Figure:
    limiter = Limiter(MemoryUsageStorage(), SystemClock())
    return Figure("admissions/s, in-memory limiter (baseline)",
                  rate(lambda: limiter.check(1, "requests", LIMITS), seconds), "/s")


def run(quick: bool) -> list[Figure]:
    seconds = 1.0 if quick else 3.0
    figures = [memory_figure(seconds)]
    log("limiter: SQLite")
    figures += sqlite_figures(300 if quick else 2000)
    figures.append(old_rows_figure(100_000 if quick else 1_000_000, 1.0 if quick else 2.0))
    if "postgresql" in dialects():
        log("limiter: PostgreSQL")
        figures += postgres_figures(seconds, 1 if quick else 3)
    log("limiter: 429 versus /health over HTTP")
    return figures + http_load.run(quick)
