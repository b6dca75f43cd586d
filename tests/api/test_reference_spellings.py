"""Workflows written from the reference implementation's docs run over HTTP: its legacy
dialect, its config spellings, and ours beside them with the same results."""

from __future__ import annotations

import json

import pytest

from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth


@pytest.fixture
def agent(make_agent):
    return make_agent("ref")


def legacy(*operations: tuple[str, str, dict]) -> str:
    """A dialect B workflow whose root is the first operation."""
    update = {"operationUpdate": {"workflowId": "wf", "operations": [
        {"id": op_id, "operation": {op_type: config}} for op_id, op_type, config in operations]}}
    begin = {"beginExecution": {"workflowId": "wf", "root": operations[0][0]}}
    return json.dumps(update) + "\n" + json.dumps(begin)


def execute(client, key, workflow):
    response = client.post("/api/v1/workflows/execute", headers=auth(key), json={"workflow": workflow})
    assert response.status_code == 200, response.json
    return response.json


def seed(path: str, text: str) -> tuple[str, str, dict]:
    """An operation that puts ``text`` at ``path``."""
    return ("seed", "FormatText", {"template": text, "outputPath": path})


def test_text_and_validation_spellings(client, agent):
    body = execute(client, agent, legacy(
        seed("/workflow/email", "User@Example.com"),
        ("validate", "ValidateData", {"inputPath": "/workflow/email", "validationType": "email",
                                      "outputPath": "/workflow/validated"}),
        ("lower", "FormatText", {"inputPath": "/workflow/email", "format": "lower",
                                 "outputPath": "/workflow/email_lower"}),
        ("domain", "ExtractText", {"inputPath": "/workflow/email", "pattern": "@([a-zA-Z0-9.]+)",
                                   "extractAll": False, "outputPath": "/workflow/domain"}),
        ("swap", "FormatText", {"inputPath": "/workflow/email_lower", "format": "replace",
                                "replacements": {"example": "sample"}, "outputPath": "/workflow/swapped"}),
        ("encode", "EncodeDecode", {"inputPath": "/workflow/swapped", "operation": "encode",
                                    "encoding": "base64", "outputPath": "/workflow/encoded"}),
        ("decode", "EncodeDecode", {"inputPath": "/workflow/encoded", "action": "decode",
                                    "encoding": "base64", "outputPath": "/workflow/decoded"}),
    ))
    assert body["status"] == "succeeded", body
    results = body["results"]
    assert results["validate"] == {"valid": True, "value": "User@Example.com"}
    assert results["lower"] == "user@example.com"
    assert results["domain"] == "@Example.com"
    assert results["swap"] == "user@sample.com"
    assert results["decode"] == "user@sample.com"


def test_calculate_spellings(client, agent):
    body = execute(client, agent, legacy(
        seed("/workflow/text", "Scores: 10, 20, 31"),
        ("numbers", "ExtractText", {"inputPath": "/workflow/text", "pattern": "[0-9]+", "extractAll": True,
                                    "outputPath": "/workflow/numbers"}),
        ("sum", "Calculate", {"inputPath": "/workflow/numbers", "operation": "sum", "outputPath": "/workflow/total"}),
        ("avg", "Calculate", {"inputPath": "/workflow/numbers", "operation": "average",
                              "outputPath": "/workflow/avg"}),
        ("round", "Calculate", {"inputPath": "/workflow/avg", "operation": "round", "precision": 2,
                                "outputPath": "/workflow/rounded"}),
        ("plus", "Calculate", {"inputPath": "/workflow/total", "operation": "add",
                               "operand": {"path": "/workflow/rounded"}, "outputPath": "/workflow/plus"}),
        ("ours", "Calculate", {"inputPath": "/workflow", "expression": "total + rounded",
                               "outputPath": "/workflow/ours"}),
    ))
    assert body["status"] == "succeeded", body
    results = body["results"]
    assert results["numbers"] == ["10", "20", "31"]
    assert [results[key] for key in ("sum", "avg", "round")] == [61, 61 / 3, 20.33]
    assert results["plus"] == results["ours"] == 81.33


