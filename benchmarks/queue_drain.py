"""Asynchronous runs on PostgreSQL: queued runs drained per second by 1, 2 and 4
``a2e worker`` processes, and the latency of an asynchronous submit beside a
synchronous execute of the same workflow.

Drain: the workers are started and idle first; then N runs are queued in one
transaction (its commit wakes them through ``NOTIFY``) and the clock runs until the
last one has ended. Rounds alternate the worker counts; the figure is the median of
the rounds, with min and max in its note. 2 and 4 workers are shown as ratios over 1
worker (the baseline) measured in the same rounds. Each worker runs 4 threads.

Submit: ``POST /api/v1/workflows/execute`` in process (Flask test client) with
``"async": true`` (no worker running, so the queue only grows) against the same
request without it; median milliseconds of a few hundred requests per round.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, func, select

from benchmarks.common import (
    Figure,
    bench_app,
    log,
    median,
    postgres_available,
    scratch_database,
    skipped,
    timed_ms,
)
from a2e.store.base import utcnow
from a2e.store.models import Run
from a2e.store.owner import current_owner
from a2e.store.queries import agents as agent_queries
from a2e.store.queries import queue as queue_queries
from a2e.store.session import Database

A2E = str(Path(sys.executable).parent / "a2e")
WORKFLOW = "\n".join(json.dumps(line) for line in (
    {"type": "operationUpdate", "operationId": "now",
     "operation": {"GetCurrentDateTime": {"outputPath": "/workflow/now"}}},
    {"type": "operationUpdate", "operationId": "sum",
     "operation": {"Calculate": {"expression": "2 + 3", "outputPath": "/workflow/sum"}}},
    {"type": "beginExecution", "operationOrder": ["now", "sum"]},
))
WORKER_COUNTS = (1, 2, 4)
THREADS_PER_WORKER = 4
UNLIMITED = {"enabled": False}


def _queue(db: Database, agent_id: int, count: int, tag: str) -> None:
    now, owner = utcnow(), current_owner()
    with db.connection(write=True) as conn:
        for index in range(count):
            queue_queries.enqueue_run(conn, agent_id=agent_id, execution_id=f"{tag}-{index}",
                                      owner=owner, now=now, workflow_text=WORKFLOW,
                                      callback_url=None)


def _pending(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Run)
                              .where(Run.status.in_(("queued", "running")))) or 0


def _drain_rate(url: str, db: Database, agent_id: int, workers: int, count: int, tag: str,
                workdir: str) -> float:
    config = Path(workdir) / "queue.json"
    config.write_text(json.dumps({"rateLimiting": UNLIMITED,
                                  "queue": {"lease_s": 30, "poll_s": 1}}))
    env = {**os.environ, "A2E_DATABASE_URL": url, "A2E_CONFIG": str(config),
           "A2E_SECRET_KEY": "benchmark-secret", "A2E_LOG_DIR": f"{workdir}/logs"}
    processes = [subprocess.Popen([A2E, "worker", "--concurrency", str(THREADS_PER_WORKER)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True) for _ in range(workers)]
    try:
        time.sleep(3.0)  # let them start and go idle
        start = time.perf_counter()
        _queue(db, agent_id, count, tag)
        while _pending(db):
            time.sleep(0.02)
        return count / (time.perf_counter() - start)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(60)


def _submit_latency(url: str, key: str, workdir: str, repeat: int) -> tuple[float, float]:
    app = bench_app(url, f"{workdir}/logs-app")
    client = app.test_client()
    headers = {"X-API-Key": key}

    def call(body: dict) -> None:
        response = client.post("/api/v1/workflows/execute", headers=headers, json=body)
        assert response.status_code in (200, 202), response.get_data(as_text=True)

    try:
        async_ms = median(timed_ms(lambda: call({"workflow": WORKFLOW, "async": True}), repeat))
        sync_ms = median(timed_ms(lambda: call({"workflow": WORKFLOW}), repeat))
    finally:
        app.extensions["a2e"].db.dispose()
    with Database.from_url(url).engine.begin() as conn:  # nobody is to drain these
        conn.execute(delete(Run).where(Run.status == "queued"))
    return async_ms, sync_ms


def run(quick: bool) -> list[Figure]:
    if not postgres_available():
        return [skipped("queue drain (PostgreSQL)", "no PostgreSQL server")]
    count, rounds, repeat = (100, 2, 50) if quick else (300, 3, 200)
    rates: dict[int, list[float]] = {n: [] for n in WORKER_COUNTS}
    submit: list[tuple[float, float]] = []
    with scratch_database("postgresql", "bench_queue") as url, \
            tempfile.TemporaryDirectory(prefix="bench-queue-") as workdir:
        db = Database.from_url(url)
        try:
            with db.session(write=True) as session:
                issued = agent_queries.create_agent(session, "bench", admin=False,
                                                    allowed_operations=None, allowed_hosts=())
            for round_no in range(rounds):
                order = WORKER_COUNTS if round_no % 2 == 0 else tuple(reversed(WORKER_COUNTS))
                for workers in order:
                    value = _drain_rate(url, db, issued.agent_id, workers, count,
                                        f"r{round_no}w{workers}", workdir)
                    log(f"queue drain: round {round_no + 1}, {workers} worker(s): {value:.0f} runs/s")
                    rates[workers].append(value)
                submit.append(_submit_latency(url, issued.api_key, workdir, repeat))
                log(f"submit: async {submit[-1][0]:.2f} ms, sync {submit[-1][1]:.2f} ms")
        finally:
            db.dispose()
    base = median(rates[1])
    figures = []
    for workers in WORKER_COUNTS:
        values = rates[workers]
        figures.append(Figure(
            f"queued runs drained, {workers} worker(s) × {THREADS_PER_WORKER} threads, PostgreSQL",
            median(values), "runs/s", baseline=None if workers == 1 else base,
            note=f"{count} runs; min {min(values):.0f}, max {max(values):.0f}; "
                 f"{rounds} round(s); baseline: 1 worker",
        ))
    async_ms = [a for a, _ in submit]
    sync_ms = [s for _, s in submit]
    figures.append(Figure(
        "async submit (202) latency, in process, PostgreSQL", median(async_ms), "ms",
        baseline=median(sync_ms),
        note=f"median of {repeat} per round; rounds min {min(async_ms):.2f}, max "
             f"{max(async_ms):.2f}; baseline: synchronous execute of the same workflow",
    ))
    return figures


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(run("--quick" in sys.argv)))
