"""Cross-agent access on every agent resource, and slow ApiCalls bounded by the deadline."""

from __future__ import annotations


import pytest

from a2e.api import create_app
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth


@pytest.fixture
def two_agents(client, make_agent):
    """Agent A owns a run, a saved workflow, a stored value and a cache entry."""
    alice, bob = make_agent("alice"), make_agent("bob")
    workflow = jsonl(
        op("n", "Calculate", expression="1 + 1", outputPath="/workflow/n"),
        op("keep", "StoreData", inputPath="/workflow/n", storage="db", key="secret-number"),
        execution_id="alice-run",
    )
    assert client.post("/api/v1/workflows/execute", headers=auth(alice),
                       json={"workflow": workflow}).json["status"] == "succeeded"
    saved = client.post("/api/v1/saved-workflows/alice-flow", headers=auth(alice),
                        json={"workflow": jsonl(op("n", "Calculate", expression="2",
                                                   outputPath="/workflow/n"))})
    assert saved.status_code in (200, 201), saved.json
    return alice, bob


def test_another_agent_gets_404_for_each_resource(client, two_agents):
    alice, bob = two_agents
    for method, path in [
        ("GET", "/api/v1/executions/alice-run"),
        ("GET", "/api/v1/saved-workflows/alice-flow"),
        ("DELETE", "/api/v1/saved-workflows/alice-flow"),
        ("POST", "/api/v1/saved-workflows/alice-flow/execute"),
        ("GET", "/api/v1/store/secret-number"),
        ("DELETE", "/api/v1/store/secret-number"),
    ]:
        kwargs = {"json": {}} if method == "POST" else {}
        response = client.open(path, method=method, headers=auth(bob), **kwargs)
        assert response.status_code == 404, (method, path, response.json)
    # ...and nothing of A's was touched or listed
    assert client.get("/api/v1/saved-workflows/alice-flow", headers=auth(alice)).status_code == 200
    assert client.get("/api/v1/store/secret-number", headers=auth(alice)).status_code == 200
    assert client.get("/api/v1/executions", headers=auth(bob)).json["items"] == []
    listed = client.get("/api/v1/store", headers=auth(bob)).json
    assert "secret-number" not in str(listed)
    runs_of_a = client.get("/api/v1/executions", headers=auth(alice)).json["items"]
    assert [run["execution_id"] for run in runs_of_a] == ["alice-run"]


def test_reading_another_agents_stored_value_in_a_workflow_fails(client, two_agents):
    _, bob = two_agents
    workflow = jsonl(op("peek", "Calculate", inputPath="/store/secret-number", operation="round",
                        outputPath="/workflow/x"))
    body = client.post("/api/v1/workflows/execute", headers=auth(bob),
                       json={"workflow": workflow}).json
    assert body["status"] == "failed" and body["error"]["type"] == "DataError"


def test_a_slow_api_call_is_bounded_by_the_run_deadline(settings_factory, make_agent,
                                                        held_upstream):
    slow = held_upstream("/slow")  # answers only once the test has seen the run end
    app = create_app(settings_factory(execution={"run_deadline_s": 1.5},
                                      retry={"max_retries": 0}))
    key = make_agent("patient")
    workflow = jsonl(op("call", "ApiCall", method="GET", url=slow.url,
                        timeout=120_000, outputPath="/workflow/x"))
    body = app.test_client().post("/api/v1/workflows/execute", headers=auth(key),
                                  json={"workflow": workflow}).json
    assert slow.answered == 0  # the run deadline ended it, not the upstream or the timeout
    assert body["status"] == "failed"
    assert body["error"]["type"] == "TimeoutError"
    app.extensions["a2e"].db.dispose()


def test_admin_sees_saved_workflows_of_every_agent(client, two_agents, make_agent):
    admin = make_agent("root", admin=True)
    listed = client.get("/api/v1/admin/saved-workflows?agent=alice", headers=auth(admin)).json
    assert [(i["agent"], i["name"], i["version"]) for i in listed["items"]] == [("alice", "alice-flow", 1)]
    assert "Calculate" in listed["items"][0]["workflow"]
    assert client.get("/api/v1/admin/saved-workflows?agent=bob", headers=auth(admin)).json["items"] == []
    assert client.get("/api/v1/admin/saved-workflows?agent=nobody", headers=auth(admin)).status_code == 404
    _, bob = two_agents
    assert client.get("/api/v1/admin/saved-workflows", headers=auth(bob)).status_code == 403
