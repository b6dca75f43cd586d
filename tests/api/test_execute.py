"""The protocol's endpoints through HTTP, with a real local server for every ApiCall."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from a2e.store.models import Run, RunStep
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

PEOPLE = [{"name": "Alice", "points": 100}, {"name": "Bob", "points": 200},
          {"name": "Carol", "points": 150}]


@pytest.fixture
def agent(make_agent):
    return make_agent("alice")


def execute(client, key, workflow, **extra):
    return client.post("/api/v1/workflows/execute", headers=auth(key),
                       json={"workflow": workflow, **extra})


def fetch_and(op_type: str, url: str, **config):
    return jsonl(
        op("fetch", "ApiCall", method="GET", url=url, outputPath="/workflow/data"),
        op("work", op_type, inputPath="/workflow/data", outputPath="/workflow/out", **config),
    )


def test_filter_over_a_real_api(client, agent, httpserver):
    httpserver.expect_request("/people").respond_with_json(PEOPLE)
    workflow = fetch_and("FilterData", httpserver.url_for("/people"),
                         conditions=[{"field": "points", "operator": ">", "value": 150}])
    response = execute(client, agent, workflow)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "succeeded"
    assert body["results"]["work"] == [{"name": "Bob", "points": 200}]
    assert body["results"]["fetch"] == PEOPLE
    assert [step["operationId"] for step in body["steps"]] == ["fetch", "work"]
    assert set(body) >= {"execution_id", "status", "results", "steps", "duration_ms"}


@pytest.mark.parametrize(
    ("data", "conditions", "expected"),
    [
        ([{"user": {"age": 17}}, {"user": {"age": 30}}],
         [{"field": "user.age", "operator": ">=", "value": 18}], [{"user": {"age": 30}}]),
        ([{"c": "red"}, {"c": "blue"}], [{"field": "c", "operator": "in", "value": ["red"]}],
         [{"c": "red"}]),
        ([{"t": "hello world"}, {"t": "bye"}],
         [{"field": "t", "operator": "contains", "value": "world"}], [{"t": "hello world"}]),
        ([{"n": "Alice"}, {"n": "Bob"}], [{"field": "n", "operator": "startsWith", "value": "A"}],
         [{"n": "Alice"}]),
        ([{"e": 1}, {"x": 2}], [{"field": "e", "operator": "exists"}], [{"e": 1}]),
    ],
)
def test_filter_operators(client, agent, httpserver, data, conditions, expected):
    httpserver.expect_request("/d").respond_with_json(data)
    body = execute(client, agent, fetch_and("FilterData", httpserver.url_for("/d"),
                                            conditions=conditions)).json
    assert body["results"]["work"] == expected


def test_transform_and_merge(client, agent, httpserver):
    httpserver.expect_request("/d").respond_with_json(
        [{"k": "a", "v": 10}, {"k": "b", "v": 20}, {"k": "a", "v": 30}])
    httpserver.expect_request("/x").respond_with_json([1, 2, 3])
    httpserver.expect_request("/y").respond_with_json([4, 5, 6])
    workflow = jsonl(
        op("fetch", "ApiCall", method="GET", url=httpserver.url_for("/d"), outputPath="/workflow/d"),
        op("sorted", "TransformData", inputPath="/workflow/d", transform="sort",
           config={"field": "v", "order": "desc"}, outputPath="/workflow/sorted"),
        op("grouped", "TransformData", inputPath="/workflow/d", transform="group",
           config={"field": "k"}, outputPath="/workflow/grouped"),
        op("x", "ApiCall", method="GET", url=httpserver.url_for("/x"), outputPath="/workflow/x"),
        op("y", "ApiCall", method="GET", url=httpserver.url_for("/y"), outputPath="/workflow/y"),
        op("merged", "MergeData", sources=["/workflow/x", "/workflow/y"], strategy="concat",
           outputPath="/workflow/merged"),
    )
    body = execute(client, agent, workflow).json
    assert [item["v"] for item in body["results"]["sorted"]] == [30, 20, 10]
    assert set(body["results"]["grouped"]) == {"a", "b"}
    assert body["results"]["merged"] == [1, 2, 3, 4, 5, 6]


def test_url_template_conditional_and_loop(client, agent, httpserver):
    httpserver.expect_request("/user").respond_with_json({"id": 7, "vip": True})
    httpserver.expect_request("/users/7").respond_with_json({"orders": [1, 2, 3]})
    for n in (1, 2, 3):
        httpserver.expect_request(f"/orders/{n}").respond_with_json({"order": n})
    workflow = jsonl(
        op("user", "ApiCall", method="GET", url=httpserver.url_for("/user"), outputPath="/workflow/user"),
        op("detail", "ApiCall", method="GET", url=httpserver.url_for("/users") + "/{/workflow/user/id}",
           outputPath="/workflow/detail"),
        op("branch", "Conditional", condition={"path": "/workflow/user/vip", "operator": "==", "value": True},
           ifTrue=["each"], ifFalse=["never"]),
        op("each", "Loop", inputPath="/workflow/detail/orders", operations=["order"],
           outputPath="/workflow/orders"),
        op("order", "ApiCall", method="GET", url=httpserver.url_for("/orders") + "/{/loop/item}",
           outputPath="/workflow/current"),
        op("never", "Wait", duration=1),
        order=["user", "detail", "branch"],
    )
    response = execute(client, agent, workflow)
    body = response.json
    assert body["status"] == "succeeded", body
    assert body["results"]["detail"] == {"orders": [1, 2, 3]}
    assert body["results"]["each"] == [{"order": 1}, {"order": 2}, {"order": 3}]
    assert "never" not in body["results"]
    loop_steps = [s for s in body["steps"] if s["operationId"] == "order"]
    assert [s["iteration"] for s in loop_steps] == [0, 1, 2]
    assert len([r for r, _ in httpserver.log if r.path.startswith("/orders/")]) == 3


def test_store_data_then_read_it_in_a_later_run(client, agent):
    first = jsonl(
        op("calc", "Calculate", expression="6 * 7", outputPath="/workflow/answer"),
        op("keep", "StoreData", inputPath="/workflow/answer", storage="db", key="answer"),
    )
    assert execute(client, agent, first).json["status"] == "succeeded"
    second = jsonl(op("calc", "Calculate", inputPath="/store/answer", operation="round",
                      outputPath="/workflow/out"))
    assert execute(client, agent, second).json["results"]["calc"] == 42


def test_unknown_type_is_refused_before_anything_runs(client, agent, db):
    workflow = jsonl(op("a", "Teleport", outputPath="/workflow/x"))
    response = execute(client, agent, workflow)
    assert response.status_code == 400
    body = response.json
    assert body["valid"] is False
    assert body["errors"][0]["line"] == 1 and body["errors"][0]["operationId"] == "a"
    assert body["errors"][0]["suggestion"]
    with db.session() as session:
        assert session.scalar(select(Run.id)) is None


def test_a_cycle_is_reported(client, agent):
    workflow = jsonl(
        op("loop", "Loop", inputPath="/workflow/items", operations=["loop"]),
        order=["loop"],
    )
    body = client.post("/api/v1/workflows/validate", headers=auth(agent),
                       json={"workflow": workflow}).json
    assert body["valid"] is False
    assert any("cycle" in error["message"].lower() or "itself" in error["message"]
               for error in body["errors"])


def test_api_500_fails_the_run_and_keeps_earlier_results(client, agent, httpserver, db):
    httpserver.expect_request("/ok").respond_with_json({"fine": True})
    httpserver.expect_request("/boom").respond_with_data("no", status=500)
    workflow = jsonl(
        op("ok", "ApiCall", method="GET", url=httpserver.url_for("/ok"), outputPath="/workflow/ok"),
        op("boom", "ApiCall", method="GET", url=httpserver.url_for("/boom"), outputPath="/workflow/b"),
        execution_id="will-fail",
    )
    response = execute(client, agent, workflow)
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "failed"
    assert body["error"]["type"] == "ExecutionError"
    assert body["error"]["operationId"] == "boom"
    assert body["error"]["details"]["statusCode"] == 500
    assert body["results"] == {"ok": {"fine": True}}
    record = client.get("/api/v1/executions/will-fail", headers=auth(agent)).json
    assert record["status"] == "failed" and record["error"]["operationId"] == "boom"
    assert [(s["operationId"], s["status"]) for s in record["steps"]] == [
        ("ok", "succeeded"), ("boom", "failed")]
    with db.session() as session:
        rows = session.execute(text(
            "SELECT s.operation_id, s.status FROM run_steps s JOIN runs r ON r.id = s.run_id "
            "WHERE r.execution_id = 'will-fail' ORDER BY s.position")).all()
    assert [tuple(row) for row in rows] == [("ok", "succeeded"), ("boom", "failed")]


def test_unlisted_host_is_a_permission_error(client, agent):
    workflow = jsonl(op("x", "ApiCall", method="GET", url="https://api.example.com/x",
                        outputPath="/workflow/x"))
    response = execute(client, agent, workflow)
    assert response.status_code == 403
    assert response.json["error"]["type"] == "PermissionError"
    assert response.json["errors"][0]["type"] == "PermissionError"


def test_validate_false_still_checks_permissions(client, make_agent):
    key = make_agent("limited", ops=["Calculate"])
    workflow = jsonl(op("w", "Wait", duration=1))
    response = execute(client, key, workflow, validate=False)
    assert response.status_code == 403


def test_validate_false_still_checks_each_config_as_it_runs(client, agent):
    workflow = jsonl(op("w", "Wait", duration="soon"))
    response = execute(client, agent, workflow, validate=False)
    assert response.status_code == 200  # the run started; its step refused the config
    assert response.json["status"] == "failed"
    assert response.json["error"]["type"] == "ValidationError"


def test_a_refused_execute_lists_the_data_flow_warnings_too(client, agent):
    workflow = jsonl(
        op("f", "FilterData", inputPath="/workflow/never-written", conditions=[],
           outputPath="/workflow/o"),
        op("w", "Wait", duration="soon"),
    )
    response = execute(client, agent, workflow)
    assert response.status_code == 400
    assert any("never-written" in json.dumps(w) for w in response.json["warnings"])


def test_duplicate_execution_id_is_409_naming_the_run(client, agent):
    workflow = jsonl(op("c", "Calculate", expression="1 + 1", outputPath="/workflow/c"),
                     execution_id="once")
    first = execute(client, agent, workflow)
    assert first.status_code == 200
    again = execute(client, agent, workflow)
    assert again.status_code == 409
    assert again.json["error"]["details"]["executionId"] == "once"
    assert again.json["error"]["details"]["existingRunId"]


def test_agents_see_only_their_own_runs(client, make_agent):
    alice, bob = make_agent("alice"), make_agent("bob")
    workflow = jsonl(op("c", "Calculate", expression="1 + 1", outputPath="/workflow/c"),
                     execution_id="mine")
    assert execute(client, alice, workflow).status_code == 200
    assert client.get("/api/v1/executions/mine", headers=auth(bob)).status_code == 404
    assert client.get("/api/v1/executions", headers=auth(bob)).json["items"] == []
    listed = client.get("/api/v1/executions", headers=auth(alice)).json["items"]
    assert [item["execution_id"] for item in listed] == ["mine"]
    # bob may reuse the id: execution ids are unique per agent
    assert execute(client, bob, workflow).status_code == 200


def test_listing_pages_newest_first_and_rejects_bad_limits(client, agent):
    for n in range(5):
        execute(client, agent, jsonl(op("c", "Calculate", expression="1", outputPath="/workflow/c"),
                                     execution_id=f"run-{n}"))
    first = client.get("/api/v1/executions?limit=2", headers=auth(agent)).json
    assert [i["execution_id"] for i in first["items"]] == ["run-4", "run-3"]
    second = client.get(f"/api/v1/executions?limit=2&cursor={first['next_cursor']}",
                        headers=auth(agent)).json
    assert [i["execution_id"] for i in second["items"]] == ["run-2", "run-1"]
    failed = client.get("/api/v1/executions?status=failed", headers=auth(agent)).json
    assert failed["items"] == []
    for bad in ("limit=-5", "limit=abc", "limit=5000", "limit=0", "cursor=%%%", "status=weird"):
        response = client.get(f"/api/v1/executions?{bad}", headers=auth(agent))
        assert response.status_code == 400, bad
        assert response.json["error"]["type"] == "ValidationError"


def test_malformed_bodies_are_400_with_field_errors(client, agent):
    for body in ({}, {"workflow": 5}, {"workflow": "x", "validate": "maybe"}):
        response = client.post("/api/v1/workflows/execute", headers=auth(agent), json=body)
        assert response.status_code == 400
        assert "fields" in response.json["error"]["details"]
    bad_json = execute(client, agent, "{not json")
    assert bad_json.status_code == 400 and bad_json.json["valid"] is False
    assert bad_json.json["errors"][0]["line"] == 1


def test_workflow_as_a_list_of_messages(client, agent):
    messages = [json.loads(line) for line in
                jsonl(op("c", "Calculate", expression="2 + 3", outputPath="/workflow/c")).splitlines()]
    body = execute(client, agent, messages).json
    assert body["results"] == {"c": 5}


def test_dialects_a_and_b_give_the_same_results(client, agent, httpserver):
    httpserver.expect_request("/people").respond_with_json(PEOPLE)
    url = httpserver.url_for("/people")
    fetch = {"ApiCall": {"method": "GET", "url": url, "outputPath": "/workflow/people"}}
    keep = {"FilterData": {"inputPath": "/workflow/people", "outputPath": "/workflow/rich",
                           "conditions": [{"field": "points", "operator": ">=", "value": 150}]}}
    dialect_a = jsonl(op("fetch", "ApiCall", **fetch["ApiCall"]),
                      op("keep", "FilterData", **keep["FilterData"]))
    dialect_b = "\n".join([
        json.dumps({"operationUpdate": {"workflowId": "wf", "operations": [
            {"id": "fetch", "operation": fetch}, {"id": "keep", "operation": keep}]}}),
        json.dumps({"beginExecution": {"workflowId": "wf", "root": "fetch"}}),
    ])
    a = execute(client, agent, dialect_a).json
    b = execute(client, agent, dialect_b).json
    assert a["results"] == b["results"] and a["results"]["keep"][0]["name"] == "Bob"


def test_runs_survive_a_restart_and_are_plain_sql(settings, agent):
    from a2e.api import create_app

    workflow = jsonl(op("c", "Calculate", expression="2 * 21", outputPath="/workflow/c"),
                     execution_id="durable")
    first_app = create_app(settings)
    assert execute(first_app.test_client(), agent, workflow).status_code == 200
    first_app.extensions["a2e"].db.dispose()
    second_app = create_app(settings)
    record = second_app.test_client().get("/api/v1/executions/durable", headers=auth(agent)).json
    assert record["results"] == {"c": 42} and record["status"] == "succeeded"
    with second_app.extensions["a2e"].db.session() as session:
        assert session.scalar(select(RunStep.result).join(Run).where(Run.execution_id == "durable")) == 42
    second_app.extensions["a2e"].db.dispose()


def test_admin_reads_runs_of_any_agent(client, make_agent):
    alice, bob = make_agent("alice"), make_agent("bob")
    admin = make_agent("root", admin=True)
    for key, name in ((alice, "a-1"), (bob, "b-1")):
        execute(client, key, jsonl(op("c", "Calculate", expression="1", outputPath="/workflow/c"),
                                   execution_id=name))
    everything = client.get("/api/v1/admin/runs", headers=auth(admin)).json["items"]
    assert {item["execution_id"] for item in everything} == {"a-1", "b-1"}
    only_bob = client.get("/api/v1/admin/runs?agent=bob", headers=auth(admin)).json["items"]
    assert [item["execution_id"] for item in only_bob] == ["b-1"]
    by_id = client.get("/api/v1/admin/runs?execution_id=a-1&status=succeeded",
                       headers=auth(admin)).json["items"]
    assert [item["agent_id"] for item in by_id] == [alice.agent_id]
    detail = client.get(f"/api/v1/admin/runs/{by_id[0]['run_id']}", headers=auth(admin))
    assert detail.status_code == 200 and detail.json["results"] == {"c": 1}
    assert client.get("/api/v1/admin/runs/999999", headers=auth(admin)).status_code == 404
    assert client.get("/api/v1/admin/runs?agent=nobody", headers=auth(admin)).status_code == 404
