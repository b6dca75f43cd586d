"""What the run bounds and the secret scrub cost an execute (goal: under 5 %).

The workflow: an ApiCall with a credential in its ``Authorization`` header to a local
server that answers 50 orders and echoes the header back (so the scrub has work to do),
then FilterData → TransformData → Calculate on the answer. Each execution is one
``POST /api/v1/workflows/execute`` through Flask's test client on a SQLite file.

Both figures are CPU time (``time.process_time``: the app, the engine and the local
server's thread), since on a shared, loaded machine an execute's wall time is mostly
waiting for the database file and the CPU:

- **share**: the CPU time spent in the size checks (``RunBudget.admit_step`` and
  ``RunBudget.charge``) and the scrub (``Scrubber.scrub``, ``Scrubber.add``), timed with
  ``time.thread_time`` around each call, as a percentage of the executions' CPU time;
- **ratio**: CPU time per execute of the same app with those four functions replaced by
  no-ops, divided by the app's as built, in alternating rounds of the same executions.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from a2e.crypto import SecretBox
from a2e.engine.bounds import RunBudget
from a2e.engine.scrub import Scrubber
from a2e.store.queries import agents as agent_queries
from a2e.store.queries.credentials import write_credential
from a2e.store.session import Database
from benchmarks.common import Figure, at_most, bench_app, log, median, scratch_database

AGENT = "bench-sandbox"
SECRET = "Bearer bench-0123456789abcdef"
ORDERS = [{"id": n, "category": ("books", "games", "tools")[n % 3], "amount": 5 + n % 40,
           "paid": n % 4 != 0} for n in range(50)]
MEASURED = ((RunBudget, "admit_step"), (RunBudget, "charge"), (Scrubber, "scrub"), (Scrubber, "add"))


class _Orders(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps({"orders": ORDERS, "echo": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def orders_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Orders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/orders"
    finally:
        server.shutdown()
        server.server_close()


def workflow(url: str) -> str:
    ops = [
        ("fetch", {"ApiCall": {"method": "GET", "url": url, "cache": False, "outputPath": "/workflow/r",
                               "headers": {"Authorization": {"credentialRef": {"id": "token"}}}}}),
        ("paid", {"FilterData": {"inputPath": "/workflow/r/orders", "cache": False,
                                 "conditions": [{"field": "paid", "operator": "==", "value": True}],
                                 "outputPath": "/workflow/paid"}}),
        ("per-category", {"TransformData": {
            "inputPath": "/workflow/paid", "transform": "aggregate", "cache": False,
            "config": {"groupBy": "category", "aggregations": [{"field": "amount", "op": "sum", "as": "total"}]},
            "outputPath": "/workflow/totals"}}),
        ("grand-total", {"Calculate": {"inputPath": "/workflow/totals", "operation": "sum", "field": "total",
                                       "outputPath": "/workflow/total"}}),
    ]
    lines = [{"type": "operationUpdate", "operationId": op_id, "operation": spec} for op_id, spec in ops]
    lines.append({"type": "beginExecution", "operationOrder": [op_id for op_id, _ in ops]})
    return "\n".join(json.dumps(line) for line in lines)


@contextmanager
def patched(wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    """The measured functions replaced by ``wrap(original)`` for the duration."""
    originals = [(owner, name, getattr(owner, name)) for owner, name in MEASURED]
    for owner, name, original in originals:
        setattr(owner, name, wrap(original))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def disabled(original: Callable[..., Any]) -> Callable[..., Any]:
    if original.__name__ == "scrub":
        return lambda self, value: value
    return lambda self, *args: None


def cpu_per_call(call: Callable[[], None], executions: int) -> float:
    """CPU seconds of the process per call, over ``executions`` calls."""
    start = time.process_time()
    for _ in range(executions):
        call()
    return (time.process_time() - start) / executions


def timed_share(call: Callable[[], None], executions: int) -> float:
    """Percent of ``executions`` calls' CPU time spent inside the measured functions."""
    spent = [0.0]

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            start = time.thread_time()
            try:
                return original(*args)
            finally:
                spent[0] += time.thread_time() - start
        return timed

    with patched(wrap):
        total = cpu_per_call(call, executions) * executions
    return 100 * spent[0] / total


def run(quick: bool) -> list[Figure]:
    rounds, executions = (3, 30) if quick else (5, 100)
    with scratch_database("sqlite", "a2e_bench_sandbox") as url, orders_server() as orders_url, \
            tempfile.TemporaryDirectory(prefix="a2e-bench-logs-") as log_dir:
        db = Database.from_url(url)
        with db.session(write=True) as session:
            key = agent_queries.create_agent(session, AGENT, allowed_hosts=["127.0.0.1"])
            write_credential(session, SecretBox("benchmark-secret"), key.agent_id, "token", SECRET)
        db.dispose()
        app = bench_app(url, log_dir)
        client = app.test_client()
        body = {"workflow": workflow(orders_url)}
        headers = {"Authorization": f"Bearer {key.api_key}"}

        def call(scrubbed: bool = True) -> None:
            response = client.post("/api/v1/workflows/execute", json=body, headers=headers)
            answer = response.get_json()
            if response.status_code != 200 or answer["status"] != "succeeded":
                raise RuntimeError(f"execute answered {response.status_code}: {answer}")
            if scrubbed and "bench-0123456789abcdef" in response.get_data(as_text=True):
                raise RuntimeError("the secret came back")

        call()  # warm up
        shares, built, bare = [], [], []
        for n in range(rounds):
            shares.append(timed_share(call, executions))
            built.append(cpu_per_call(call, executions) * 1000)
            with patched(disabled):
                bare.append(cpu_per_call(lambda: call(scrubbed=False), executions) * 1000)
            log(f"sandbox_cost round {n + 1}: share {shares[-1]:.2f} %, CPU/execute "
                f"{built[-1]:.2f} ms, without checks {bare[-1]:.2f} ms")
        app.extensions["a2e"].db.dispose()
    spread = f"min {min(shares):.2f} / median {median(shares):.2f} / max {max(shares):.2f} %"
    ratios = [b / w for b, w in zip(built, bare, strict=True)]
    return [
        Figure("size checks + scrub, share of an execute's CPU (ApiCall with credential + 3 ops, SQLite)",
               median(shares), "%", at_most(5.0),
               note=f"{spread} over {rounds} rounds of {executions} executions"),
        Figure("CPU per execute with size checks + scrub, vs the same app without them",
               median(built), "ms", at_most(1.05, relative=True), median(bare),
               note=f"ratio min {min(ratios):.3f} / median {median(ratios):.3f} / max {max(ratios):.3f}; "
                    f"{rounds} alternating rounds of {executions} executions"),
    ]
