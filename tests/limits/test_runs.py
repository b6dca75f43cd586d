"""ApiCall limits inside runs (loops included) and concurrent-run slots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from flask import Flask
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from a2e.engine.clock import FakeClock
from a2e.errors import RateLimited
from a2e.store.models import Run, RunSlotLease, UsageWindow
from a2e.store.session import Database
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

START = datetime(2030, 5, 6, 7, 8, 10, tzinfo=timezone.utc)
EXECUTE = "/api/v1/workflows/execute"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def loop_workflow(httpserver: HTTPServer, items: int) -> str:
    """One ApiCall for the list, then one ApiCall per item inside a Loop (uncached: a
    cached result executes no ApiCall, so it is not counted)."""
    httpserver.expect_request("/items").respond_with_json(list(range(items)))
    httpserver.expect_request("/ping").respond_with_json({"pong": True})
    return jsonl(
        op("list", "ApiCall", method="GET", url=httpserver.url_for("/items"),
           outputPath="/workflow/items", cache=False),
        op("each", "Loop", inputPath="/workflow/items", operations=["call"],
           outputPath="/workflow/out"),
        op("call", "ApiCall", method="GET", url=httpserver.url_for("/ping"),
           outputPath="/workflow/current", cache=False),
        order=["list", "each"],
    )


def pings(httpserver: HTTPServer) -> int:
    return len([r for r, _ in httpserver.log if r.path == "/ping"])


def test_api_call_limit_counts_every_call_in_a_loop(
    make_app: Callable[..., Flask], make_agent: Callable, httpserver: HTTPServer, db: Database
) -> None:
    client = make_app(rateLimiting={"api_calls_per_minute": 4}).test_client()
    key = make_agent("looper")
    response = client.post(EXECUTE, headers=auth(key),
                           json={"workflow": loop_workflow(httpserver, 5)})
    assert response.status_code == 200  # the run started; it failed at the fifth ApiCall
    body = response.json
    assert body["status"] == "failed"
    assert body["error"]["type"] == "RateLimitError"
    assert body["error"]["operationId"] == "call"
    assert body["error"]["details"]["limit"] == 4
    assert body["error"]["details"]["window"] == "minute"
    assert body["error"]["details"]["retry_after"] == 50
    assert pings(httpserver) == 3
    with db.session() as session:
        assert session.scalar(select(Run.status)) == "failed"
        minute = session.scalar(select(UsageWindow).filter_by(kind="api_calls", period="minute"))
        assert (minute.admitted, minute.rejected) == (4, 1)


def test_api_calls_per_hour_hold_across_minutes(
    make_app: Callable[..., Flask], make_agent: Callable, httpserver: HTTPServer,
    clock: FakeClock,
) -> None:
    client = make_app(rateLimiting={"api_calls_per_hour": 4}).test_client()
    key = make_agent("hourly")
    workflow = loop_workflow(httpserver, 1)  # two ApiCalls per run
    statuses = []
    for _ in range(3):
        statuses.append(client.post(EXECUTE, headers=auth(key), json={"workflow": workflow}).json["status"])
        clock.advance(120)
    assert statuses == ["succeeded", "succeeded", "failed"]
    clock.advance(3600)
    assert client.post(EXECUTE, headers=auth(key), json={"workflow": workflow}).json["status"] == "succeeded"


def test_a_run_over_the_concurrent_limit_is_429_before_it_starts(
    make_app: Callable[..., Flask], make_agent: Callable, httpserver: HTTPServer, db: Database
) -> None:
    app = make_app(rateLimiting={"concurrent_runs": 1})
    client, key = app.test_client(), make_agent("busy")
    slots = app.extensions["a2e"].services.run_slots
    lease = slots.acquire(key.agent_id)  # a run in flight in some worker
    refused = client.post(EXECUTE, headers=auth(key), json={"workflow": loop_workflow(httpserver, 1)})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json["retry_after"] >= 1
    assert refused.json["error"]["type"] == "RateLimitError"
    assert refused.json["error"]["details"]["window"] == "concurrent"
    assert pings(httpserver) == 0
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 0
        session.execute(RunSlotLease.__table__.delete().where(RunSlotLease.id == lease))
    done = client.post(EXECUTE, headers=auth(key), json={"workflow": loop_workflow(httpserver, 1)})
    assert done.json["status"] == "succeeded"
    assert slots.held(key.agent_id) == 0  # released at the end of the run


def test_an_execute_at_the_limit_sweeps_the_lease_of_a_dead_process(
    make_app: Callable[..., Flask], make_agent: Callable, httpserver: HTTPServer, db: Database
) -> None:
    app = make_app(rateLimiting={"concurrent_runs": 1})
    client, key = app.test_client(), make_agent("swept")
    slots = app.extensions["a2e"].services.run_slots
    lease = slots.acquire(key.agent_id)
    with db.session(write=True) as session:  # its process died mid-run
        session.get(RunSlotLease, lease).owner_pid = 2**22 + 1  # above Linux's pid_max
    done = client.post(EXECUTE, headers=auth(key), json={"workflow": loop_workflow(httpserver, 1)})
    assert done.status_code == 200 and done.json["status"] == "succeeded"
    assert slots.held(key.agent_id) == 0


def test_a_slot_is_released_when_the_block_fails(
    make_app: Callable[..., Flask], make_agent: Callable
) -> None:
    slots = make_app(rateLimiting={"concurrent_runs": 1}).extensions["a2e"].services.run_slots
    key = make_agent("a")
    with pytest.raises(ZeroDivisionError), slots.slot(key):
        assert slots.held(key.agent_id) == 1
        with pytest.raises(RateLimited), slots.slot(key):
            pass
        _ = 1 / 0
    assert slots.held(key.agent_id) == 0


def test_leases_of_dead_processes_and_expired_leases_stop_counting(
    make_app: Callable[..., Flask], make_agent: Callable, db: Database, clock: FakeClock
) -> None:
    slots = make_app(rateLimiting={"concurrent_runs": 2}).extensions["a2e"].services.run_slots
    key = make_agent("a")
    first = slots.acquire(key.agent_id)
    slots.acquire(key.agent_id)
    with pytest.raises(RateLimited):
        slots.acquire(key.agent_id)
    with db.session(write=True) as session:  # the first holder's process died
        session.get(RunSlotLease, first).owner_pid = 2**22 + 1  # above Linux's pid_max
    slots.acquire(key.agent_id)
    assert slots.held(key.agent_id) == 2
    clock.advance(slots.lease.total_seconds() + 1)  # both leases outlived any run
    assert slots.held(key.agent_id) == 0
    slots.acquire(key.agent_id)
    slots.acquire(key.agent_id)


def test_refused_starts_leave_the_thread_connection_usable(
    make_app: Callable[..., Flask], make_agent: Callable, httpserver: HTTPServer, db: Database
) -> None:
    """On PostgreSQL a refused start fails its pipelined COMMIT; statements the server
    skipped then must not count as prepared, or every later start on that connection
    fails (psycopg prepares a statement after 5 uses)."""
    app = make_app(rateLimiting={"concurrent_runs": 1})
    client, key = app.test_client(), make_agent("alternating")
    slots = app.extensions["a2e"].services.run_slots
    answers = []
    for _ in range(8):
        lease = slots.acquire(key.agent_id)
        answers.append(client.post(EXECUTE, headers=auth(key),
                                   json={"workflow": loop_workflow(httpserver, 1)}).status_code)
        with db.session(write=True) as session:
            session.execute(RunSlotLease.__table__.delete().where(RunSlotLease.id == lease))
        answers.append(client.post(EXECUTE, headers=auth(key),
                                   json={"workflow": loop_workflow(httpserver, 1)}).status_code)
    assert answers == [429, 200] * 8


def test_an_agent_that_is_gone_gets_no_slot(make_app: Callable[..., Flask], db: Database) -> None:
    """The agent's row is locked (PostgreSQL) or the write lock held (SQLite), and the
    lease goes in only while the agent exists."""
    slots = make_app(rateLimiting={"concurrent_runs": 1}).extensions["a2e"].services.run_slots
    with pytest.raises(RateLimited), db.driver_transaction(pipelined=False) as tx:
        slots.acquire_in(tx, 999_999, 1)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(RunSlotLease)) == 0
