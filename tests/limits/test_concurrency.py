"""Exactness across real processes: ``a2e serve --workers 4`` and 8 client processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sqlalchemy import func, select

from a2e.store.models import Run, RunSlotLease, UsageWindow
from a2e.store.session import Database
from tests.api.workflow_helpers import jsonl, op
from tests.serving import ServerProcess

CLIENTS, REQUESTS, LIMIT = 8, 40, 100
CLIENT = textwrap.dedent("""
    import http.client, json, sys, time
    port, key, count, start_at = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    method, path, body = sys.argv[5], sys.argv[6], sys.argv[7] or None
    time.sleep(max(0.0, start_at - time.time()))
    statuses = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    for _ in range(count):
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
    print(json.dumps(statuses))
""")


@pytest.fixture(params=[False, True], ids=["sync-commit", "async-commit"])
def server(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[int]:
    if request.param and not database_url.startswith("postgresql"):
        pytest.skip("rateLimiting.async_commit applies to PostgreSQL")
    config = tmp_path / "a2e.json"
    config.write_text(json.dumps({"rateLimiting": {
        "requests_per_minute": 10_000, "requests_per_hour": LIMIT, "requests_per_day": 10_000,
        "async_commit": request.param, "concurrent_runs": CLIENTS,
    }}))
    with ServerProcess(database_url, tmp_path, workers=4, env={"A2E_CONFIG": str(config)}) as srv:
        yield srv.port


def burst(port: int, key: str, count: int, method: str, path: str, body: str) -> Counter[int]:
    """``CLIENTS`` client processes each sending ``count`` requests from the same moment:
    the statuses of all their answers."""
    start_at = time.time() + 1.0
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, str(port), key, str(count), str(start_at),
             method, path, body],
            stdout=subprocess.PIPE,
        )
        for _ in range(CLIENTS)
    ]
    statuses: Counter[int] = Counter()
    for client in clients:
        out, _ = client.communicate(timeout=300)
        assert client.returncode == 0
        statuses.update(json.loads(out))
    return statuses


def wait_clear_of_the_hour_boundary() -> None:
    """The burst must fall in one hourly window (a test may wait; a request never does)."""
    now = datetime.now(timezone.utc)
    left = 3600 - (now.minute * 60 + now.second)
    if left < 30:
        time.sleep(left + 1)


EXECUTE = json.dumps({"workflow": jsonl(op("x", "Calculate", expression="1",
                                          outputPath="/workflow/x"))})
REQUESTS_SENT = {
    "capabilities": ("GET", "/api/v1/capabilities", ""),
    # counted in the transaction that starts the run
    "execute": ("POST", "/api/v1/workflows/execute", EXECUTE),
}


@pytest.mark.system
@pytest.mark.parametrize("sent", list(REQUESTS_SENT))
def test_exactly_the_limit_is_admitted_across_workers_and_clients(
    server: int, make_agent: Callable, db: Database, sent: str
) -> None:
    key = make_agent("burst").api_key
    # The status endpoint is not counted; asking it first refreshes the key's last_used_at,
    # so that the burst measures the limiter, not that once-a-while write of authentication.
    status = urllib.request.Request(
        f"http://127.0.0.1:{server}/api/v1/rate-limit/status", headers={"X-API-Key": key}
    )
    with urllib.request.urlopen(status, timeout=10) as response:
        assert json.load(response)["remaining"]["requests_per_hour"] == LIMIT
    wait_clear_of_the_hour_boundary()
    statuses = burst(server, key, REQUESTS, *REQUESTS_SENT[sent])
    assert statuses == {200: LIMIT, 429: CLIENTS * REQUESTS - LIMIT}
    with db.session() as session:
        hour = session.query(UsageWindow).filter_by(kind="requests", period="hour").one()
    assert hour.admitted == LIMIT
    if sent == "execute":
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(Run)) == LIMIT


SLOTS = 2
HELD = json.dumps({"workflow": jsonl(op("pause", "Wait", duration=20))})


@pytest.fixture
def slot_server(database_url: str, tmp_path: Path) -> Iterator[int]:
    config = tmp_path / "a2e.json"
    config.write_text(json.dumps({"rateLimiting": {
        "requests_per_minute": 100_000, "requests_per_hour": 100_000,
        "requests_per_day": 100_000, "concurrent_runs": SLOTS,
    }}))
    with ServerProcess(database_url, tmp_path, workers=4, env={"A2E_CONFIG": str(config)}) as srv:
        yield srv.port


@pytest.mark.system
def test_at_the_concurrent_runs_limit_every_execute_is_a_run_or_a_429(
    slot_server: int, make_agent: Callable, db: Database
) -> None:
    """Starts refused for want of a slot are started over (PostgreSQL: outside the
    pipelined COMMIT); under contention none may fail another way (a deadlock, a
    connection left unusable) and no slot may be left held."""
    key = make_agent("slots").api_key
    statuses = burst(slot_server, key, 25, "POST", "/api/v1/workflows/execute", HELD)
    assert set(statuses) == {200, 429}, statuses
    with db.session() as session:
        runs = Counter(session.scalars(select(Run.status)).all())
        leases = session.scalar(select(func.count()).select_from(RunSlotLease))
    assert runs == {"succeeded": statuses[200]} and leases == 0
