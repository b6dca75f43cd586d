"""Cache and retry figures:

- a GET ApiCall to a local server that takes 50 ms, executed through the API: p50 of a
  cache hit against p50 of a miss (goal: the hit at least 90 % faster);
- the persisted cache's ``get`` of a hit (SQLite, and PostgreSQL when its server answers)
  against the in-memory dict cache (the baseline);
- the share of runs that succeed against a server failing 30 % of requests with 503,
  without retry and with the default 3 retries (tiny delays; goal ≥ 97 %).

``python -m benchmarks.cache_retry [--quick]`` or ``python -m benchmarks --only cache_retry``
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from a2e.engine.clock import SystemClock
from a2e.engine.memory import MemoryResultCache, MemoryRunRecorder
from a2e.engine.ports import AgentContext
from a2e.engine.retry import RetryPolicy
from a2e.engine.runner import Runner
from a2e.protocol.model import AgentPermissions
from a2e.protocol.workflow import parse_workflow
from a2e.store.cache import CachePolicy, SqlResultCache
from a2e.store.queries import agents as agent_queries
from a2e.store.session import Database
from benchmarks.common import (
    Figure,
    at_least,
    at_most,
    bench_app,
    dialects,
    log,
    percentile,
    scratch_database,
    table,
    timed_ms,
)

SLOW_S = 0.050
FAILURE_SHARE = 0.30
#: The server's own generator (the retry policy's jitter uses the global one).
FAILURES = random.Random(7)


class _Handler(BaseHTTPRequestHandler):
    """``/slow...``: 50 ms then JSON; ``/flaky``: 503 for 30 % of requests, else JSON."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path.startswith("/slow"):
            time.sleep(SLOW_S)
        elif FAILURES.random() < FAILURE_SHARE:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"path": self.path, "items": list(range(20))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def workflow(url: str, **config: object) -> str:
    op = {"ApiCall": {"method": "GET", "url": url, "outputPath": "/workflow/r", **config}}
    return "\n".join(json.dumps(line) for line in (
        {"type": "operationUpdate", "operationId": "call", "operation": op},
        {"type": "beginExecution", "operationOrder": ["call"]},
    ))


def hit_versus_miss(base: str, quick: bool) -> list[Figure]:
    """p50 of a cache hit against p50 of a miss (a new URL each time): of the step (from its
    record) and of the whole execute request (auth, limits, run records, audit included)."""
    with scratch_database("sqlite", "bench-cache") as url, tempfile.TemporaryDirectory() as logs:
        app = bench_app(url, logs)
        with app.extensions["a2e"].db.session(write=True) as session:
            key = agent_queries.create_agent(session, "bench", allowed_hosts=("127.0.0.1",)).api_key
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        counter = iter(range(10**9))

        def execute(target: str, steps: list[float]) -> None:
            body = client.post("/api/v1/workflows/execute", headers=headers,
                               json={"workflow": workflow(target)}).json
            assert body["status"] == "succeeded", body
            step = body["steps"][0]
            elapsed = (datetime.fromisoformat(step["completed_at"])
                       - datetime.fromisoformat(step["started_at"]))
            steps.append(elapsed.total_seconds() * 1000)

        miss_steps: list[float] = []
        hit_steps: list[float] = []
        misses = timed_ms(lambda: execute(f"{base}/slow?n={next(counter)}", miss_steps),
                          20 if quick else 60)
        hits = timed_ms(lambda: execute(f"{base}/slow?n=hit", hit_steps), 100 if quick else 400)
        app.extensions["a2e"].db.dispose()
    figures = []
    for name, hit, miss in (("ApiCall step", percentile(hit_steps, 0.5), percentile(miss_steps, 0.5)),
                            ("whole execute request", percentile(hits, 0.5), percentile(misses, 0.5))):
        figures.append(Figure(
            f"{name}, GET to a 50 ms server: cache hit p50", hit, "ms",
            goal=at_most(0.10, relative=True) if name == "ApiCall step" else None, baseline=miss,
            note=f"baseline: miss p50; hit {100 * (1 - hit / miss):.0f} % faster; SQLite"))
    return figures


def get_overhead(quick: bool) -> list[Figure]:
    """Microseconds of a cache hit's ``get``: SQL (each dialect) against the in-memory dict."""
    material = {"config": {"method": "GET", "url": "http://127.0.0.1/x"}, "inputs": {}}
    value = {"items": list(range(20))}
    memory = MemoryResultCache()
    memory.put(1, "ApiCall", material, value)
    repeat = 300 if quick else 2000
    baseline = percentile(timed_ms(lambda: memory.get(1, "ApiCall", material), repeat), 0.5) * 1000
    figures = []
    for dialect in dialects():
        with scratch_database(dialect, "bench-cache-get") as url:
            db = Database.from_url(url)
            with db.session(write=True) as session:
                agent = agent_queries.create_agent(session, "bench").agent_id
            cache = SqlResultCache(db, CachePolicy(), SystemClock())
            cache.put(agent, "ApiCall", material, value)
            samples = timed_ms(lambda: cache.get(agent, "ApiCall", material), repeat)
            db.dispose()
        figures.append(Figure(f"persisted cache get (hit), {dialect}",
                              percentile(samples, 0.5) * 1000, "µs", baseline=baseline,
                              note="baseline: in-memory dict cache; p50"))
    return figures


def success_share(base: str, retries: int, runs: int) -> float:
    """Share of runs of one ApiCall to ``/flaky`` that succeed."""
    policy = RetryPolicy(max_retries=retries, initial_delay=0.001, max_delay=0.01)
    runner = Runner(MemoryRunRecorder(), retry=policy)
    agent = AgentContext(1, AgentPermissions(allowed_hosts=("127.0.0.1",)))
    parsed = parse_workflow(workflow(f"{base}/flaky", cache=False))
    succeeded = sum(
        runner.execute(parsed, agent=agent, execution_id=f"run-{n}", workflow_text="").status
        == "succeeded"
        for n in range(runs)
    )
    return succeeded / runs


def run(quick: bool) -> list[Figure]:
    figures = []
    with local_server() as base:
        log("cache: hit versus miss through the API")
        figures += hit_versus_miss(base, quick)
        log("cache: get of a hit, SQL versus memory")
        figures += get_overhead(quick)
        runs = 1000 if quick else 3000
        log(f"retry: {runs} runs against a server failing {FAILURE_SHARE:.0%} of requests")
        without = success_share(base, 0, runs)
        figures.append(Figure(f"runs succeeding, server failing {FAILURE_SHARE:.0%} (no retry)",
                              100 * without, "%", note=f"{runs} runs"))
        figures.append(Figure(f"runs succeeding, server failing {FAILURE_SHARE:.0%} (3 retries)",
                              100 * success_share(base, 3, runs), "%", goal=at_least(97),
                              baseline=100 * without,
                              note=f"{runs} runs; delays 1–10 ms; baseline: no retry"))
    return figures


if __name__ == "__main__":
    print(table(run("--quick" in sys.argv[1:])))
