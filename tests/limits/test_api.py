"""Request limits over HTTP: 429s, headers, status, overrides, restarts (moved clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient

from a2e.engine.clock import FakeClock
from a2e.store.models import AuditEvent, UsageWindow
from a2e.store.session import Database
from tests.helpers import auth

START = datetime(2030, 5, 6, 7, 8, 10, tzinfo=timezone.utc)
CAPS = "/api/v1/capabilities"
STATUS = "/api/v1/rate-limit/status"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def limited_client(make_app: Callable[..., Flask], **rate_limiting: object) -> FlaskClient:
    return make_app(rateLimiting=rate_limiting).test_client()


def test_third_request_of_two_per_minute_is_429_until_the_window_rolls(
    make_app: Callable[..., Flask], make_agent: Callable, clock: FakeClock
) -> None:
    client = limited_client(make_app, requests_per_minute=2)
    key = make_agent("a")
    first, second = (client.get(CAPS, headers=auth(key)) for _ in range(2))
    assert [first.status_code, second.status_code] == [200, 200]
    assert [first.headers["X-RateLimit-Remaining"], second.headers["X-RateLimit-Remaining"]] == ["1", "0"]
    third = client.get(CAPS, headers=auth(key))
    assert third.status_code == 429
    assert third.headers["Retry-After"] == "50"  # 07:08:10 → 07:09:00
    assert third.json == {
        "error": {
            "type": "RateLimitError",
            "message": "Request limit reached: 2 per minute; retry in 50 s",
            "details": {"limit": 2, "window": "minute", "counter": "requests"},
        },
        "retry_after": 50,
    }
    assert third.headers["X-RateLimit-Remaining"] == "0"
    assert third.headers["X-RateLimit-Limit"] == "2"
    clock.advance(49)
    assert client.get(CAPS, headers=auth(key)).status_code == 429
    clock.advance(1)
    again = client.get(CAPS, headers=auth(key))
    assert again.status_code == 200
    assert again.headers["X-RateLimit-Remaining"] == "1"


def test_headers_on_every_authenticated_response(
    make_app: Callable[..., Flask], make_agent: Callable
) -> None:
    client = limited_client(make_app, requests_per_minute=5, requests_per_hour=100)
    key = make_agent("a")
    response = client.get(CAPS, headers=auth(key))
    assert response.headers["X-RateLimit-Limit"] == "5"
    assert response.headers["X-RateLimit-Remaining"] == "4"
    assert response.headers["X-RateLimit-Reset"] == "50"
    assert response.headers["RateLimit-Policy"] == (
        '"requests_per_minute";q=5;w=60, "requests_per_hour";q=100;w=3600, '
        '"requests_per_day";q=10000;w=86400'
    )
    assert response.headers["RateLimit"] == '"requests_per_minute";r=4;t=50'
    missing = client.get("/api/v1/nothing-here", headers=auth(key))
    assert missing.status_code == 404
    assert missing.headers["X-RateLimit-Remaining"] == "3"
    assert "X-RateLimit-Limit" not in client.get("/health").headers
    assert "X-RateLimit-Limit" not in client.get(CAPS).headers  # 401: not authenticated


def test_override_of_100_admits_50_in_a_row(
    make_app: Callable[..., Flask], make_agent: Callable
) -> None:
    client = limited_client(make_app, requests_per_minute=2)
    admin, key = make_agent("root", admin=True), make_agent("busy")
    client.put("/api/v1/admin/agents/busy/limits", json={"requests_per_minute": 100},
               headers=auth(admin))
    statuses = [client.get(CAPS, headers=auth(key)).status_code for _ in range(50)]
    assert statuses == [200] * 50


def test_status_is_not_counted_and_reports_usage(
    make_app: Callable[..., Flask], make_agent: Callable
) -> None:
    client = limited_client(make_app, requests_per_minute=10)
    key = make_agent("a")
    for _ in range(5):
        assert client.get(CAPS, headers=auth(key)).status_code == 200
    for _ in range(3):
        status = client.get(STATUS, headers=auth(key))
    assert status.status_code == 200
    body = status.json
    assert body["limits"]["requests_per_minute"] == 10
    assert body["usage"]["requests_per_minute"] == 5
    assert body["remaining"]["requests_per_minute"] == 5
    assert body["reset"]["requests_per_minute"] == 50
    assert body["usage"]["api_calls_per_minute"] == 0
    assert body["remaining"]["concurrent_runs"] == 4
    assert status.headers["X-RateLimit-Remaining"] == "5"


@pytest.mark.parametrize(("period", "seconds"), [("hour", 3600), ("day", 86400)])
def test_hour_and_day_limits_hold_across_minutes(
    make_app: Callable[..., Flask], make_agent: Callable, clock: FakeClock,
    period: str, seconds: int,
) -> None:
    client = limited_client(make_app, **{f"requests_per_{period}": 3})
    key = make_agent("a")
    for _ in range(3):
        assert client.get(CAPS, headers=auth(key)).status_code == 200
        clock.advance(61)  # a new minute each time
    refused = client.get(CAPS, headers=auth(key))
    assert refused.status_code == 429
    assert refused.json["error"]["details"]["window"] == period
    elapsed = (clock.now() - START).total_seconds()
    clock.advance(refused.json["retry_after"])
    assert client.get(CAPS, headers=auth(key)).status_code == 200
    assert (clock.now() - START).total_seconds() - elapsed <= seconds


def test_usage_and_overrides_survive_a_restart(
    make_app: Callable[..., Flask], make_agent: Callable
) -> None:
    admin, key = make_agent("root", admin=True), make_agent("a")
    first = limited_client(make_app, requests_per_minute=100)
    first.patch("/api/v1/admin/agents/a/limits", json={"requests_per_minute": 3},
                headers=auth(admin))
    assert [first.get(CAPS, headers=auth(key)).status_code for _ in range(2)] == [200, 200]
    second = limited_client(make_app, requests_per_minute=100)  # a new process, same database
    status = second.get(STATUS, headers=auth(key)).json
    assert status["limits"]["requests_per_minute"] == 3
    assert status["usage"]["requests_per_minute"] == 2
    assert second.get(CAPS, headers=auth(key)).status_code == 200
    assert second.get(CAPS, headers=auth(key)).status_code == 429


def test_a_limit_change_applies_to_the_next_request_in_another_process(
    make_app: Callable[..., Flask], make_agent: Callable
) -> None:
    admin, key = make_agent("root", admin=True), make_agent("a")
    worker, other = (limited_client(make_app, requests_per_minute=1) for _ in range(2))
    assert worker.get(CAPS, headers=auth(key)).status_code == 200
    assert worker.get(CAPS, headers=auth(key)).status_code == 429  # remembered as full now
    other.patch("/api/v1/admin/agents/a/limits", json={"requests_per_minute": 2},
                headers=auth(admin))
    assert worker.get(CAPS, headers=auth(key)).status_code == 200


def test_zero_blocks_and_disabled_limits_nothing(
    make_app: Callable[..., Flask], make_agent: Callable
) -> None:
    key = make_agent("a")
    blocked = limited_client(make_app, agents={"a": {"requests_per_day": 0}})
    refused = blocked.get(CAPS, headers=auth(key))
    assert refused.status_code == 429
    assert refused.json["error"]["details"] == {"limit": 0, "window": "day", "counter": "requests"}
    off = limited_client(make_app, enabled=False, requests_per_minute=1)
    responses = [off.get(CAPS, headers=auth(key)) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[0].headers
    assert off.get(STATUS, headers=auth(key)).json["enabled"] is False


def test_refusals_are_counted_in_batches_without_a_write_each(
    make_app: Callable[..., Flask], make_agent: Callable, db: Database, clock: FakeClock
) -> None:
    app = make_app(rateLimiting={"requests_per_minute": 1})
    client, key = app.test_client(), make_agent("a")
    for _ in range(5):
        client.get(CAPS, headers=auth(key))

    def minute_row() -> tuple[int, int]:
        with db.session() as session:
            row = session.query(UsageWindow).filter_by(period="minute").one()
            return row.admitted, row.rejected

    assert minute_row() == (1, 1)  # the first refusal is written; the next 3 are batched
    app.extensions["a2e"].services.rate_limits.flush()
    assert minute_row() == (1, 4)


def test_admin_put_replaces_and_patch_changes_the_fields_given(
    make_app: Callable[..., Flask], make_agent: Callable
) -> None:
    client = limited_client(make_app, agents={"a": {"requests_per_hour": 500}})
    admin, key = make_agent("root", admin=True), make_agent("a")
    url = "/api/v1/admin/agents/a/limits"
    assert client.get(url, headers=auth(key)).status_code == 403
    put = client.put(url, json={"requests_per_minute": 5, "concurrent_runs": 2}, headers=auth(admin))
    assert put.status_code == 200
    assert put.json["overrides"]["requests_per_minute"] == 5
    assert put.json["effective"]["requests_per_hour"] == 500  # config for this agent
    patched = client.patch(url, json={"api_calls_per_hour": 9}, headers=auth(admin)).json
    assert (patched["overrides"]["requests_per_minute"], patched["overrides"]["api_calls_per_hour"]) == (5, 9)
    replaced = client.put(url, json={"requests_per_day": 0}, headers=auth(admin)).json
    assert replaced["overrides"]["requests_per_minute"] is None
    assert replaced["effective"]["requests_per_minute"] == 60
    assert client.get(f"/api/v1/admin/agents/{key.agent_id}/limits", headers=auth(admin)).json == replaced
    assert client.patch(url, json={"requests_per_day": -1}, headers=auth(admin)).status_code == 400
    assert client.patch(url, json={"per_day": 1}, headers=auth(admin)).status_code == 400
    assert client.get("/api/v1/admin/agents/nobody/limits", headers=auth(admin)).status_code == 404
    assert client.get(url, headers=auth(key)).status_code == 429  # requests_per_day 0 blocks


def test_audit_records_the_first_refusal_per_window_and_each_change(
    make_app: Callable[..., Flask], make_agent: Callable, db: Database, clock: FakeClock
) -> None:
    client = limited_client(make_app, requests_per_minute=1)
    admin, key = make_agent("root", admin=True), make_agent("a")
    for _ in range(4):
        client.get(CAPS, headers=auth(key))
    clock.advance(60)
    for _ in range(3):
        client.get(CAPS, headers=auth(key))
    client.patch("/api/v1/admin/agents/a/limits", json={"requests_per_minute": 9}, headers=auth(admin))
    with db.session() as session:
        events = session.query(AuditEvent).filter(
            AuditEvent.action.in_(["rate_limit.rejected", "limits.changed"])
        ).order_by(AuditEvent.id).all()
    assert [(e.action, e.outcome, e.agent_id) for e in events] == [
        ("rate_limit.rejected", "denied", key.agent_id),
        ("rate_limit.rejected", "denied", key.agent_id),
        ("limits.changed", "success", key.agent_id),
    ]
    assert events[0].details["limit"] == 1 and events[0].details["window"] == "minute"
    assert events[2].details == {"changed": {"requests_per_minute": 9}}
