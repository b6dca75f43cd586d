"""The reference A2E project's Python client (``A2EClient``, ``WorkflowBuilder``) against a2e.

The first tests make exactly the requests that client makes and read exactly the fields
it reads (``X-API-Key`` or ``Authorization: Bearer``, ``capabilities.availableApis``,
``valid``/``issues``, ``executions``; workflows in the legacy envelope its builder
writes). The last one runs the real client, unchanged, from a checkout of the reference
repository named by ``A2E_REFERENCE_CHECKOUT`` (skipped without it).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer

CHECKOUT = os.environ.get("A2E_REFERENCE_CHECKOUT")


def _legacy(workflow_id: str, operations: list[dict[str, Any]]) -> str:
    """The legacy envelope as the reference builder writes it: every operation in one
    ``operationUpdate``, then ``beginExecution`` with the first operation as ``root``."""
    return "\n".join(json.dumps(line) for line in (
        {"operationUpdate": {"workflowId": workflow_id, "operations": operations}},
        {"beginExecution": {"workflowId": workflow_id, "root": operations[0]["id"]}},
    ))


def _people_workflow(url: str) -> str:
    return _legacy("people", [
        {"id": "fetch", "operation": {"ApiCall": {
            "method": "GET", "url": url, "outputPath": "/workflow/users",
            "headers": {"Authorization": {"credentialRef": {"id": "api-token"}}}}}},
        {"id": "active", "operation": {"FilterData": {
            "inputPath": "/workflow/users", "conditions": [{"field": "active", "operator": "==", "value": True}],
            "outputPath": "/workflow/filtered"}}},
        {"id": "keep", "operation": {"StoreData": {"inputPath": "/workflow/filtered", "storage": "db",
                                                    "key": "active-users"}}},
    ])


def _setup(serve, httpserver: HTTPServer):
    served = serve()
    requests.put(f"{served.url}/api/v1/admin/agents/clients-agent/credentials/api-token",
                 headers={"Authorization": f"Bearer {served.admin.api_key}"},
                 json={"value": "Bearer upstream-secret"}, timeout=10).raise_for_status()
    httpserver.expect_request("/users", headers={"Authorization": "Bearer upstream-secret"}).respond_with_json(
        [{"name": "Ada", "active": True}, {"name": "Bob", "active": False}])
    return served


@pytest.mark.parametrize("auth", ["api_key", "token"])
def test_the_reference_clients_requests_and_fields(serve, httpserver: HTTPServer, auth: str) -> None:
    served = _setup(serve, httpserver)
    headers = {"Content-Type": "application/json"}
    if auth == "api_key":
        headers["X-API-Key"] = served.key.api_key
    else:
        headers["Authorization"] = f"Bearer {served.key.api_key}"

    def call(method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, served.url + path, headers=headers, timeout=30, **kwargs)
        response.raise_for_status()  # as the reference client does
        return response.json()

    capabilities = call("GET", "/api/v1/capabilities")
    assert sorted(capabilities["capabilities"]["availableApis"].keys()) == ["127.0.0.1", "localhost"]
    assert "ApiCall" in capabilities["capabilities"]["supportedOperations"]
    assert [c["id"] for c in capabilities["capabilities"]["availableCredentials"]] == ["api-token"]

    workflow = _people_workflow(httpserver.url_for("/users"))
    validation = call("POST", "/api/v1/workflows/validate", json={"workflow": workflow})
    assert validation["valid"] is True and validation["issues"] == []

    invalid = _legacy("broken", [{"id": "w", "operation": {"Wait": {"duration": "soon"}}}])
    report = call("POST", "/api/v1/workflows/validate", json={"workflow": invalid})
    assert report["valid"] is False
    assert [i["severity"] for i in report["issues"]][:1] == ["error"] and report["issues"][0]["message"]

    result = call("POST", "/api/v1/workflows/execute", json={"workflow": workflow, "validate": True})
    assert result["status"] == "succeeded"
    assert result["results"]["active"] == [{"name": "Ada", "active": True}]
    assert "upstream-secret" not in json.dumps(result)

    details = call("GET", f"/api/v1/executions/{result['execution_id']}")
    assert details["status"] == "succeeded" and details["results"] == result["results"]

    listed = call("GET", "/api/v1/executions", params={"limit": 100})
    assert [run["execution_id"] for run in listed.get("executions", [])] == [result["execution_id"]]
    assert call("GET", "/api/v1/executions", params={"limit": 100, "status": "failed"})["executions"] == []


def _reference_module(checkout: str) -> ModuleType:
    path = Path(checkout) / "client" / "a2e_client.py"
    spec = importlib.util.spec_from_file_location("reference_a2e_client", path)
    assert spec is not None and spec.loader is not None, f"no reference client at {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not CHECKOUT, reason="A2E_REFERENCE_CHECKOUT names no checkout of the reference repository")
@pytest.mark.parametrize("auth", ["api_key", "token"])
def test_the_real_reference_client_unchanged(serve, httpserver: HTTPServer, auth: str) -> None:
    reference = _reference_module(str(CHECKOUT))
    served = _setup(serve, httpserver)
    client = reference.A2EClient(served.url, **{auth: served.key.api_key})

    capabilities = client.get_capabilities()
    assert sorted(capabilities["capabilities"]["availableApis"].keys()) == ["127.0.0.1", "localhost"]

    builder = reference.WorkflowBuilder(workflow_id="people")
    builder.add_api_call(operation_id="fetch", method="GET", url=httpserver.url_for("/users"),
                         headers={"Authorization": {"credentialRef": {"id": "api-token"}}},
                         output_path="/workflow/users")
    builder.add_filter(operation_id="active", input_path="/workflow/users",
                       conditions=[{"field": "active", "operator": "==", "value": True}],
                       output_path="/workflow/filtered")
    builder.add_store(operation_id="keep", input_path="/workflow/filtered", storage="db", key="active-users")
    workflow = builder.build()

    validation = client.validate_workflow(workflow)
    assert validation["valid"] is True and validation["issues"] == []
    invalid = reference.WorkflowBuilder(workflow_id="broken")
    invalid.add_filter(operation_id="f", input_path="not-a-path", conditions=[{"field": "x"}])
    report = client.validate_workflow(invalid.build())
    assert report["valid"] is False and report["issues"][0]["severity"] == "error"

    result = client.execute_workflow(workflow)
    assert result["status"] == "succeeded"
    assert result["results"]["active"] == [{"name": "Ada", "active": True}]
    assert "upstream-secret" not in json.dumps(result)

    execution = client.get_execution(result["execution_id"])
    assert execution["status"] == "succeeded"
    assert [run["execution_id"] for run in client.list_executions()] == [result["execution_id"]]
    assert client.list_executions(status="failed") == []
