"""Dashboard figures and Prometheus ``/metrics`` on PostgreSQL as the data grows.

The same scratch data as ``benchmarks.growth`` (10 agents, runs spread evenly over the
last 30 days, 5 steps each, their usage windows), filled first with 1 k runs, then with
1 M runs / 5 M steps. After each fill the rollups are emptied and the runs are rolled up
(``a2e.store.rollup.roll`` up to now minus the default ``metrics.roll_grace_s``, as the
servers' rollers would have done while the runs came in, so the last minutes' runs are
read live; its time is logged), then ``VACUUM ANALYZE``. At each size, through the test
client as an admin:

- ``GET /api/v1/dashboard/metrics?days=7`` (every part: a quarter of the runs is in
  the period) and the same for one agent;
- ``GET /metrics`` (every run and step the database holds).

p50 of repeated calls; the large case is reported against the small one.
``EXPLAIN (ANALYZE, BUFFERS)`` of the statements each call ran goes to stderr and the
indexes the plans used are in the figure's note.

``python -m benchmarks --only dashboard`` (``--quick``: 50 k runs).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from sqlalchemy import text

from a2e.config import MetricsSchema
from a2e.store.queries import agents as agent_queries
from a2e.store.rollup import reset_watermark, roll
from a2e.store.session import Database
from benchmarks.common import (
    Figure,
    bench_app,
    log,
    percentile,
    postgres_available,
    scratch_database,
    skipped,
    timed_ms,
)
from benchmarks.growth import AGENTS, STEPS_PER_RUN, explain, fill

#: The statements explained: those over runs, steps, rollups, rejections and the cache.
FIGURES = r"\b(runs|run_steps|\w+_rollups|rate_limit_rejections|cache_\w+|usage_windows)\b"
CALLS = {
    "dashboard metrics, 7 days": ("/api/v1/dashboard/metrics?days=7", FIGURES),
    "dashboard metrics, 7 days, one agent": ("/api/v1/dashboard/metrics?days=7&agent=bench-0", FIGURES),
    "GET /metrics": ("/metrics", FIGURES),
}


ROLLUPS = "run_rollups, step_rollups, run_duration_rollups, rollup_watermark"


def roll_up(db: Database, now: datetime) -> float:
    """Empty the rollups, roll the runs finished before ``now`` minus the default grace;
    the seconds it took."""
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {ROLLUPS}"))
        conn.execute(reset_watermark())
    began = time.perf_counter()
    roll(db, now - timedelta(seconds=MetricsSchema().load({})["roll_grace_s"]))
    took = time.perf_counter() - began
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE runs, {ROLLUPS}"))
    return took


def getter(client: FlaskClient, path: str, api_key: str) -> Callable[[], None]:
    headers = {"Authorization": f"Bearer {api_key}"}

    def call() -> None:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")

    return call


def run(quick: bool) -> list[Figure]:
    if not postgres_available():
        return [skipped("dashboard (PostgreSQL)", "no PostgreSQL server")]
    large = 50_000 if quick else 1_000_000
    repeat = 5 if quick else 10
    with scratch_database("postgresql", "a2e_bench_dashboard") as url, \
            tempfile.TemporaryDirectory(prefix="a2e-bench-dashboard-") as log_dir:
        db = Database.from_url(url)
        with db.session(write=True) as session:
            agents = [agent_queries.create_agent(session, f"bench-{n}").agent_id
                      for n in range(AGENTS)]
            admin = agent_queries.create_agent(session, "bench-admin", admin=True)
        app = bench_app(url, log_dir)
        client, engine = app.test_client(), app.extensions["a2e"].db.engine
        results: dict[int, dict[str, tuple[float, str]]] = {}
        for runs in (1_000, large):
            took = fill(db.engine, agents, runs, datetime.now(UTC))
            log(f"dashboard: {runs:,} runs / {runs * STEPS_PER_RUN:,} steps generated in {took:.1f} s")
            rolled = roll_up(db, datetime.now(UTC))
            log(f"dashboard: {runs:,} runs rolled up in {rolled:.1f} s")
            results[runs] = {}
            for label, (path, touching) in CALLS.items():
                call = getter(client, path, admin.api_key)
                plan, used = explain(engine, call, touching)
                log(f"EXPLAIN {label} at {runs:,} runs:\n{plan}\n")
                results[runs][label] = (percentile(timed_ms(call, repeat), 0.5),
                                        ", ".join(used) or "no index")
                log(f"dashboard {runs:,} {label}: {results[runs][label][0]:.1f} ms")
        app.extensions["a2e"].db.dispose()
        db.dispose()
    scale = f"{large:,} runs / {large * STEPS_PER_RUN:,} steps"
    return [
        Figure(f"{label}, {scale}", results[large][label][0], "ms", None, results[1_000][label][0],
               note=f"baseline: 1,000 runs; rolled up first (all but the grace); p50 of {repeat}; "
                    f"plans use {results[large][label][1]}")
        for label in CALLS
    ]
