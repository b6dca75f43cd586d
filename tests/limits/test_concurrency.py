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

from a2e.store.models import UsageWindow
from a2e.store.session import Database
from tests.serving import ServerProcess

CLIENTS, REQUESTS, LIMIT = 8, 40, 100
CLIENT = textwrap.dedent("""
    import http.client, json, sys, time
    port, key, count, start_at = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    time.sleep(max(0.0, start_at - time.time()))
    statuses = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        conn.request("GET", "/api/v1/capabilities", headers={"X-API-Key": key})
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
        "async_commit": request.param,
    }}))
    with ServerProcess(database_url, tmp_path, workers=4, env={"A2E_CONFIG": str(config)}) as srv:
        yield srv.port


def wait_clear_of_the_hour_boundary() -> None:
    """The burst must fall in one hourly window (a test may wait; a request never does)."""
    now = datetime.now(timezone.utc)
    left = 3600 - (now.minute * 60 + now.second)
    if left < 30:
        time.sleep(left + 1)


@pytest.mark.system
def test_exactly_the_limit_is_admitted_across_workers_and_clients(
    server: int, make_agent: Callable, db: Database
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
    start_at = time.time() + 1.0
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, str(server), key, str(REQUESTS), str(start_at)],
            stdout=subprocess.PIPE,
        )
        for _ in range(CLIENTS)
    ]
    statuses: Counter[int] = Counter()
    for client in clients:
        out, _ = client.communicate(timeout=120)
        assert client.returncode == 0
        statuses.update(json.loads(out))
    assert statuses == {200: LIMIT, 429: CLIENTS * REQUESTS - LIMIT}
    with db.session() as session:
        hour = session.query(UsageWindow).filter_by(kind="requests", period="hour").one()
    assert hour.admitted == LIMIT