def test_date_spellings(client, agent):
    body = execute(client, agent, legacy(
        ("now", "GetCurrentDateTime", {"timezone": "UTC", "format": "timestamp", "outputPath": "/workflow/ts"}),
        ("iso", "ConvertTimezone", {"inputPath": "/workflow/ts", "toTimezone": "Europe/Madrid",
                                    "format": "iso8601", "outputPath": "/workflow/madrid"}),
        ("week", "DateCalculation", {"inputPath": "/workflow/ts", "operation": "add", "days": 7,
                                     "format": "timestamp", "outputPath": "/workflow/next_week"}),
        ("day", "DateCalculation", {"inputPath": "/workflow/madrid", "operation": "add", "days": 1,
                                    "format": "custom", "formatString": "%Y-%m-%d", "outputPath": "/workflow/d"}),
        ("ours", "ConvertTimezone", {"inputPath": "/workflow/madrid", "toTimezone": "UTC",
                                     "outputPath": "/workflow/utc"}),
    ))
    assert body["status"] == "succeeded", body
    results = body["results"]
    assert results["week"] - results["now"] == 7 * 86400
    assert results["iso"][-6:] in ("+01:00", "+02:00")
    assert len(results["day"]) == 10 and results["ours"].endswith("+00:00")


def test_session_and_local_storage(client, agent):
    first = execute(client, agent, jsonl(
        op("a", "FormatText", template="kept", outputPath="/workflow/a"),
        op("keep", "StoreData", inputPath="/workflow/a", storage="localStorage", key="kept"),
        op("b", "FormatText", template="this run only", outputPath="/workflow/b"),
        op("session", "StoreData", inputPath="/workflow/b", storage="sessionStorage", key="temp"),
        op("read", "FormatText", inputPath="/store/temp", format="upper", outputPath="/workflow/read"),
    ))
    assert first["status"] == "succeeded", first
    assert first["results"]["read"] == "THIS RUN ONLY"
    assert client.get("/api/v1/store/kept", headers=auth(agent)).json["value"] == "kept"
    assert client.get("/api/v1/store/temp", headers=auth(agent)).status_code == 404
    second = execute(client, agent, jsonl(
        op("read", "FormatText", inputPath="/store/kept", format="upper", outputPath="/workflow/k"),
        op("gone", "FormatText", inputPath="/store/temp", format="upper", outputPath="/workflow/t"),
    ))
    assert second["results"]["read"] == "KEPT"
    assert second["status"] == "failed" and second["error"]["operationId"] == "gone"
    assert second["error"]["type"] == "DataError" and second["error"]["suggestions"]


def test_validation_points_from_one_spelling_to_the_other(client, agent):
    workflow = jsonl(
        op("t", "FormatText", template="x", outputPath="/workflow/t"),
        op("x", "ExtractText", inputPath="/workflow/t", pattern="x", extract_all=True, outputPath="/workflow/x"),
        op("e", "EncodeDecode", inputPath="/workflow/t", encoding="base64", outputPath="/workflow/e"),
    )
    report = client.post("/api/v1/workflows/validate", headers=auth(agent), json={"workflow": workflow}).json
    (warning,) = [issue for issue in report["warnings"] if issue["operationId"] == "x"]
    assert warning["suggestion"] == "did you mean 'extractAll'? (also spelled 'all')"
    (error,) = report["errors"]
    assert error["operationId"] == "e" and "needs 'action' (or 'operation')" in error["message"]


def test_every_operation_error_carries_suggestions(client, agent, httpserver):
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    httpserver.expect_request("/down").respond_with_data("no", status=503)
    cases = [
        op("f", "ApiCall", method="GET", url=httpserver.url_for("/missing"), outputPath="/workflow/f"),
        op("f", "ApiCall", method="GET", url=httpserver.url_for("/down"), outputPath="/workflow/f"),
        op("f", "ApiCall", method="GET", url="http://127.0.0.1:9/refused", outputPath="/workflow/f"),
        op("f", "Calculate", inputPath="/workflow/none", operation="sum", outputPath="/workflow/f"),
        op("f", "Calculate", expression="1 / 0", outputPath="/workflow/f"),
        op("f", "ConvertTimezone", inputPath="/workflow/none", toTimezone="UTC", outputPath="/workflow/f"),
    ]
    for case in cases:
        body = execute(client, agent, jsonl(case))
        assert body["status"] == "failed", body
        assert body["error"]["suggestions"] and all(isinstance(s, str) for s in body["error"]["suggestions"])
        step = body["steps"][-1]
        assert step["error"]["suggestions"] == body["error"]["suggestions"]
