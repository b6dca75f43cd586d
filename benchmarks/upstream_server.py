"""Serve the upstream reference server from a checkout, the way ``a2e serve`` serves ours.

Run by :mod:`benchmarks.runpath` with a Python that has the upstream server's own
dependencies (``A2E_BENCH_UPSTREAM_PYTHON``); it imports nothing of a2e. It writes the
upstream configuration into ``workdir``, registers one agent (its API key goes to
``workdir/api_key``), and serves ``server.a2e_server:app`` with gunicorn: gthread,
1 worker × 4 threads, on 127.0.0.1. Rate limits are set high enough never to refuse.
RAG is off (its optional packages are not installed), through the upstream code's own
fallbacks.

    python benchmarks/upstream_server.py CHECKOUT WORKDIR PORT

With ``--in-process BODY`` instead of a port it serves nothing: it posts the execute
request ``BODY`` through the app's Flask test client (200 warm-up calls, then 5 rounds of
1,500) and prints the process CPU per call of each round, in µs, as a JSON list. With
``--instructions BODY WARM_UP CALLS [THREADS]``, run under callgrind, it posts it the same
way in :func:`counted_loop` (the count of the calls alone, in callgrind's dump), from
THREADS threads at once if given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

OPERATIONS = ["GetCurrentDateTime", "Calculate"]
T = TypeVar("T")
HIGH = 10**9


def main(checkout: str, workdir: str, port: int) -> None:
    app, _ = set_up(checkout, workdir)
    from gunicorn.app.base import BaseApplication

    class Upstream(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in {"bind": f"127.0.0.1:{port}", "workers": 1,
                                "worker_class": "gthread", "threads": 4,
                                "accesslog": None, "loglevel": "warning"}.items():
                self.cfg.set(name, value)

        def load(self):  # noqa: ANN202 - gunicorn's signature
            return app

    Upstream().run()


def in_process(checkout: str, workdir: str, body: str) -> list[float]:
    """CPU µs per execute through the test client, per round (see the module docstring)."""
    app, key = set_up(checkout, workdir)
    client = app.test_client()
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    for _ in range(200):
        assert client.post("/api/v1/workflows/execute", data=body, headers=headers).status_code == 200
    rounds = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(1500):
            client.post("/api/v1/workflows/execute", data=body, headers=headers)
        rounds.append((time.process_time() - start) / 1500 * 1e6)
    return rounds


def set_up(checkout: str, workdir: str) -> tuple[object, str]:
    """The checkout's app after its own ``init_server``, and one agent's API key (also
    written to ``workdir/api_key``)."""
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    sys.path.insert(0, checkout)
    config = {
        "vault": {"path": str(work / "credentials.vault.json")},
        "apiKnowledgeBase": {"path": None},
        "auth": {"path": str(work / "agent_auth.json")},
        "monitoring": {"log_dir": str(work / "logs")},
        "rateLimiting": {"enabled": True, "requests_per_minute": HIGH, "requests_per_hour": HIGH,
                         "requests_per_day": HIGH, "api_calls_per_minute": HIGH,
                         "api_calls_per_hour": HIGH, "enable_throttling": False},
    }
    import credentials_vault  # the checkout's own modules
    from auth.agent_auth import AgentAuth
    from server import a2e_server

    # Without its optional RAG packages the vault would still try to build the RAG
    # system and fail; this is the vault's own "RAG not available" branch.
    credentials_vault.A2ERAGSystem = None

    key = AgentAuth(config_path=config["auth"]["path"]).register_agent(
        "bench", "bench", allowed_operations=OPERATIONS
    )
    a2e_server.init_server(config)
    (work / "api_key").write_text(key)
    return a2e_server.app, key


def counted_loop(call: Callable[[], object], warm_up: int, calls: int, threads: int = 1) -> None:
    """``call`` ``warm_up`` times, then ``calls`` times with callgrind counting (this
    process runs under ``valgrind --tool=callgrind``): its count is zeroed before the loop
    and dumped after it, so the dump holds the loop alone. With ``threads`` above 1 each
    of that many threads makes ``calls // threads`` of the calls at once (``call`` must
    be safe to call from several threads)."""
    def loop(times: int) -> None:
        for _ in range(times):
            call()

    def together(times: int) -> None:
        running = [threading.Thread(target=loop, args=(times,)) for _ in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()

    together(warm_up // threads)
    subprocess.run(["callgrind_control", "-z", str(os.getpid())], check=True, capture_output=True)
    together(calls // threads)
    subprocess.run(["callgrind_control", "-d", "loop", str(os.getpid())], check=True,
                   capture_output=True)


def per_thread(make: Callable[[], T]) -> Callable[[], T]:
    """What ``make()`` gives, made once in each thread that asks (a test client each)."""
    local = threading.local()

    def mine() -> T:
        if not hasattr(local, "made"):
            local.made = make()
        return local.made

    return mine


def instructions(checkout: str, workdir: str, body: str, warm_up: int, calls: int,
                 threads: int = 1) -> None:
    """The execute request through the test client (one per thread) in :func:`counted_loop`."""
    app, key = set_up(checkout, workdir)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    client = per_thread(app.test_client)

    def call() -> None:
        response = client().post("/api/v1/workflows/execute", data=body, headers=headers)
        assert response.status_code == 200

    counted_loop(call, warm_up, calls, threads)


if __name__ == "__main__":
    if sys.argv[3] == "--in-process":
        print(json.dumps(in_process(sys.argv[1], sys.argv[2], sys.argv[4])))
    elif sys.argv[3] == "--instructions":
        instructions(sys.argv[1], sys.argv[2], sys.argv[4], *map(int, sys.argv[5:8]))
    else:
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
