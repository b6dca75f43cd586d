"""Time bounds: an ApiCall attempt ends at its timeout as wall time, a run at its deadline,
whatever a trickling server does (PROTOCOL §11 "Bounds")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth
from tests.sandbox.trickle import TrickleServer, slow_body, slow_headers, wait_for_hangups

EXECUTE = "/api/v1/workflows/execute"


@pytest.fixture
def headers_server() -> Iterator[TrickleServer]:
    server = slow_headers()
    yield server
    server.close()


@pytest.fixture
def body_server() -> Iterator[TrickleServer]:
    server = slow_body()
    yield server
    server.close()


def call(url: str, **config) -> str:
    return jsonl(op("call", "ApiCall", method="GET", url=url, outputPath="/workflow/x", **config))


def run(make_app, make_agent, workflow: str, **sections) -> dict:
    app = make_app(**sections)
    key = make_agent("trickled")
    response = app.test_client().post(EXECUTE, headers=auth(key), json={"workflow": workflow})
    assert response.status_code == 200, response.json
    return response.json


def assert_cut_short(server: TrickleServer) -> None:
    """Every connection was closed by the client before the server finished its answer."""
    wait_for_hangups(server)
    assert server.connections
    assert all(c.client_closed and not c.finished for c in server.connections), server.connections


@pytest.fixture
def clock():
    """These runs use the real clock: the deadlines are wall time."""
    from a2e.engine.clock import SystemClock

    return SystemClock()


def test_headers_trickled_a_byte_at_a_time_end_at_the_call_timeout(make_app, make_agent, headers_server):
    body = run(make_app, make_agent, call(f"{headers_server.url}/x", timeout=800),
               retry={"max_retries": 0})
    assert body["status"] == "failed"
    assert body["error"]["type"] == "TimeoutError"
    assert body["error"]["operationId"] == "call"
    assert "timed out" in body["error"]["message"]
    assert_cut_short(headers_server)


def test_a_trickled_body_ends_at_the_call_timeout(make_app, make_agent, body_server):
    body = run(make_app, make_agent, call(f"{body_server.url}/x", timeout=800),
               retry={"max_retries": 0})
    assert body["error"]["type"] == "TimeoutError" and body["error"]["operationId"] == "call"
    assert "call" not in body["results"]
    assert_cut_short(body_server)


def test_the_run_deadline_cuts_a_trickle_under_a_long_call_timeout(make_app, make_agent, headers_server):
    body = run(make_app, make_agent, call(f"{headers_server.url}/x", timeout=600_000),
               retry={"max_retries": 0}, execution={"run_deadline_s": 1})
    assert body["error"]["type"] == "TimeoutError" and body["error"]["operationId"] == "call"
    assert_cut_short(headers_server)


def test_retries_stop_at_the_run_deadline(make_app, make_agent, headers_server):
    """Each attempt is cut at its timeout; the retries that follow never outlast the run's
    deadline: the last attempt is cut at what remained of it."""
    body = run(make_app, make_agent, call(f"{headers_server.url}/x", timeout=700),
               retry={"max_retries": 50, "initial_delay": 0.05, "jitter": False, "max_delay": 0.05},
               execution={"run_deadline_s": 2})
    assert body["error"]["type"] == "TimeoutError"
    attempts = body["steps"][0]["attempts"]
    assert 1 < len(attempts) < 51
    assert all(attempt["error"] == "TimeoutError" for attempt in attempts)
    assert_cut_short(headers_server)


def test_a_timed_out_run_releases_its_run_slot(make_app, make_agent, headers_server):
    app = make_app(retry={"max_retries": 0}, rateLimiting={"concurrent_runs": 1})
    key = make_agent("one-slot")
    client = app.test_client()
    first = client.post(EXECUTE, headers=auth(key),
                        json={"workflow": call(f"{headers_server.url}/x", timeout=500)})
    assert first.json["error"]["type"] == "TimeoutError"
    second = client.post(EXECUTE, headers=auth(key), json={"workflow": jsonl(
        op("n", "Calculate", expression="1 + 1", outputPath="/workflow/n"))})
    assert second.status_code == 200 and second.json["status"] == "succeeded"


def test_name_resolution_is_bounded_by_the_attempt():
    import threading

    from a2e.engine.http import HttpClient
    from a2e.engine.outbound import OutboundGuard
    from a2e.errors import OperationTimeout

    release = threading.Event()
    asked: list[str] = []

    def hanging(host, port):
        asked.append(host)
        release.wait(60)
        return []

    client = HttpClient(guard=OutboundGuard(resolver=hanging))
    try:
        with pytest.raises(OperationTimeout, match="resolving"):
            client.send("GET", "http://never-answers.test/x", headers={}, body=None, timeout=0.3,
                        max_bytes=1024, allowed_hosts=("never-answers.test",))
    finally:
        release.set()
    assert asked == ["never-answers.test"]
