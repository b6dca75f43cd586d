"""A small HTTP load generator, and the 429-versus-/health latency figure (reported by
``benchmarks.limiter``).

:func:`load` runs N client processes, each with one keep-alive ``requests.Session``,
sending the same request back to back for a fixed time; it reports p50/p99 and req/s.
Processes, not threads, so that the client's own GIL does not shape the latencies.

The figure (issue 8, fixed method): ``a2e serve --workers 2``; an agent whose limit is
``requests_per_hour = 1`` (set through ``PUT /api/v1/admin/agents/<name>/limits``) has
spent its one request, so every ``POST /api/v1/workflows/execute`` it sends is a 429.
Each round loads ``GET /health`` for 10 s, then the 429 endpoint for 10 s, with 4
connections; the figure is the median over 3 rounds of each round's p50.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from a2e.store.queries import agents as agent_queries
from a2e.store.session import Database
from benchmarks.common import (
    Figure,
    at_most,
    dialects,
    log,
    median,
    percentile,
    scratch_database,
)
from benchmarks.e2e import WORKFLOW
from tests.serving import ServerProcess


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str]
    json: Any = None


@dataclass(frozen=True)
class LoadResult:
    latencies_ms: list[float]
    statuses: Counter[int]
    seconds: float

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 0.99)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds


def _client(request: Request, seconds: float) -> tuple[list[float], Counter[int]]:
    """One connection: requests back to back until ``seconds`` have passed."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    with requests.Session() as session:
        deadline = time.perf_counter() + seconds
        while (start := time.perf_counter()) < deadline:
            response = session.request(request.method, request.url, headers=dict(request.headers),
                                       json=request.json, timeout=30)
            response.content  # noqa: B018 - read the whole body, as a client would
            latencies.append((time.perf_counter() - start) * 1000)
            statuses[response.status_code] += 1
    return latencies, statuses


def load(request: Request, *, connections: int, seconds: float) -> LoadResult:
    """``connections`` client processes sending ``request`` for ``seconds``."""
    with multiprocessing.get_context("fork").Pool(connections) as pool:
        parts = pool.starmap(_client, [(request, seconds)] * connections)
    latencies = [ms for part, _ in parts for ms in part]
    statuses = sum((counts for _, counts in parts), Counter())
    return LoadResult(latencies, statuses, seconds)


def prepare(server_url: str, database_url: str) -> Request:
    """An agent at its limit (1 request per hour, spent): the 429 request it keeps sending."""
    db = Database.from_url(database_url)
    with db.session(write=True) as session:
        admin = agent_queries.create_agent(session, "bench-admin", admin=True)
        agent = agent_queries.create_agent(session, "bench-limited")
    db.dispose()
    response = requests.put(
        f"{server_url}/api/v1/admin/agents/bench-limited/limits",
        json={"requests_per_hour": 1},
        headers={"Authorization": f"Bearer {admin.api_key}"}, timeout=10,
    )
    response.raise_for_status()
    limited = Request("POST", f"{server_url}/api/v1/workflows/execute",
                      {"Authorization": f"Bearer {agent.api_key}"}, {"workflow": WORKFLOW})
    statuses = [requests.request(limited.method, limited.url, headers=dict(limited.headers),
                                 json=limited.json, timeout=30).status_code for _ in range(2)]
    if statuses != [200, 429]:
        raise RuntimeError(f"expected one admission then 429, got {statuses}")
    return limited


def measure(dialect: str, seconds: float, rounds: int, connections: int) -> list[Figure]:
    with scratch_database(dialect, "a2e_bench_http") as url, \
            tempfile.TemporaryDirectory(prefix="a2e-bench-http-") as workdir, \
            ServerProcess(url, Path(workdir), workers=2).start() as server:
        limited = prepare(server.url, url)
        health = Request("GET", f"{server.url}/health", {})
        health_p50s, limited_p50s = [], []
        unexpected: dict[str, Counter[int]] = {"/health": Counter(), "429": Counter()}
        for n in range(rounds):
            ok = load(health, connections=connections, seconds=seconds)
            refused = load(limited, connections=connections, seconds=seconds)
            unexpected["/health"] += Counter({s: c for s, c in ok.statuses.items() if s != 200})
            unexpected["429"] += Counter({s: c for s, c in refused.statuses.items() if s != 429})
            health_p50s.append(ok.p50)
            limited_p50s.append(refused.p50)
            log(f"http {dialect} round {n + 1}: /health p50 {ok.p50:.2f} ms p99 {ok.p99:.2f} ms "
                f"{ok.per_second:.0f}/s; 429 p50 {refused.p50:.2f} ms p99 {refused.p99:.2f} ms "
                f"{refused.per_second:.0f}/s")
    method = (f"gunicorn 2 workers, {connections} connections, {seconds:g} s each, "
              f"median of {rounds}")
    others = "; ".join(f"{name} also {dict(counts)}" for name, counts in unexpected.items() if counts)
    return [
        Figure(f"/health p50 ({dialect})", median(health_p50s), "ms", note=method),
        Figure(f"429 p50, agent at its limit ({dialect})", median(limited_p50s), "ms",
               at_most(1.5, relative=True), median(health_p50s),
               note="; ".join(filter(None, ["POST execute refused; baseline: /health p50", others]))),
    ]


def run(quick: bool) -> list[Figure]:
    seconds, rounds = (2.0, 1) if quick else (10.0, 3)
    figures: list[Figure] = []
    for dialect in dialects():
        figures += measure(dialect, seconds, rounds, connections=4)
    return figures
