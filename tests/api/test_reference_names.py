"""The names the reference implementation's clients read, served beside ours."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer

from a2e.store.queries.agents import IssuedKey
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth


def test_executions_page_also_under_executions(client: FlaskClient, make_agent: Callable[..., IssuedKey]) -> None:
    key = make_agent()
    for n in range(3):
        client.post("/api/v1/workflows/execute", headers=auth(key), json={"workflow": jsonl(
            op("c", "Calculate", expression="1 + 1", outputPath="/workflow/c"), execution_id=f"run-{n}")})
    body = client.get("/api/v1/executions?limit=2", headers=auth(key)).json
    assert [item["execution_id"] for item in body["executions"]] == ["run-2", "run-1"]
    assert body["executions"] == body["items"]
    following = client.get(f"/api/v1/executions?limit=2&cursor={body['next_cursor']}", headers=auth(key)).json
    assert [item["execution_id"] for item in following["executions"]] == ["run-0"]


def test_capabilities_also_under_reference_names(
    client: FlaskClient, make_agent: Callable[..., IssuedKey]
) -> None:
    key = make_agent("caps", ops=["ApiCall", "FilterData"], hosts=("api.example.com", "*.example.org"))
    admin = make_agent("root", admin=True)
    put = client.put("/api/v1/admin/agents/caps/credentials/api-token", headers=auth(admin),
                     json={"value": "Bearer secret-value"})
    assert put.status_code in (200, 201), put.json
    body = client.get("/api/v1/capabilities", headers=auth(key)).json
    caps = body["capabilities"]
    assert sorted(caps["availableApis"]) == ["*.example.org", "api.example.com"]
    assert caps["availableApis"]["api.example.com"]["match"] == "exact"
    assert caps["availableApis"]["*.example.org"]["match"] == "subdomains"
    assert [c["id"] for c in caps["availableCredentials"]] == ["api-token"]
    assert "secret-value" not in str(body)
    assert caps["supportedOperations"] == ["ApiCall", "FilterData"] == body["operations"]
    constraints = caps["securityConstraints"]
    assert constraints["allowedDomains"] == body["hosts"]
    assert constraints["maxOperations"] == 100
    assert constraints["maxExecutionTime"] == 300_000
    # ours stay
    assert body["hosts"] == ["api.example.com", "*.example.org"]
    assert body["credentials"] == ["api-token"]


def test_validate_also_has_issues_and_summary(client: FlaskClient, make_agent: Callable[..., IssuedKey]) -> None:
    key = make_agent()
    workflow = jsonl(
        op("f", "FilterData", inputPath="/workflow/never-written", conditions=[], outputPath="/workflow/o"),
        op("w", "Wait", duration="soon"),
    )
    body = client.post("/api/v1/workflows/validate", json={"workflow": workflow}, headers=auth(key)).json
    assert body["valid"] is False
    assert len(body["errors"]) >= 1 and len(body["warnings"]) >= 1
    assert len(body["issues"]) == len(body["errors"]) + len(body["warnings"])
    assert [i["severity"] for i in body["issues"]] == (
        ["error"] * len(body["errors"]) + ["warning"] * len(body["warnings"]))
    error = body["issues"][0]
    assert error["operation_id"] == error["operationId"] == "w"
    assert error["message"] == body["errors"][0]["message"]
    summary = body["summary"]
    assert summary["errors"] == len(body["errors"]) and summary["warnings"] == len(body["warnings"])
    assert summary["by_operation"]["w"] >= 1 and summary["by_operation"]["f"] >= 1

    valid = client.post("/api/v1/workflows/validate", headers=auth(key), json={"workflow": jsonl(
        op("c", "Calculate", expression="1 + 1", outputPath="/workflow/c"))}).json
    assert valid["valid"] is True and valid["issues"] == []
    assert valid["summary"] == {"errors": 0, "warnings": 0, "by_operation": {}}


def test_rate_limit_usage_under_reference_names(client: FlaskClient, make_agent: Callable[..., IssuedKey]) -> None:
    key = make_agent()
    for _ in range(3):
        client.get("/api/v1/capabilities", headers=auth(key))
    usage = client.get("/api/v1/rate-limit/status", headers=auth(key)).json["usage"]
    assert usage["requests_per_minute"] == usage["requests_last_minute"] == 3
    assert usage["requests_last_hour"] == usage["requests_per_hour"] == 3
    assert usage["requests_last_day"] == usage["requests_per_day"] == 3
    assert usage["api_calls_last_minute"] == usage["api_calls_per_minute"] == 0


def test_cache_stats_hits_misses_hit_rate_at_top_level(
    client: FlaskClient, make_agent: Callable[..., IssuedKey], httpserver: HTTPServer
) -> None:
    key = make_agent()
    before = client.get("/api/v1/cache/stats", headers=auth(key)).json
    assert (before["hits"], before["misses"], before["hit_rate"]) == (0, 0, None)
    httpserver.expect_request("/v").respond_with_json({"v": 1})
    workflow = jsonl(op("fetch", "ApiCall", method="GET", url=httpserver.url_for("/v"), outputPath="/workflow/v"))
    for _ in range(3):
        response = client.post("/api/v1/workflows/execute", json={"workflow": workflow}, headers=auth(key))
        assert response.status_code == 200, response.json
    body = client.get("/api/v1/cache/stats", headers=auth(key)).json
    assert (body["hits"], body["misses"]) == (body["totals"]["hits"], body["totals"]["misses"]) == (2, 1)
    assert body["hit_rate"] == body["totals"]["hit_rate"] == round(2 / 3, 4)

