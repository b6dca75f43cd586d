"""Cost as the data grows (PostgreSQL): listing runs and ``a2e report usage``.

One scratch database (``.ci/pgdb.py create``, migrated with Alembic, dropped at the end)
holds 10 agents. It is filled twice by ``INSERT … SELECT FROM generate_series``, each
time over the last 30 days: first 1 k runs / 5 k steps, then (after TRUNCATE) 1 M runs /
5 M steps, with their rate-limit usage windows (minute, hour and day rows per agent, as
the limiter leaves them). At each size:

- ``GET /api/v1/executions`` as one agent (a tenth of the runs), first page and a
  cursor 90 % deep into its history (at 1 k runs: as deep as a full page of 50 allows): p50 over repeated calls through the test client;
- ``a2e report usage --since <30 days ago> --format json``: the command's wall time
  (a new process, as an operator runs it), median of 3.

The large case is judged against the small one (list ≤ 1.5×) and the report against
2 s. ``EXPLAIN (ANALYZE, BUFFERS)`` of the exact statements those calls ran is printed
on stderr; the indexes each plan used are in the figure's note.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, text

from a2e.api.pagination import encode_cursor
from a2e.store.queries import agents as agent_queries
from a2e.store.session import Database
from benchmarks.common import (
    Figure,
    at_most,
    bench_app,
    log,
    median,
    percentile,
    postgres_available,
    scratch_database,
    skipped,
    timed_ms,
)

AGENTS = 10
STEPS_PER_RUN = 5
A2E = str(Path(sys.executable).parent / "a2e")

RUNS_SQL = """
INSERT INTO runs (agent_id, execution_id, status, owner_host, owner_pid, owner_boot_id,
                  started_at, finished_at, duration_ms, workflow_text)
SELECT (CAST(:agents AS bigint[]))[1 + i % :agent_count], 'gen-' || i,
       CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END, 'bench', 1, 'bench-boot',
       :start + (i * :span / :count), :start + (i * :span / :count) + interval '120 ms',
       120, '{"type":"beginExecution","operationOrder":[]}'
FROM generate_series(0, :count - 1) AS i
"""
STEPS_SQL = """
INSERT INTO run_steps (run_id, position, operation_id, op_type, status, attempts,
                       started_at, finished_at, duration_ms, result, cached)
SELECT r.id, p, 'op-' || p,
       (ARRAY['ApiCall', 'FilterData', 'TransformData', 'Calculate', 'StoreData'])[1 + p],
       CASE WHEN r.status = 'failed' AND p = :last THEN 'failed' ELSE 'succeeded' END,
       jsonb_build_array(jsonb_build_object('attempt', 1)), r.started_at,
       r.started_at + interval '20 ms', 20, jsonb_build_object('n', p), false
FROM runs r CROSS JOIN generate_series(0, :last) AS p
"""
# The limiter's rows for those runs: per agent, kind and window, one request and one
# ApiCall admitted per run, and a refused request in the first window of each hour.
WINDOWS_SQL = """
INSERT INTO usage_windows (agent_id, kind, period, window_start, admitted, rejected, quota)
SELECT agent_id, k, p, date_trunc(p, started_at), count(*),
       CASE WHEN k = 'requests' AND p = 'minute'
            AND extract(minute FROM date_trunc(p, started_at)) = 0 THEN 1 ELSE 0 END,
       1000000
FROM runs, unnest(ARRAY['requests', 'api_calls']) AS k, unnest(ARRAY['minute', 'hour', 'day']) AS p
GROUP BY agent_id, k, p, date_trunc(p, started_at)
"""


def fill(engine: Engine, agents: list[int], runs: int, now: datetime) -> float:
    """Replace all runs, steps and usage with ``runs`` runs over the 30 days before ``now``."""
    start, span = now - timedelta(days=30), timedelta(days=30)
    began = time.perf_counter()
    with engine.begin() as conn:
        # Rows are consistent by construction: skip the per-row FK triggers while loading.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("TRUNCATE runs, run_steps, usage_windows, webhook_deliveries"))
        conn.execute(text(RUNS_SQL), {"agents": agents, "agent_count": len(agents), "start": start,
                                       "span": span, "count": runs})
        conn.execute(text(STEPS_SQL), {"last": STEPS_PER_RUN - 1})
        conn.execute(text(WINDOWS_SQL))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE runs, run_steps, usage_windows"))
    return time.perf_counter() - began


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, object]]]:
    """The statements (and parameters) run on ``engine`` inside the block."""
    statements: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explain(engine: Engine, call: Callable[[], object], touching: str) -> tuple[str, list[str]]:
    """EXPLAIN ANALYZE of the statements ``call`` runs that match the regular expression
    ``touching``; the plans' text and the indexes they use."""
    with captured(engine) as statements:
        call()
    plans = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            if re.search(touching, statement):
                rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
                plans.append(f"{statement.strip()}\n" + "\n".join(row[0] for row in rows))
    plan_text = "\n\n".join(plans)
    used = re.findall(r"Index (?:Only )?Scan (?:Backward )?(?:using|on) (\w+)", plan_text)
    return plan_text, sorted(set(used))


