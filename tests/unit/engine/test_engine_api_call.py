"""ApiCall against a real local HTTP server (pytest-httpserver, host "localhost")."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from a2e.errors import RateLimited
from a2e.protocol.model import ExecutionLimits


def get(op_id, url, **config):
    return (op_id, "ApiCall", {"method": "GET", "url": url, "outputPath": f"/workflow/{op_id}", **config})


def test_get_json_result_and_attempts(httpserver, run_workflow):
    httpserver.expect_request("/users").respond_with_json([{"id": 1}])
    result = run_workflow([get("fetch", httpserver.url_for("/users"))])
    assert result.status == "succeeded", result.error
    assert result.results == {"fetch": [{"id": 1}]}
    assert result.steps[0]["attempts"] == [{"attempt": 1, "status": 200, "delay_s": 0.0}]


def test_text_and_unparsable_json_come_back_as_text(httpserver, run_workflow):
    httpserver.expect_request("/text").respond_with_data("hello", content_type="text/plain")
    httpserver.expect_request("/broken").respond_with_data("{nope", content_type="application/json")
    result = run_workflow([get("text", httpserver.url_for("/text")), get("broken", httpserver.url_for("/broken"))])
    assert result.results == {"text": "hello", "broken": "{nope"}


def test_url_template_reads_earlier_results(httpserver, run_workflow):
    httpserver.expect_request("/user").respond_with_json({"id": 42})
    httpserver.expect_request("/users/42/orders").respond_with_json(["o1"])
    orders_url = httpserver.url_for("/users/{/workflow/user/id}/orders")
    result = run_workflow([get("user", httpserver.url_for("/user")), get("orders", orders_url)])
    assert result.results["orders"] == ["o1"]


def test_post_with_path_reference_and_credential(httpserver, run_workflow):
    httpserver.expect_request(
        "/orders", method="POST", json={"ids": [42]},
        headers={"Authorization": "Bearer s3cret-token", "X-User": "42"},
    ).respond_with_handler(lambda request: Response(
        json.dumps({"echo": request.headers["Authorization"]}), content_type="application/json"))
    httpserver.expect_request("/user").respond_with_json({"id": 42})
    post = ("create", "ApiCall", {
        "method": "POST", "url": httpserver.url_for("/orders"), "outputPath": "/workflow/created",
        "headers": {"Authorization": {"credentialRef": {"id": "api-token"}},
                    "X-User": {"path": "/workflow/user/id"}},
        "body": {"ids": [{"path": "/workflow/user/id"}]},
    })
    result = run_workflow([get("user", httpserver.url_for("/user")), post])
    assert result.status == "succeeded", result.error
    assert result.results["create"] == {"echo": "[REDACTED]"}
    assert "s3cret-token" not in json.dumps(result.to_response())


def test_an_unknown_credential_is_a_permission_error(httpserver, run_workflow):
    op = get("fetch", httpserver.url_for("/x"), headers={"Authorization": {"credentialRef": {"id": "other"}}})
    result = run_workflow([op])
    assert result.error["type"] == "PermissionError"
    assert len(httpserver.log) == 0


def test_loop_calls_the_api_once_per_item(httpserver, values, agent_id, run_workflow):
    values.put(agent_id, "db", "ids", [1, 2, 3])
    for item in (1, 2, 3):
        httpserver.expect_ordered_request(f"/items/{item}").respond_with_json({"item": item})
    ops = [("each", "Loop", {"inputPath": "/store/ids", "operations": ["fetch"], "outputPath": "/workflow/all"}),
           get("fetch", httpserver.url_for("/items/{/loop/item}"))]
    result = run_workflow(ops, ["each"])
    assert result.status == "succeeded", result.error
    assert result.results["each"] == [{"item": 1}, {"item": 2}, {"item": 3}]
    fetches = [step for step in result.steps if step["operationId"] == "fetch"]
    assert [step["iteration"] for step in fetches] == [0, 1, 2]
    assert len(httpserver.log) == 3


def test_a_500_fails_the_run_and_keeps_earlier_results(httpserver, recorder, run_workflow):
    httpserver.expect_request("/ok").respond_with_json({"ok": True})
    httpserver.expect_request("/boom").respond_with_data("down", status=500)
    result = run_workflow([get("ok", httpserver.url_for("/ok")), get("boom", httpserver.url_for("/boom"))])
    assert result.status == "failed"
    suggestions = result.error.pop("suggestions")
    assert result.error == {"type": "ExecutionError", "message": "API call failed: 500 Internal Server Error",
                            "operationId": "boom", "details": {"statusCode": 500}}
    assert suggestions and "try again later" in suggestions[0]
    assert result.results == {"ok": {"ok": True}}
    failed = recorder.runs[result.run_id].steps[-1]
    assert (failed.op_id, failed.status, failed.attempts[0]["status"]) == ("boom", "failed", 500)


def test_an_unlisted_host_is_a_permission_error(httpserver, run_workflow):
    result = run_workflow([get("fetch", httpserver.url_for("/x"))], hosts=("api.example.com",))
    assert result.error["type"] == "PermissionError"
    assert len(httpserver.log) == 0


@pytest.mark.parametrize("chunked", [False, True])
def test_a_response_over_the_size_cap_is_an_execution_error(httpserver, run_workflow, chunked):
    body = [b"x" * 100] * 5
    httpserver.expect_request("/big").respond_with_response(
        Response(iter(body)) if chunked else Response(b"".join(body)))
    result = run_workflow([get("big", httpserver.url_for("/big"))], limits=ExecutionLimits(max_response_bytes=300))
    assert result.error["type"] == "ExecutionError"
    assert result.error["details"] == {"maxResponseBytes": 300}


def test_redirects_are_followed_and_rechecked(httpserver, run_workflow):
    httpserver.expect_request("/old").respond_with_response(
        Response(status=302, headers={"Location": "/new"}))
    httpserver.expect_request("/new").respond_with_json({"moved": True})
    other_host = httpserver.url_for("/new").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/away").respond_with_response(
        Response(status=302, headers={"Location": other_host}))
    assert run_workflow([get("r", httpserver.url_for("/old"))]).results == {"r": {"moved": True}}
    refused = run_workflow([get("r", httpserver.url_for("/away"))])
    assert refused.error["type"] == "PermissionError"


def test_a_redirect_loop_is_an_execution_error(httpserver, run_workflow):
    httpserver.expect_request("/loop").respond_with_response(Response(status=302, headers={"Location": "/loop"}))
    result = run_workflow([get("r", httpserver.url_for("/loop"))])
    assert result.error["type"] == "ExecutionError"
    assert "redirects" in result.error["message"]


def test_a_slow_server_is_a_timeout(held_upstream, run_workflow):
    result = run_workflow([get("slow", held_upstream("/slow").url, timeout=100)])
    assert result.error["type"] == "TimeoutError"


def test_a_refused_connection_is_an_execution_error(httpserver, run_workflow):
    url = httpserver.url_for("/x")
    httpserver.stop()
    try:
        result = run_workflow([get("down", url)])
    finally:
        httpserver.start()
    assert result.error["type"] == "ExecutionError"
    assert "could not connect" in result.error["message"]


class CountingLimiter:
    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.calls = 0

    def admit_api_call(self, agent_id) -> None:
        self.calls += 1
        if self.calls > self.allowed:
            raise RateLimited("ApiCall limit reached", retry_after=30)


def test_the_limiter_admits_each_api_call(httpserver, values, agent_id, run_workflow):
    values.put(agent_id, "db", "ids", [1, 2, 3])
    httpserver.expect_request("/x").respond_with_json(1)
    limiter = CountingLimiter(allowed=2)
    ops = [("each", "Loop", {"inputPath": "/store/ids", "operations": ["fetch"]}),
           get("fetch", httpserver.url_for("/x"))]
    result = run_workflow(ops, ["each"], limiter=limiter)
    assert limiter.calls == 3
    assert result.error["type"] == "RateLimitError"
    assert len(httpserver.log) == 2


def test_a_cross_origin_redirect_drops_credentials(httpserver, run_workflow):
    other_origin = httpserver.url_for("/landing").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/start").respond_with_response(
        Response(status=307, headers={"Location": other_origin}))
    httpserver.expect_request("/landing").respond_with_handler(
        lambda request: Response(json.dumps(sorted(request.headers.keys())), content_type="application/json"))
    op = get("r", httpserver.url_for("/start"),
             headers={"Authorization": {"credentialRef": {"id": "api-token"}}, "Accept": "application/json"})
    result = run_workflow([op], hosts=("localhost", "127.0.0.1"))
    assert result.status == "succeeded", result.error
    assert "Authorization" not in result.results["r"]
    assert "Accept" in result.results["r"]
