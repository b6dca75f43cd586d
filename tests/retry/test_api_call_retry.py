"""ApiCall retries against a real local server, on a FakeClock (``clock.slept`` = the waits)."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from a2e.store.models import RunStep
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

NO_JITTER = {"jitter": False}


@pytest.fixture
def agent(make_agent):
    return make_agent("alice")


def call(url, method="GET", **config):
    return jsonl(op("call", "ApiCall", method=method, url=url, outputPath="/workflow/r",
                    cache=False, **config))


def fail_then(httpserver, path, statuses, method="GET", headers=None):
    for status in statuses:
        httpserver.expect_oneshot_request(path, method=method).respond_with_data(
            "busy", status=status, headers=headers or {})
    httpserver.expect_request(path, method=method).respond_with_json({"ok": True})


def test_two_503_then_200_succeeds_with_three_attempts(make_app, agent, execute, httpserver, clock, db):
    client = make_app(retry=NO_JITTER).test_client()
    fail_then(httpserver, "/flaky", [503, 503])
    body = execute(agent, call(httpserver.url_for("/flaky")), client)
    assert body["status"] == "succeeded" and body["results"]["call"] == {"ok": True}
    expected = [{"attempt": 1, "status": 503, "delay_s": 0.0},
                {"attempt": 2, "status": 503, "delay_s": 1.0},
                {"attempt": 3, "status": 200, "delay_s": 2.0}]
    assert body["steps"][0]["attempts"] == expected
    assert clock.slept == [1.0, 2.0]
    shown = client.get(f"/api/v1/executions/{body['execution_id']}", headers=auth(agent)).json
    assert shown["steps"][0]["attempts"] == expected
    with db.session() as session:
        assert session.scalars(select(RunStep.attempts)).one() == expected


def test_a_404_is_tried_once(agent, execute, httpserver, clock):
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    body = execute(agent, call(httpserver.url_for("/missing")))
    assert body["status"] == "failed" and body["error"]["details"] == {"statusCode": 404}
    assert body["steps"][0]["attempts"] == [{"attempt": 1, "status": 404, "delay_s": 0.0}]
    assert len(httpserver.log) == 1 and clock.slept == []


def test_retries_are_bounded_by_max_retries(make_app, agent, execute, httpserver):
    client = make_app(retry={"max_retries": 2}).test_client()
    httpserver.expect_request("/down").respond_with_data("", status=502)
    body = execute(agent, call(httpserver.url_for("/down")), client)
    assert body["error"]["details"] == {"statusCode": 502}
    assert [a["status"] for a in body["steps"][0]["attempts"]] == [502, 502, 502]


def test_a_post_without_idempotency_key_is_tried_once(agent, execute, httpserver):
    fail_then(httpserver, "/orders", [503], method="POST")
    body = execute(agent, call(httpserver.url_for("/orders"), "POST", body={"item": 1}))
    assert body["status"] == "failed"
    assert len(body["steps"][0]["attempts"]) == 1 and len(httpserver.log) == 1


def test_a_post_with_idempotency_key_is_retried_with_the_header(agent, execute, httpserver):
    fail_then(httpserver, "/orders", [503], method="POST")
    body = execute(agent, call(httpserver.url_for("/orders"), "POST", body={"item": 1},
                               idempotencyKey="order-17"))
    assert body["status"] == "succeeded"
    assert [request.headers["Idempotency-Key"] for request, _ in httpserver.log] == ["order-17"] * 2


def test_retry_unsafe_methods_retries_posts(make_app, agent, execute, httpserver):
    client = make_app(retry={"retry_unsafe_methods": True}).test_client()
    fail_then(httpserver, "/orders", [500], method="PATCH")
    body = execute(agent, call(httpserver.url_for("/orders"), "PATCH", body={"item": 1}), client)
    assert body["status"] == "succeeded" and len(httpserver.log) == 2


@pytest.mark.parametrize(("max_delay", "waited"), [(60.0, 2.0), (1.5, 1.5)])
def test_retry_after_is_honoured_up_to_max_delay(make_app, agent, execute, httpserver, clock,
                                                 max_delay, waited):
    client = make_app(retry={"max_delay": max_delay}).test_client()
    fail_then(httpserver, "/limited", [429], headers={"Retry-After": "2"})
    body = execute(agent, call(httpserver.url_for("/limited")), client)
    assert body["status"] == "succeeded"
    assert clock.slept == [waited]
    assert body["steps"][0]["attempts"][1]["delay_s"] == waited


def test_a_wait_past_the_run_deadline_is_not_made(make_app, agent, execute, httpserver, clock):
    client = make_app(execution={"run_deadline_s": 10}).test_client()
    fail_then(httpserver, "/later", [503], headers={"Retry-After": "30"})
    body = execute(agent, call(httpserver.url_for("/later")), client)
    assert body["status"] == "failed" and clock.slept == []
    assert len(body["steps"][0]["attempts"]) == 1


def test_connection_errors_are_retried(make_app, agent, execute, clock):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    client = make_app(retry=NO_JITTER).test_client()
    body = execute(agent, call(f"http://127.0.0.1:{port}/"), client)
    attempts = body["steps"][0]["attempts"]
    assert [a["error"] for a in attempts] == ["ExecutionError"] * 4
    assert clock.slept == [1.0, 2.0, 4.0]
    assert body["error"]["message"].startswith("API call failed: could not connect")


def test_every_attempt_counts_as_an_api_call(make_app, agent, execute, httpserver):
    client = make_app(rateLimiting={"api_calls_per_minute": 2}).test_client()
    fail_then(httpserver, "/flaky", [503, 503])
    body = execute(agent, call(httpserver.url_for("/flaky")), client)
    assert body["error"]["type"] == "RateLimitError"
    assert [a["status"] for a in body["steps"][0]["attempts"]] == [503, 503]
    assert len(httpserver.log) == 2
