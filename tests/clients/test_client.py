"""``a2e.client.Client`` against a real ``a2e serve`` process: every method."""

from __future__ import annotations

import itertools
import json

import pytest
import requests
from pytest_httpserver import HTTPServer

from a2e.client import ApiError, Client, WorkflowBuilder, credential, path
from tests.api.workflow_helpers import jsonl, op


def _calc(execution_id: str | None = None) -> str:
    return jsonl(op("sum", "Calculate", expression="2 + 3", outputPath="/workflow/sum"),
                 execution_id=execution_id)


def test_capabilities_validate_execute_and_read_back(serve, httpserver: HTTPServer) -> None:
    served = serve()
    requests.put(f"{served.url}/api/v1/admin/agents/clients-agent/credentials/token",
                 headers={"Authorization": f"Bearer {served.admin.api_key}"},
                 json={"value": "Bearer s3cret"}, timeout=10).raise_for_status()
    httpserver.expect_request("/people", headers={"Authorization": "Bearer s3cret"}).respond_with_json(
        [{"name": "Ada", "active": True}, {"name": "Bob", "active": False}])
    with Client(served.url, served.key.api_key, timeout=20) as client:
        caps = client.capabilities()
        assert caps["name"] == "clients-agent" and "ApiCall" in caps["operations"]
        assert set(caps["capabilities"]["availableApis"]) == {"127.0.0.1", "localhost"}
        assert caps["credentials"] == ["token"]

        workflow = (WorkflowBuilder()
                    .api_call("fetch", "GET", httpserver.url_for("/people"), output_path="/workflow/people",
                              headers={"Authorization": credential("token")})
                    .filter_data("active", "/workflow/people",
                                 [{"field": "active", "operator": "==", "value": True}],
                                 output_path="/workflow/active"))
        report = client.validate(workflow)
        assert report["valid"] is True and report["issues"] == []

        result = client.execute(workflow, execution_id="people-1")
        assert (result["execution_id"], result["status"]) == ("people-1", "succeeded")
        assert result["results"]["active"] == [{"name": "Ada", "active": True}]
        assert "s3cret" not in json.dumps(result)

        run = client.execution("people-1")
        assert run["status"] == "succeeded" and [s["operationId"] for s in run["steps"]] == ["fetch", "active"]
        assert run["results"]["active"] == [{"name": "Ada", "active": True}]

        # a list of messages and a JSONL text take an execution id too
        assert client.execute(WorkflowBuilder().add(
            "w", "Wait", duration=1).messages(), execution_id="as-list")["execution_id"] == "as-list"
        assert client.execute(_calc(), execution_id="as-text")["results"] == {"sum": 5}


def test_invalid_workflow_reports_and_raises(serve) -> None:
    served = serve(ops=["Calculate", "Wait", "FilterData"])
    client = Client(served.url, served.key.api_key)
    bad = jsonl(op("w", "Wait", duration="soon"))
    report = client.validate(bad)
    assert report["valid"] is False and report["issues"][0]["severity"] == "error"
    assert report["summary"]["errors"] == len(report["errors"]) >= 1

    with pytest.raises(ApiError) as refused:
        client.execute(bad)
    assert refused.value.status == 400 and refused.value.type == "ValidationError"
    assert refused.value.error["operationId"] == "w"
    assert refused.value.body["valid"] is False and refused.value.body["errors"]

    with pytest.raises(ApiError) as forbidden:
        client.execute(jsonl(op("x", "EncodeDecode", inputPath="/workflow/a", action="encode",
                                encoding="base64", outputPath="/workflow/b")))
    assert forbidden.value.status == 403 and forbidden.value.type == "PermissionError"

    client.execute(_calc("dup"))
    with pytest.raises(ApiError) as duplicate:
        client.execute(_calc("dup"))
    assert duplicate.value.status == 409

    with pytest.raises(ApiError) as missing:
        client.execution("no-such-run")
    assert missing.value.status == 404 and missing.value.message

    failed = client.execute(jsonl(op("f", "FilterData", inputPath="/workflow/nothing", conditions=[],
                                     outputPath="/workflow/o")))
    assert failed["status"] == "failed" and failed["error"]["type"] == "DataError"  # a run, not an error

    with pytest.raises(ApiError) as unauthenticated:
        Client(served.url, "not-a-key").capabilities()
    assert unauthenticated.value.status == 401

    served.server.stop()
    with pytest.raises(ApiError) as down:
        client.capabilities()
    assert down.value.status is None and down.value.type == "ConnectionError"


