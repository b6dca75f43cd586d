"""End-to-end executions/s of a 3-operation data workflow through the Flask app.

The workflow reads a data set saved earlier by StoreData (``/store/orders``), filters it,
aggregates it per category and sums the totals (FilterData → TransformData → Calculate,
``"cache": false`` so that the result cache stays out of it). Each execution is one
``POST /api/v1/workflows/execute`` through Flask's test client (no sockets).

Per database (SQLite file, PostgreSQL) two apps share that database and run in
alternating rounds in the same process:

- **SQL**: the app as served — the SQL run recorder and value store.
- **baseline**: the same app, request and checks (auth, rate limits, validation,
  JSON), and the same two SQL transactions per run (the request's count, the slot lease
  and ``run.started``; ``run.finished`` and the lease's release: :class:`RunsInMemory`),
  except that the run and its steps are kept in memory (``a2e.engine.memory``), and
  values are read from a MemoryValueStore.

The ratio is therefore the cost of persisting the runs and steps themselves in SQL
(their rows, in the same transactions), with everything else equal. ``engine only`` is the Runner on memory ports without HTTP or app, for scale.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask

from a2e.api.services import build_runner
from a2e.engine.memory import MemoryRunRecorder, MemoryValueStore
from a2e.engine.ops import REGISTRY
from a2e.engine.ports import AgentContext, RunFinish, RunStart, StepRecord
from a2e.engine.runner import Runner
from a2e.protocol.model import AgentPermissions
from a2e.protocol.workflow import parse_workflow
from a2e.store.adapters import SqlRunRecorder, SqlValueStore
from a2e.store.queries import audit as audit_queries
from a2e.store.queries import agents as agent_queries
from a2e.store.session import Database
from benchmarks.common import (
    Figure,
    at_least,
    bench_app,
    dialects,
    log,
    median,
    rate,
    scratch_database,
)

AGENT = "bench-e2e"
ORDERS = [
    {"id": n, "category": ("books", "games", "tools")[n % 3], "amount": 5 + n % 40,
     "paid": n % 4 != 0}
    for n in range(50)
]
WORKFLOW = "\n".join(json.dumps(message) for message in (
    {"type": "operationUpdate", "operationId": "paid", "operation": {"FilterData": {
        "inputPath": "/store/orders", "cache": False,
        "conditions": [{"field": "paid", "operator": "==", "value": True}],
        "outputPath": "/workflow/paid"}}},
    {"type": "operationUpdate", "operationId": "per-category", "operation": {"TransformData": {
        "inputPath": "/workflow/paid", "transform": "aggregate", "cache": False,
        "config": {"groupBy": "category",
                   "aggregations": [{"field": "amount", "op": "sum", "as": "total"}]},
        "outputPath": "/workflow/totals"}}},
    {"type": "operationUpdate", "operationId": "grand-total", "operation": {"Calculate": {
        "inputPath": "/workflow/totals", "operation": "sum", "field": "total",
        "outputPath": "/workflow/total"}}},
    {"type": "beginExecution", "operationOrder": ["paid", "per-category", "grand-total"]},
))


class RunsInMemory:
    """The SQL recorder's start and finish transactions without the run and step rows."""

    def __init__(self, sql: SqlRunRecorder) -> None:
        self.db, self.slots, self.events = sql.db, sql.slots, sql.events
        self.memory = MemoryRunRecorder()
        self.leases: dict[int, int] = {}

    def start_run(self, start: RunStart) -> int:
        run_id = self.memory.start_run(start)
        assert self.slots is not None and self.events is not None
        with self.db.driver_transaction() as tx:
            audit_queries.insert_events(tx.tail, [self.events.started(run_id, start)])
            if start.admission is not None:
                start.admission.count_in(tx)
            lease = (self.slots.acquire_in(tx, int(start.agent_id), start.concurrent_runs)
                     if start.concurrent_runs is not None else None)
        if start.admission is not None:
            start.admission.committed()
        if lease is not None:
            self.leases[run_id] = lease()
        return run_id

    def commit_steps(self, run_id: int, steps: Sequence[StepRecord]) -> None:
        self.memory.commit_steps(run_id, steps)

    def finish_run(self, run_id: int, finish: RunFinish, steps: Sequence[StepRecord]) -> None:
        self.memory.finish_run(run_id, finish, steps)
        assert self.slots is not None and self.events is not None
        with self.db.driver_transaction() as tx:
            audit_queries.insert_events(tx.tail, [self.events.finished(run_id, finish)])
            lease = self.leases.pop(run_id, None)
            if lease is not None:
                self.slots.release_in(tx.tail, lease)