def list_call(client: FlaskClient, api_key: str, cursor: str | None) -> Callable[[], None]:
    query = "/api/v1/executions?limit=50" + (f"&cursor={cursor}" if cursor else "")
    headers = {"Authorization": f"Bearer {api_key}"}

    def call() -> None:
        response = client.get(query, headers=headers)
        if response.status_code != 200 or len(response.get_json()["items"]) != 50:  # full page
            raise RuntimeError(f"list answered {response.status_code}")

    return call


def command_seconds(url: str, args: list[str], repeat: int) -> float:
    """Median wall seconds of ``a2e ARGS`` as a new process, ``repeat`` times."""
    command = [A2E, *args]
    env = {**os.environ, "A2E_DATABASE_URL": url, "A2E_SECRET_KEY": "benchmark-secret"}
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        samples.append(time.perf_counter() - began)
    return median(samples)


def report_statement(db: Database, since: datetime) -> Callable[[], object]:
    """What ``a2e report usage`` runs, in this process (for EXPLAIN)."""
    from a2e.store.queries import reporting

    def call() -> object:
        with db.session() as session:
            return reporting.read_usage(session, since=since.date())

    return call


@dataclass(frozen=True)
class Size:
    """The figures at one size; ``indexes``: per call, the indexes its plans used."""

    first_ms: float
    deep_ms: float
    report_s: float
    report_query_s: float
    startup_s: float
    indexes: dict[str, str]


def measure_size(app: Flask, url: str, api_key: str, agent_id: int, repeat: int) -> Size:
    """The figures at the current size, as agent ``agent_id`` (``api_key``)."""
    client, engine = app.test_client(), app.extensions["a2e"].db.engine
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM runs WHERE agent_id = :a"),
                             {"a": agent_id}).scalar_one()
        deep_id = conn.execute(
            text("SELECT id FROM runs WHERE agent_id = :a ORDER BY id LIMIT 1 OFFSET :o"),
            {"a": agent_id, "o": max(count // 10, 50)},
        ).scalar_one()
    first = list_call(client, api_key, None)
    deep = list_call(client, api_key, encode_cursor(deep_id))
    since = datetime.now(UTC) - timedelta(days=30)
    report = report_statement(app.extensions["a2e"].db, since)
    indexes = {}
    for label, call, touching in (("first page", first, "FROM runs"),
                                  ("deep cursor", deep, "FROM runs"),
                                  ("report usage", report, "agent_usage_daily")):
        plan, used = explain(engine, call, touching)
        log(f"EXPLAIN {label}:\n{plan}\n")
        indexes[label] = ", ".join(used) or "no index"
    return Size(
        first_ms=percentile(timed_ms(first, repeat), 0.5),
        deep_ms=percentile(timed_ms(deep, repeat), 0.5),
        report_s=command_seconds(url, ["report", "usage", "--since", since.date().isoformat(),
                                       "--format", "json"], 3),
        report_query_s=median(timed_ms(report, 3)) / 1000,
        startup_s=command_seconds(url, ["--version"], 3),
        indexes=indexes,
    )


def run(quick: bool) -> list[Figure]:
    if not postgres_available():
        return [skipped("data growth (PostgreSQL)", "no PostgreSQL server")]
    large = 50_000 if quick else 1_000_000
    repeat = 10 if quick else 30
    with scratch_database("postgresql", "a2e_bench_growth") as url, \
            tempfile.TemporaryDirectory(prefix="a2e-bench-growth-") as log_dir:
        db = Database.from_url(url)
        with db.session(write=True) as session:
            keys = [agent_queries.create_agent(session, f"bench-{n}") for n in range(AGENTS)]
        agents = [key.agent_id for key in keys]
        app = bench_app(url, log_dir)
        sizes = {}
        for runs in (1_000, large):
            took = fill(db.engine, agents, runs, datetime.now(UTC))
            log(f"growth: {runs:,} runs / {runs * STEPS_PER_RUN:,} steps generated in {took:.1f} s")
            sizes[runs] = measure_size(app, url, keys[0].api_key, agents[0], repeat)
            log(f"growth {runs:,}: {sizes[runs]}")
        app.extensions["a2e"].db.dispose()
        db.dispose()
    small, big = sizes[1_000], sizes[large]
    scale = f"{large:,} runs / {large * STEPS_PER_RUN:,} steps"
    note = f"baseline: 1,000 runs; p50 of {repeat}; plan uses"
    return [
        Figure(f"GET /executions first page, {scale}", big.first_ms, "ms",
               at_most(1.5, relative=True), small.first_ms,
               note=f"{note} {big.indexes['first page']}"),
        Figure(f"GET /executions deep cursor (90 %), {scale}", big.deep_ms, "ms",
               at_most(1.5, relative=True), small.deep_ms,
               note=f"{note} {big.indexes['deep cursor']}"),
        Figure(f"a2e report usage query (in process), 30 days, {scale}", big.report_query_s,
               "s", at_most(2.0), small.report_query_s,
               note=f"baseline: 1,000 runs; median of 3; plan uses {big.indexes['report usage']}"),
        Figure(f"a2e report usage command (new process), 30 days, {scale}", big.report_s, "s",
               at_most(2.0), big.startup_s,
               note=f"baseline: `a2e --version` wall time; median of 3 "
                    f"(1,000 runs: {small.report_s:.2f} s)"),
    ]