def test_executions_iterates_over_pages(serve) -> None:
    served = serve()
    client = Client(served.url, served.key.api_key)
    for n in range(7):
        client.execute(_calc(f"run-{n}"))
    client.execute(jsonl(op("f", "FilterData", inputPath="/workflow/nothing", conditions=[],
                            outputPath="/workflow/o"), execution_id="broken"))
    every = [run["execution_id"] for run in client.executions(page_size=3)]
    assert every == ["broken", *[f"run-{n}" for n in reversed(range(7))]]
    assert [run["execution_id"] for run in client.executions(limit=4, page_size=3)] == every[:4]
    assert [run["execution_id"] for run in client.executions(status="failed")] == ["broken"]
    assert list(itertools.islice(client.executions(), 2)) == list(client.executions(limit=2))


def test_saved_workflows(serve) -> None:
    served = serve()
    client = Client(served.url, served.key.api_key)
    first = client.save("add", _calc(), description="Adds two and three")
    assert (first["name"], first["version"], first["description"]) == ("add", 1, "Adds two and three")
    assert client.save("add", _calc())["version"] == 2
    client.save("pause", WorkflowBuilder().wait("w", 1))
    assert [(s["name"], s["version"]) for s in client.saved_workflows()] == [("add", 2), ("pause", 1)]
    assert client.saved_workflow("add", version=1)["description"] == "Adds two and three"
    assert json.loads(client.saved_workflow("add")["workflow"].splitlines()[0])["operationId"] == "sum"

    run = client.run_saved("add", execution_id="saved-1")
    assert (run["execution_id"], run["status"], run["results"]) == ("saved-1", "succeeded", {"sum": 5})
    assert client.execution("saved-1")["saved_workflow"] == {"name": "add", "version": 2}
    assert client.run_saved("add", version=1)["status"] == "succeeded"

    client.delete_saved("pause")
    with pytest.raises(ApiError) as gone:
        client.run_saved("pause")
    assert gone.value.status == 404


def test_rate_limit_status_and_429_retry(serve) -> None:
    served = serve(config={"rateLimiting": {"requests_per_minute": 3}})
    slept: list[float] = []
    client = Client(served.url, served.key.api_key, retry_on_rate_limit=True,
                    max_rate_limit_retries=2, sleep=slept.append)
    status = client.rate_limit_status()
    assert status["limits"]["requests_per_minute"] == 3 and status["usage"]["requests_last_minute"] == 0
    for _ in range(3):
        client.capabilities()
    assert client.rate_limit_status()["remaining"]["requests_per_minute"] == 0
    with pytest.raises(ApiError) as limited:
        client.capabilities()
    assert limited.value.status == 429 and limited.value.type == "RateLimitError"
    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= 60
    assert len(slept) == 2 and all(0 < s <= 60 for s in slept)  # retried twice, then raised

    plain = Client(served.url, served.key.api_key, sleep=slept.append)
    with pytest.raises(ApiError):
        plain.capabilities()
    assert len(slept) == 2  # without retry_on_rate_limit nothing waits


def test_retry_after_a_429_that_clears(httpserver: HTTPServer) -> None:
    """The retry itself: a server answering 429 with Retry-After once, then 200."""
    httpserver.expect_ordered_request("/api/v1/rate-limit/status").respond_with_json(
        {"error": {"type": "RateLimitError", "message": "slow down"}, "retry_after": 2},
        status=429, headers={"Retry-After": "2"})
    httpserver.expect_ordered_request("/api/v1/rate-limit/status").respond_with_json({"agent_id": 1})
    slept: list[float] = []
    client = Client(httpserver.url_for(""), "k", retry_on_rate_limit=True, sleep=slept.append)
    assert client.rate_limit_status() == {"agent_id": 1}
    assert slept == [2.0]
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer k"


def test_builder_orders_and_references() -> None:
    builder = (WorkflowBuilder(execution_id="b-1")
               .add("items", "Calculate", expression="1", outputPath="/workflow/n")
               .conditional("check", {"path": "/workflow/n", "operator": ">", "value": 0}, ["yes"], ["no"])
               .add("yes", "FormatText", template="yes", outputPath="/workflow/t")
               .add("no", "FormatText", template="no", outputPath="/workflow/t")
               .api_call("post", "POST", "http://127.0.0.1/x", output_path="/workflow/r",
                         body={"n": path("/workflow/n")}))
    messages = builder.messages()
    assert messages[-1] == {"type": "beginExecution", "operationOrder": ["items", "check", "post"],
                            "executionId": "b-1"}
    assert messages[-2]["operation"]["ApiCall"]["body"] == {"n": {"path": "/workflow/n"}}
    assert [json.loads(line) for line in builder.build().splitlines()] == messages
    assert builder.order("post").messages()[-1]["operationOrder"] == ["post"]
    with pytest.raises(ValueError):
        WorkflowBuilder().build()


def test_execution_id_needs_dialect_a() -> None:
    legacy = ('{"operationUpdate":{"workflowId":"wf","operations":[]}}\n'
              '{"beginExecution":{"workflowId":"wf","root":"a"}}')
    with pytest.raises(ValueError, match="dialect-A"):
        Client("http://127.0.0.1:1", "k").execute(legacy, execution_id="x")
