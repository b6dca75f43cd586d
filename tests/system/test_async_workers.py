"""Asynchronous runs with real ``a2e serve`` and ``a2e worker`` processes on one database
(PostgreSQL when configured, else SQLite: the single-host case)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from werkzeug import Request, Response

from a2e.store.models import Run
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth
from tests.serving import A2E, ServerProcess


def eventually(predicate, timeout: float = 120.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


class WorkerProcess:
    """``a2e worker --concurrency N`` as a child process."""

    def __init__(self, env: dict[str, str], workdir: Path, concurrency: int = 4) -> None:
        self.env, self.workdir, self.concurrency = env, workdir, concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.output = open(self.workdir / f"worker-{time.monotonic_ns()}.out", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [A2E, "worker", "--concurrency", str(self.concurrency)], env=self.env,
            stdout=self.output, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int | None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self.process is not None:
            self.output.close()
            return self.process.returncode
        return None


@pytest.fixture
def cluster(database_url, tmp_path):
    """``cluster(workers_per_server=0)``: one ``a2e serve`` and a factory of workers."""
    started: list = []
    config = tmp_path / "a2e.json"

    def make(workers_per_server: int = 0, lease_s: float = 3):
        config.write_text(json.dumps({
            "rateLimiting": {"enabled": False},
            "queue": {"workers_per_server": workers_per_server, "lease_s": lease_s,
                      "poll_s": 0.2},
        }))
        server = ServerProcess(database_url, tmp_path / "serve", workers=1,
                               env={"A2E_CONFIG": str(config)}).start()
        started.append(server)

        def worker(concurrency: int = 4) -> WorkerProcess:
            process = WorkerProcess(server.env, tmp_path / "workers", concurrency).start()
            started.append(process)
            return process

        return server, worker

    yield make
    for process in reversed(started):
        process.stop(signal.SIGKILL) if isinstance(process, WorkerProcess) else process.stop()


def submit(server, key, workflow: str, **extra) -> str:
    response = requests.post(f"{server.url}/api/v1/workflows/execute", headers=auth(key),
                             json={"workflow": workflow, "async": True, **extra}, timeout=30)
    assert response.status_code == 202, response.text
    assert response.headers["Location"].endswith(response.json()["execution_id"])
    return response.json()["execution_id"]


def get(server, key, execution_id: str, wait: float = 0) -> dict:
    response = requests.get(f"{server.url}/api/v1/executions/{execution_id}",
                            params={"wait": wait}, headers=auth(key), timeout=wait + 30)
    assert response.status_code == 200, response.text
    return response.json()


def test_200_runs_across_3_workers_all_succeed(cluster, make_agent, db):
    server, worker = cluster()
    key = make_agent()
    workers = [worker(4) for _ in range(3)]
    workflow = jsonl(op("now", "GetCurrentDateTime", outputPath="/workflow/now"),
                     op("pause", "Wait", duration=20),
                     op("sum", "Calculate", expression="20 + 22", outputPath="/workflow/sum"))
    ids = [submit(server, key, workflow) for _ in range(200)]

    def all_final() -> bool:
        with db.session() as session:
            statuses = session.scalars(select(Run.status).where(Run.execution_id.in_(ids))).all()
        return len(statuses) == 200 and all(s not in ("queued", "running") for s in statuses)

    eventually(all_final, timeout=600, interval=0.5)
    with db.session() as session:
        runs = session.scalars(select(Run).where(Run.execution_id.in_(ids))).all()
    assert Counter(run.status for run in runs) == {"succeeded": 200}
    owners = Counter(run.lease_owner.rsplit(":", 2)[1] for run in runs)
    assert set(owners) <= {str(w.pid) for w in workers}
    assert len(owners) >= 2  # the queue was shared, not drained by one worker
    assert get(server, key, ids[0])["results"]["sum"] == 42


def counting_server(httpserver):
    hits: Counter[str] = Counter()
    lock = threading.Lock()

    def handler(request: Request) -> Response:
        with lock:
            hits[request.path] += 1
        return Response(json.dumps({"path": request.path}), content_type="application/json")

    httpserver.expect_request(re.compile(r"^/(a|b|c)/.*")).respond_with_handler(handler)
    return hits


def test_kill_9_of_a_worker_mid_run_its_runs_finish_elsewhere_no_step_twice(
    cluster, make_agent, db, httpserver
):
    server, worker = cluster(lease_s=3)
    key = make_agent()
    hits = counting_server(httpserver)
    first = worker(8)
    ids = []
    for index in range(8):
        workflow = jsonl(
            op("before", "ApiCall", method="GET", url=httpserver.url_for(f"/a/{index}"),
               outputPath="/workflow/before"),
            op("stamp", "GetCurrentDateTime", outputPath="/workflow/stamp"),
            op("post", "ApiCall", method="POST", url=httpserver.url_for(f"/c/{index}"),
               body={"n": index}, outputPath="/workflow/post"),
            op("pause", "Wait", duration=4000),
            op("after", "ApiCall", method="GET", url=httpserver.url_for(f"/b/{index}"),
               outputPath="/workflow/after"),
        )
        ids.append(submit(server, key, workflow))

    def all_waiting() -> bool:
        with db.session() as session:
            runs = session.scalars(select(Run).where(Run.execution_id.in_(ids))).all()
        return len(runs) == 8 and all(
            run.in_flight and run.in_flight["type"] == "Wait" for run in runs)

    eventually(all_waiting)
    stamps_before = {i: get(server, key, i)["results"]["stamp"] for i in ids}
    first.stop(signal.SIGKILL)
    worker(8)
    for execution_id in ids:
        eventually(lambda: get(server, key, execution_id)["status"] not in ("queued", "running"))
    runs = [get(server, key, execution_id) for execution_id in ids]
    assert [run["status"] for run in runs] == ["succeeded"] * 8, [r["error"] for r in runs]
    assert all(run["claims"] == 2 for run in runs)  # each was resumed once
    for index in range(8):  # no completed step ran twice
        assert hits[f"/a/{index}"] == 1
        assert hits[f"/c/{index}"] == 1
        assert hits[f"/b/{index}"] == 1
    for run in runs:  # the non-deterministic step kept its recorded value
        assert run["results"]["stamp"] == stamps_before[run["execution_id"]]
        assert [s["operationId"] for s in run["steps"]] == ["before", "stamp", "post", "pause", "after"]


def test_a_non_idempotent_api_call_in_flight_ends_the_run_interrupted(
    cluster, make_agent, db, held_upstream
):
    server, worker = cluster(lease_s=3)
    key = make_agent()
    slow = held_upstream("/slow", method="POST")
    first = worker(1)
    execution_id = submit(server, key, jsonl(
        op("send", "ApiCall", method="POST", url=slow.url, body={},
           timeout=20_000, outputPath="/workflow/send")))
    eventually(slow.arrived.is_set)
    first.stop(signal.SIGKILL)
    slow.release()  # the killed worker's connection is answered and closed
    worker(1)
    run = get(server, key, execution_id, wait=60)
    eventually(lambda: get(server, key, execution_id)["status"] == "interrupted")
    run = get(server, key, execution_id)
    assert "idempotencyKey" in run["error"]["message"]


def test_cancel_queued_waiting_and_finished_runs(cluster, make_agent):
    server, worker = cluster()
    key = make_agent()
    queued = submit(server, key, jsonl(op("x", "Calculate", expression="1", outputPath="/workflow/x")))
    response = requests.post(f"{server.url}/api/v1/executions/{queued}/cancel",
                             headers=auth(key), timeout=10)
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    worker(2)
    waiting = submit(server, key, jsonl(op("nap", "Wait", duration=30_000)))
    eventually(lambda: get(server, key, waiting)["status"] == "running")
    time.sleep(0.3)  # inside the Wait
    assert requests.post(f"{server.url}/api/v1/executions/{waiting}/cancel", headers=auth(key),
                         timeout=10).status_code == 202
    run = get(server, key, waiting, wait=60)
    assert run["status"] == "cancelled"
    nap = run["steps"][0]  # it stopped inside the Wait, not after it
    assert nap["status"] == "failed" and nap["error"]["details"]["reason"] == "cancelled"
    finished = submit(server, key, jsonl(op("y", "Calculate", expression="2", outputPath="/workflow/y")))
    assert get(server, key, finished, wait=60)["status"] == "succeeded"
    assert requests.post(f"{server.url}/api/v1/executions/{finished}/cancel", headers=auth(key),
                         timeout=10).status_code == 409
    assert get(server, key, queued)["status"] == "cancelled"


def test_webhook_fails_first_then_succeeds_signature_verified(cluster, make_agent, httpserver):
    server, _ = cluster(workers_per_server=2)
    key = make_agent()
    admin = make_agent("root", admin=True)
    secret = requests.post(f"{server.url}/api/v1/admin/agents/agent-a/webhook-secret",
                           headers=auth(admin), timeout=10).json()["webhook_secret"]
    received: list[tuple[str, bytes]] = []

    def receiver(request: Request) -> Response:
        received.append((request.headers["A2E-Signature"], request.get_data()))
        return Response("no", status=500) if len(received) == 1 else Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    execution_id = submit(server, key, jsonl(op("v", "Calculate", expression="6 * 7",
                                                 outputPath="/workflow/v")),
                          callbackUrl=httpserver.url_for("/hook"))
    eventually(lambda: (get(server, key, execution_id)["callback"] or {}).get("status") == "delivered")
    assert len(received) == 2
    for header, body in received:
        fields = dict(item.split("=", 1) for item in header.split(","))
        mac = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
        assert hmac.compare_digest(mac.hexdigest(), fields["v1"])
        assert abs(int(fields["t"]) - time.time()) < 3600
    assert json.loads(received[-1][1])["results"] == {"v": 42}
    attempts = get(server, key, execution_id)["callback"]["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 200]


def test_long_poll_answers_when_the_run_ends(cluster, make_agent):
    server, _ = cluster(workers_per_server=2)
    key = make_agent()
    execution_id = submit(server, key, jsonl(op("nap", "Wait", duration=1500)))
    started = time.monotonic()
    run = get(server, key, execution_id, wait=60)
    elapsed = time.monotonic() - started
    assert run["status"] == "succeeded"
    assert elapsed >= 1.4  # it waited for the run (and answered without using up the 60 s)
    short = submit(server, key, jsonl(op("nap", "Wait", duration=10_000)))
    started = time.monotonic()
    assert get(server, key, short, wait=1)["status"] in ("queued", "running")
    assert time.monotonic() - started >= 1


def test_sigterm_hands_a_waiting_run_back_and_another_worker_resumes_it(
    cluster, make_agent, httpserver
):
    server, worker = cluster(lease_s=2)
    key = make_agent()
    hits = counting_server(httpserver)
    first = worker(1)
    execution_id = submit(server, key, jsonl(
        op("before", "ApiCall", method="GET", url=httpserver.url_for("/a/x"),
           outputPath="/workflow/a"),
        op("nap", "Wait", duration=6000)))
    eventually(lambda: get(server, key, execution_id)["steps"])
    assert first.stop(signal.SIGTERM) == 0  # it hands the run back within its grace period
    assert get(server, key, execution_id)["status"] == "queued"
    worker(1)
    get(server, key, execution_id, wait=60)
    eventually(lambda: get(server, key, execution_id)["status"] == "succeeded")
    assert hits["/a/x"] == 1
