"""Saved workflows through HTTP: versions, reads, deletes, and runs by name."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from a2e.store.models import Run
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

BASE = "/api/v1/saved-workflows"


def greeting(text: str, execution_id: str | None = None) -> str:
    return jsonl(op("greet", "FormatText", template=text, outputPath="/workflow/greeting"),
                 execution_id=execution_id)


class AuditCapture:
    def __init__(self) -> None:
        self.events: list[dict] = []

    def append(self, **event) -> None:
        self.events.append(event)

    def add(self, conn, **event) -> None:
        """An event written in the transaction of its change: kept, not written."""
        self.events.append(event)

    def row(self, **event) -> None:
        """An event the run recorder writes in its own transaction: kept, not written."""
        self.events.append(event)


@pytest.fixture
def audit(app) -> AuditCapture:
    capture = AuditCapture()
    app.extensions["a2e"].services.audit = capture
    return capture


@pytest.fixture
def alice(make_agent):
    return make_agent("alice")


def save(client, key, name: str, workflow):
    return client.post(f"{BASE}/{name}", headers=auth(key), json={"workflow": workflow})


def test_saving_twice_gives_versions_1_and_2(client, alice, audit):
    first = save(client, alice, "greet", greeting("Hello"))
    second = save(client, alice, "greet", greeting("Hi"))
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json["version"], second.json["version"]) == (1, 2)
    latest = client.get(f"{BASE}/greet", headers=auth(alice))
    assert latest.json["version"] == 2 and '"Hi"' in latest.json["workflow"]
    older = client.get(f"{BASE}/greet?version=1", headers=auth(alice))
    assert older.json["version"] == 1 and '"Hello"' in older.json["workflow"]
    assert client.get(f"{BASE}/greet?version=3", headers=auth(alice)).status_code == 404
    assert [(e["action"], e["details"]) for e in audit.events] == [
        ("workflow.saved", {"name": "greet", "version": 1}),
        ("workflow.saved", {"name": "greet", "version": 2}),
    ]


def test_a_list_of_messages_is_saved_as_jsonl(client, alice):
    messages = [{"type": "operationUpdate", "operationId": "w", "operation": {"Wait": {"duration": 1}}},
                {"type": "beginExecution", "operationOrder": ["w"]}]
    assert save(client, alice, "wait", messages).status_code == 201
    text = client.get(f"{BASE}/wait", headers=auth(alice)).json["workflow"]
    assert len(text.splitlines()) == 2


@pytest.mark.parametrize("name, workflow, status", [
    ("greet", "not json", 400),
    ("greet", '{"type":"beginExecution","operationOrder":["missing"]}', 400),
    ("greet", 42, 400),
    ("bad name!", "x", 400),
])
def test_what_does_not_parse_is_not_saved(client, alice, name, workflow, status):
    response = save(client, alice, name, workflow)
    assert response.status_code == status, response.json
    assert response.json["error"]["type"] == "ValidationError"
    assert client.get(f"{BASE}/greet", headers=auth(alice)).status_code == 404


def test_delete_removes_every_version(client, alice, audit):
    save(client, alice, "greet", greeting("Hello"))
    save(client, alice, "greet", greeting("Hi"))
    assert client.delete(f"{BASE}/greet", headers=auth(alice)).status_code == 204
    assert client.get(f"{BASE}/greet?version=1", headers=auth(alice)).status_code == 404
    assert client.delete(f"{BASE}/greet", headers=auth(alice)).status_code == 404
    assert audit.events[-1]["action"] == "workflow.deleted"
    assert audit.events[-1]["details"] == {"name": "greet", "versions": 2}


def test_workflows_are_private_to_their_agent(client, alice, make_agent):
    bob = make_agent("bob")
    save(client, alice, "greet", greeting("Hello"))
    assert client.get(f"{BASE}/greet", headers=auth(bob)).status_code == 404
    assert client.delete(f"{BASE}/greet", headers=auth(bob)).status_code == 404
    assert client.post(f"{BASE}/greet/execute", headers=auth(bob), json={}).status_code == 404
    assert save(client, bob, "greet", greeting("Bob's")).json["version"] == 1


def test_executing_by_name_twice_gives_two_runs(client, alice, db):
    # the saved text names an execution id: running by name still makes a fresh one each time
    save(client, alice, "greet", greeting("Hello", execution_id="fixed-id"))
    save(client, alice, "greet", greeting("Hello {/workflow/missing}"))
    save(client, alice, "greet", greeting("Hello again", execution_id="fixed-id"))
    runs = [client.post(f"{BASE}/greet/execute", headers=auth(alice), json={}) for _ in range(2)]
    assert [run.status_code for run in runs] == [200, 200]
    assert all(run.json["status"] == "succeeded" for run in runs), [run.json for run in runs]
    assert runs[0].json["results"] == {"greet": "Hello again"}
    ids = {run.json["execution_id"] for run in runs}
    assert len(ids) == 2 and "fixed-id" not in ids
    with db.session() as session:
        rows = session.execute(select(Run.execution_id, Run.saved_workflow_name,
                                      Run.saved_workflow_version)).all()
    assert sorted(rows) == sorted((execution_id, "greet", 3) for execution_id in ids)
    listed = client.get(f"/api/v1/executions/{runs[0].json['execution_id']}", headers=auth(alice))
    assert listed.json["saved_workflow"] == {"name": "greet", "version": 3}


def test_execute_takes_an_execution_id_and_a_version(client, alice, db):
    save(client, alice, "greet", greeting("Hello"))
    save(client, alice, "greet", greeting("Hi"))
    first = client.post(f"{BASE}/greet/execute", headers=auth(alice),
                        json={"executionId": "mine-1", "version": 1})
    assert first.status_code == 200, first.json
    assert first.json["execution_id"] == "mine-1"
    assert first.json["results"] == {"greet": "Hello"}
    again = client.post(f"{BASE}/greet/execute", headers=auth(alice), json={"executionId": "mine-1"})
    assert again.status_code == 409
    bad = client.post(f"{BASE}/greet/execute", headers=auth(alice), json={"executionId": "no spaces"})
    assert bad.status_code == 400
    with db.session() as session:
        assert session.scalar(select(Run.saved_workflow_version)) == 1


def test_a_saved_workflow_is_checked_against_permissions_when_run(client, make_agent):
    limited = make_agent("limited", ops=["Wait"])
    assert save(client, limited, "greet", greeting("Hello")).status_code == 201
    refused = client.post(f"{BASE}/greet/execute", headers=auth(limited), json={})
    assert refused.status_code == 403
    assert refused.json["error"]["type"] == "PermissionError"


def test_description_is_saved_with_the_version_and_listed(client, alice, make_agent):
    assert client.post(f"{BASE}/b-flow", headers=auth(alice), json={
        "workflow": greeting("v1"), "description": "Greets once"}).json["description"] == "Greets once"
    client.post(f"{BASE}/b-flow", headers=auth(alice), json={
        "workflow": greeting("v2"), "description": "Greets twice"})
    client.post(f"{BASE}/a-flow", headers=auth(alice), json={"workflow": greeting("a")})
    client.post(f"{BASE}/c-flow", headers=auth(alice), json={"workflow": greeting("c"), "description": "C"})
    bob = make_agent("bob")
    client.post(f"{BASE}/bobs", headers=auth(bob), json={"workflow": greeting("bob")})

    first = client.get(f"{BASE}?limit=2", headers=auth(alice)).json
    assert [(i["name"], i["version"], i["description"]) for i in first["items"]] == [
        ("a-flow", 1, None), ("b-flow", 2, "Greets twice")]
    rest = client.get(f"{BASE}?limit=2&cursor={first['next_cursor']}", headers=auth(alice)).json
    assert [(i["name"], i["description"]) for i in rest["items"]] == [("c-flow", "C")]
    assert rest["next_cursor"] is None
    assert client.get(f"{BASE}/b-flow?version=1", headers=auth(alice)).json["description"] == "Greets once"
    assert [i["name"] for i in client.get(BASE, headers=auth(bob)).json["items"]] == ["bobs"]


@pytest.mark.parametrize("query", ["cursor=has%20space", "cursor=a%2Fb", "limit=0"])
def test_listing_refuses_a_bad_cursor_or_limit(client, alice, query):
    response = client.get(f"{BASE}?{query}", headers=auth(alice))
    assert response.status_code == 400, response.json


def test_a_description_over_2000_characters_is_a_400(client, alice):
    response = client.post(f"{BASE}/long", headers=auth(alice),
                           json={"workflow": greeting("x"), "description": "d" * 2001})
    assert response.status_code == 400
