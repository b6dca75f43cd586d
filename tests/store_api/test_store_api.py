"""The store API over values StoreData wrote: each agent sees only its own."""

from __future__ import annotations

import pytest

from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth


def store(client, key, store_key: str, value) -> None:
    workflow = jsonl(
        op("make", "FormatText", template=str(value), outputPath="/workflow/v"),
        op("keep", "StoreData", inputPath="/workflow/v", storage="db", key=store_key),
    )
    response = client.post("/api/v1/workflows/execute", headers=auth(key), json={"workflow": workflow})
    assert response.status_code == 200 and response.json["status"] == "succeeded", response.json


@pytest.fixture
def agents(client, make_agent):
    alice, bob = make_agent("alice"), make_agent("bob")
    store(client, alice, "colour", "blue")
    store(client, alice, "size", "large")
    store(client, bob, "colour", "red")
    return alice, bob


def test_list_read_and_delete_own_values(client, agents):
    alice, bob = agents
    listed = client.get("/api/v1/store", headers=auth(alice)).json
    assert [item["key"] for item in listed["items"]] == ["colour", "size"]
    assert "value" not in listed["items"][0] and listed["next_cursor"] is None
    value = client.get("/api/v1/store/colour", headers=auth(alice)).json
    assert (value["key"], value["value"], value["storage"]) == ("colour", "blue", "db")
    assert client.delete("/api/v1/store/colour", headers=auth(alice)).status_code == 204
    assert client.get("/api/v1/store/colour", headers=auth(alice)).status_code == 404
    assert client.delete("/api/v1/store/colour", headers=auth(alice)).status_code == 404
    assert client.get("/api/v1/store/colour", headers=auth(bob)).json["value"] == "red"


def test_another_agents_key_is_a_404(client, agents):
    alice, bob = agents
    assert client.get("/api/v1/store/size", headers=auth(bob)).status_code == 404
    assert client.delete("/api/v1/store/size", headers=auth(bob)).status_code == 404
    assert [item["key"] for item in client.get("/api/v1/store", headers=auth(bob)).json["items"]] == ["colour"]
    assert client.get("/api/v1/store/size", headers=auth(alice)).json["value"] == "large"


def test_pages_by_key(client, agents):
    alice, _ = agents
    store(client, alice, "weight", "10")
    first = client.get("/api/v1/store?limit=2", headers=auth(alice)).json
    assert [item["key"] for item in first["items"]] == ["colour", "size"]
    second = client.get(f"/api/v1/store?limit=2&cursor={first['next_cursor']}", headers=auth(alice)).json
    assert [item["key"] for item in second["items"]] == ["weight"] and second["next_cursor"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=5000", "limit=abc", "cursor=a%00b"])
def test_bad_paging_is_a_400(client, agents, query):
    assert client.get(f"/api/v1/store?{query}", headers=auth(agents[0])).status_code == 400


def test_a_deleted_value_is_gone_for_later_runs(client, agents):
    alice, _ = agents
    workflow = jsonl(op("read", "FormatText", inputPath="/store/size", template="size",
                        outputPath="/workflow/x"))

    def run():
        return client.post("/api/v1/workflows/execute", headers=auth(alice),
                           json={"workflow": workflow}).json

    assert run()["status"] == "succeeded"
    assert client.delete("/api/v1/store/size", headers=auth(alice)).status_code == 204
    failed = run()
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "DataError" and "/store/size" in failed["error"]["message"]
