"""An execute's request is counted in its run's start transaction: once, whatever path
the request takes, and a request over the limit is a 429 that starts no run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from a2e.engine.clock import FakeClock
from a2e.store.models import Run, UsageWindow
from a2e.store.session import Database
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

START = datetime(2030, 5, 6, 7, 8, 10, tzinfo=timezone.utc)
EXECUTE = "/api/v1/workflows/execute"
VALID = jsonl(op("x", "Calculate", expression="1 + 1", outputPath="/workflow/x"))
INVALID = jsonl(op("x", "NoSuchOperation", outputPath="/workflow/x"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def limited(make_app: Callable[..., Flask], per_minute: int) -> FlaskClient:
    return make_app(rateLimiting={"requests_per_minute": per_minute}).test_client()


def admitted(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(
            select(func.coalesce(func.sum(UsageWindow.admitted), 0)).where(
                UsageWindow.kind == "requests", UsageWindow.period == "minute")))


def runs(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Run)))


@pytest.mark.parametrize("send", [
    pytest.param(lambda c, k: c.post(EXECUTE, headers=auth(k), json={"workflow": VALID}),
                 id="run"),
    pytest.param(lambda c, k: c.post(EXECUTE, headers=auth(k), json={"workflow": INVALID}),
                 id="refused-workflow"),
    pytest.param(lambda c, k: c.post(EXECUTE, headers=auth(k), json={"workflow": VALID,
                                                                     "async": True}),
                 id="queued"),
    pytest.param(lambda c, k: c.post(EXECUTE, headers=auth(k), data="{not json",
                                     content_type="application/json"), id="bad-body"),
    pytest.param(lambda c, k: c.post("/api/v1/saved-workflows/none/execute", headers=auth(k),
                                     json={}), id="unknown-saved-workflow"),
])
def test_each_execute_request_is_counted_once(make_app, make_agent, db, send) -> None:
    client = limited(make_app, 10)
    key = make_agent("a")
    for expected in (1, 2):
        response = send(client, key)
        assert response.status_code < 500, response.json
        assert admitted(db) == expected
        assert response.headers["X-RateLimit-Remaining"] == str(10 - expected)


def test_a_duplicate_execution_id_is_counted_once(make_app, make_agent, db) -> None:
    client = limited(make_app, 10)
    key = make_agent("a")
    workflow = jsonl(op("x", "Calculate", expression="1", outputPath="/workflow/x"),
                     execution_id="exec-same")
    assert client.post(EXECUTE, headers=auth(key), json={"workflow": workflow}).status_code == 200
    again = client.post(EXECUTE, headers=auth(key), json={"workflow": workflow})
    assert again.status_code == 409
    assert admitted(db) == 2 and runs(db) == 1


@pytest.mark.parametrize("body", [{"workflow": VALID}, {"workflow": INVALID}, {"workflow": VALID, "async": True}],
                         ids=["run", "refused-workflow", "queued"])
def test_over_the_limit_an_execute_is_the_429_of_any_request_and_starts_nothing(
    make_app, make_agent, db, body
) -> None:
    client = limited(make_app, 2)
    key = make_agent("a")
    for _ in range(2):
        assert client.get("/api/v1/capabilities", headers=auth(key)).status_code == 200
    for _ in range(2):  # the first refusal finds the window full, the second remembers it
        refused = client.post(EXECUTE, headers=auth(key), json=body)
        assert refused.status_code == 429
        assert refused.json == {
            "error": {"type": "RateLimitError",
                      "message": "Request limit reached: 2 per minute; retry in 50 s",
                      "details": {"limit": 2, "window": "minute", "counter": "requests"}},
            "retry_after": 50,
        }
        assert refused.headers["Retry-After"] == "50"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert runs(db) == 0 and admitted(db) == 2


def test_the_last_request_of_a_window_runs(make_app, make_agent, db) -> None:
    client = limited(make_app, 2)
    key = make_agent("a")
    assert client.get("/api/v1/capabilities", headers=auth(key)).status_code == 200
    last = client.post(EXECUTE, headers=auth(key), json={"workflow": VALID})
    assert last.status_code == 200 and last.json["status"] == "succeeded"
    assert last.headers["X-RateLimit-Remaining"] == "0"
    assert client.post(EXECUTE, headers=auth(key), json={"workflow": VALID}).status_code == 429
    assert runs(db) == 1 and admitted(db) == 2


def test_over_the_limit_a_body_that_does_not_parse_is_a_429(make_app, make_agent, db) -> None:
    client = limited(make_app, 1)
    key = make_agent("a")
    assert client.get("/api/v1/capabilities", headers=auth(key)).status_code == 200
    refused = client.post(EXECUTE, headers=auth(key), data="{not json",
                          content_type="application/json")
    assert refused.status_code == 429 and refused.json["error"]["type"] == "RateLimitError"
    assert refused.headers["Retry-After"] == "50"
    assert admitted(db) == 1