def build_app(url: str, log_dir: str, *, memory_runs: bool) -> Flask:
    """The app as served, or (``memory_runs``) the baseline: runs and values in memory."""
    app = bench_app(url, log_dir)
    if memory_runs:
        app_state = app.extensions["a2e"]
        services = app_state.services
        values = MemoryValueStore()
        values.put(agent_id_of(app_state.db), "db", "orders", ORDERS)
        services.runner = build_runner(
            app_state.settings, clock=services.clock, rate_limits=services.rate_limits,
            cache=services.cache, credentials=services.credentials,
            recorder=RunsInMemory(services.runner.recorder),
            values=values,
        )
    return app


def agent_id_of(db: Database) -> int:
    with db.session() as session:
        return agent_queries.read_agent(session, AGENT).id


def execute_call(app: Flask, api_key: str) -> Callable[[], None]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_key}"}
    body = {"workflow": WORKFLOW}

    def call() -> None:
        response = client.post("/api/v1/workflows/execute", json=body, headers=headers)
        result: dict[str, Any] = response.get_json()
        if response.status_code != 200 or result["status"] != "succeeded":
            raise RuntimeError(f"execute answered {response.status_code}: {result}")

    return call


def engine_only_rate(seconds: float) -> float:
    """The Runner on memory ports, called directly: no HTTP, app, auth or SQL."""
    values = MemoryValueStore()
    values.put(1, "db", "orders", ORDERS)
    runner = Runner(MemoryRunRecorder(), values=values)
    workflow = parse_workflow(WORKFLOW, REGISTRY)
    agent = AgentContext(1, AgentPermissions())
    count = iter(range(10**9))

    def call() -> None:
        runner.execute(workflow, agent=agent, execution_id=f"e{next(count)}", workflow_text=WORKFLOW)

    return rate(call, seconds)


def measure(dialect: str, seconds: float, rounds: int) -> list[Figure]:
    with scratch_database(dialect, "a2e_bench_e2e") as url, \
            tempfile.TemporaryDirectory(prefix="a2e-bench-logs-") as log_dir:
        db = Database.from_url(url)
        with db.session(write=True) as session:
            key = agent_queries.create_agent(session, AGENT, allowed_hosts=())
        SqlValueStore(db).put(key.agent_id, "db", "orders", ORDERS)
        db.dispose()
        sql_app = build_app(url, log_dir, memory_runs=False)
        base_app = build_app(url, log_dir, memory_runs=True)
        sql_call, base_call = execute_call(sql_app, key.api_key), execute_call(base_app, key.api_key)
        sql_rates, base_rates = [], []
        for n in range(rounds):
            sql_rates.append(rate(sql_call, seconds))
            base_rates.append(rate(base_call, seconds))
            log(f"e2e {dialect} round {n + 1}: SQL {sql_rates[-1]:.1f}/s, "
                f"baseline {base_rates[-1]:.1f}/s")
        for app in (sql_app, base_app):
            app.extensions["a2e"].db.dispose()
    return [Figure(
        f"e2e executions/s, 3-op workflow, SQL store on {dialect}",
        median(sql_rates), "exec/s", at_least(0.7, relative=True), median(base_rates),
        note=f"baseline: same app on {dialect}, run and step rows and values in memory; "
             f"median of {rounds} × {seconds:g} s, test client",
    )]


def run(quick: bool) -> list[Figure]:
    seconds, rounds = (1.0, 2) if quick else (4.0, 3)
    figures = [Figure("engine only: Runner on memory ports, no HTTP", engine_only_rate(seconds),
                      "exec/s", note="scale reference, no goal")]
    for dialect in dialects():
        figures += measure(dialect, seconds, rounds)
    return figures
