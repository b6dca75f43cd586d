"""The SQL result cache through the execute endpoint, a real local server and a FakeClock."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from werkzeug import Response

from a2e.store.models import AuditEvent, CacheEntry, RunStep
from tests.cache.conftest import get_op, jsonl, op
from tests.helpers import auth


@pytest.fixture
def agent(make_agent):
    return make_agent("alice")


def stats(client, key, path="/api/v1/cache/stats"):
    response = client.get(path, headers=auth(key))
    assert response.status_code == 200, response.json
    return response.json


def by_type(body):
    return {row["type"]: row for row in body["rows"]}


def test_a_repeated_get_reaches_the_server_once(client, agent, execute, httpserver, clock, db):
    httpserver.expect_request("/people").respond_with_json([{"name": "Ada"}])
    workflow = jsonl(get_op(httpserver.url_for("/people")))
    first = execute(agent, workflow)
    computed_at = clock.now()
    clock.advance(10)
    second = execute(agent, workflow)
    assert len(httpserver.log) == 1
    assert first["results"] == second["results"] == {"fetch": [{"name": "Ada"}]}
    assert first["steps"][0]["cached"] is False and first["steps"][0]["cached_at"] is None
    assert second["steps"][0]["cached"] is True
    assert second["steps"][0]["cached_at"] == computed_at.isoformat()
    with db.session() as session:
        recorded = session.scalars(select(RunStep).order_by(RunStep.id)).all()
    assert [(step.cached, step.cached_at) for step in recorded] == [(False, None), (True, computed_at)]
    counts = by_type(stats(client, agent))["ApiCall"]
    assert (counts["hits"], counts["misses"], counts["writes"], counts["entries"]) == (1, 1, 1, 1)


def test_a_restarted_server_still_hits(make_app, agent, execute, httpserver, settings):
    httpserver.expect_request("/v").respond_with_json({"v": 1})
    workflow = jsonl(get_op(httpserver.url_for("/v")))
    assert execute(agent, workflow)["steps"][0]["cached"] is False
    restarted = make_app(settings).test_client()  # a new app (process) on the same database
    assert execute(agent, workflow, restarted)["steps"][0]["cached"] is True
    assert len(httpserver.log) == 1


def test_an_expired_entry_is_a_miss_and_counted(client, agent, execute, httpserver, clock, db):
    httpserver.expect_request("/v").respond_with_json({"v": 1})
    workflow = jsonl(get_op(httpserver.url_for("/v")))
    execute(agent, workflow)
    clock.advance(299)
    assert execute(agent, workflow)["steps"][0]["cached"] is True
    clock.advance(2)  # 301 s after it was computed: ApiCall's TTL is 300 s
    assert execute(agent, workflow)["steps"][0]["cached"] is False
    assert len(httpserver.log) == 2
    counts = by_type(stats(client, agent))["ApiCall"]
    assert (counts["hits"], counts["misses"], counts["expirations"]) == (1, 2, 1)


def test_ttl_by_type_from_config(make_app, agent, execute, httpserver, clock):
    client = make_app(cache={"ttl_by_type": {"ApiCall": 5}}).test_client()
    httpserver.expect_request("/v").respond_with_json({"v": 1})
    workflow = jsonl(get_op(httpserver.url_for("/v")))
    execute(agent, workflow, client)
    clock.advance(6)
    assert execute(agent, workflow, client)["steps"][0]["cached"] is False


def test_lru_eviction_keeps_the_recently_used_and_the_newest(make_app, agent, execute, httpserver, clock):
    client = make_app(cache={"max_size": 3}).test_client()
    for name in "abcd":
        httpserver.expect_request(f"/{name}").respond_with_json(name)

    def fetch(name):
        clock.advance(2)
        return execute(agent, jsonl(get_op(httpserver.url_for(f"/{name}"))), client)["steps"][0]["cached"]

    assert [fetch("a"), fetch("b"), fetch("c"), fetch("a")] == [False, False, False, True]
    assert fetch("d") is False  # 4 entries > 3: b, the least recently used, goes
    assert [fetch("d"), fetch("a"), fetch("c"), fetch("b")] == [True, True, True, False]
    counts = by_type(stats(client, agent))["ApiCall"]
    assert counts["evictions"] == 2 and counts["entries"] == 3  # b's return evicted d


def test_lru_ties_go_oldest_first(make_app, agent, execute, httpserver, clock, db):
    client = make_app(cache={"max_size": 2}).test_client()
    for name in "abc":
        httpserver.expect_request(f"/{name}").respond_with_json(name)
    urls = {name: httpserver.url_for(f"/{name}") for name in "abc"}
    execute(agent, jsonl(get_op(urls["a"])), client)
    clock.advance(2)
    execute(agent, jsonl(get_op(urls["b"])), client)
    clock.advance(2)  # a and b used at the same moment: a is the older
    both = jsonl(get_op(urls["a"], "first"), get_op(urls["b"], "second"))
    assert [s["cached"] for s in execute(agent, both, client)["steps"]] == [True, True]
    clock.advance(2)
    execute(agent, jsonl(get_op(urls["c"])), client)
    with db.session() as session:
        kept = set(session.scalars(select(CacheEntry.value)))
    assert kept == {"b", "c"}


def test_filter_over_changed_input_is_a_miss(client, agent, execute, httpserver):
    first, changed = [{"n": 1}, {"n": 5}], [{"n": 7}]
    answers = iter([first, first, changed])
    httpserver.expect_request("/n").respond_with_handler(
        lambda request: Response(json.dumps(next(answers)), content_type="application/json"))
    workflow = jsonl(
        get_op(httpserver.url_for("/n"), "numbers", cache=False),
        op("big", "FilterData", inputPath="/workflow/numbers", outputPath="/workflow/big",
           conditions=[{"field": "n", "operator": ">", "value": 4}]),
    )
    runs = [execute(agent, workflow) for _ in range(3)]
    assert [run["steps"][1]["cached"] for run in runs] == [False, True, False]
    assert [run["results"]["big"] for run in runs] == [[{"n": 5}], [{"n": 5}], [{"n": 7}]]
    assert len(httpserver.log) == 3


def test_agent_b_never_gets_agent_a_result(agent, make_agent, execute, httpserver):
    other = make_agent("bob")
    httpserver.expect_request("/v").respond_with_json({"v": 1})
    workflow = jsonl(get_op(httpserver.url_for("/v")))
    execute(agent, workflow)
    assert execute(other, workflow)["steps"][0]["cached"] is False
    assert len(httpserver.log) == 2


def test_post_is_not_cached_unless_asked(agent, execute, httpserver):
    httpserver.expect_request("/p", method="POST").respond_with_json({"ok": True})
    url = httpserver.url_for("/p")
    plain = jsonl(op("send", "ApiCall", method="POST", url=url, body={"a": 1}, outputPath="/workflow/r"))
    opted = jsonl(op("send", "ApiCall", method="POST", url=url, body={"a": 1}, outputPath="/workflow/r", cache=True))
    assert [execute(agent, plain)["steps"][0]["cached"] for _ in range(2)] == [False, False]
    assert [execute(agent, opted)["steps"][0]["cached"] for _ in range(2)] == [False, True]
    assert len(httpserver.log) == 3


def populate(agent, execute, httpserver):
    httpserver.expect_request("/n").respond_with_json([3, 4])
    workflow = jsonl(
        get_op(httpserver.url_for("/n"), "numbers"),
        op("sorted", "TransformData", inputPath="/workflow/numbers", outputPath="/workflow/s",
           transform="sort", config={"order": "desc"}),
    )
    execute(agent, workflow)
    return workflow


def test_admin_invalidation_by_type_removes_only_that_type(client, agent, make_agent, execute,
                                                            httpserver, db):
    admin = make_agent("root", admin=True)
    workflow = populate(agent, execute, httpserver)
    response = client.delete("/api/v1/admin/cache?type=TransformData", headers=auth(admin))
    assert response.status_code == 200, response.json
    assert response.json == {"removed": 1, "filters": {"type": "TransformData"}}
    assert [s["cached"] for s in execute(agent, workflow)["steps"]] == [True, False]
    with db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "cache.invalidated")).one()
    assert event.details == {"type": "TransformData", "removed": 1}
    admin_stats = stats(client, admin, "/api/v1/admin/cache/stats")
    assert by_type(admin_stats)["TransformData"]["invalidations"] == 1
    assert admin_stats["rows"][0]["agent"] == "alice"


def test_admin_invalidation_by_agent_and_all(client, agent, make_agent, execute, httpserver):
    admin, other = make_agent("root", admin=True), make_agent("bob")
    populate(agent, execute, httpserver)
    populate(other, execute, httpserver)
    assert client.delete("/api/v1/admin/cache?agent=bob", headers=auth(admin)).json["removed"] == 2
    assert client.delete("/api/v1/admin/cache?agent=nobody", headers=auth(admin)).status_code == 404
    assert client.delete("/api/v1/admin/cache", headers=auth(agent)).status_code == 403
    assert client.delete("/api/v1/admin/cache", headers=auth(admin)).json["removed"] == 2


def test_an_agent_clears_only_its_own_entries(client, agent, make_agent, execute, httpserver):
    other = make_agent("bob")
    populate(agent, execute, httpserver)
    populate(other, execute, httpserver)
    response = client.delete("/api/v1/cache?type=ApiCall", headers=auth(agent))
    assert response.json["removed"] == 1
    assert client.delete("/api/v1/cache", headers=auth(agent)).json["removed"] == 1
    assert stats(client, agent)["totals"]["entries"] == 0
    assert stats(client, other)["totals"]["entries"] == 2
    assert client.delete("/api/v1/cache?key=xyz", headers=auth(agent)).status_code == 400


def test_disabled_cache_is_not_used(make_app, agent, execute, httpserver):
    client = make_app(cache={"enabled": False}).test_client()
    httpserver.expect_request("/v").respond_with_json({"v": 1})
    workflow = jsonl(get_op(httpserver.url_for("/v")))
    assert [execute(agent, workflow, client)["steps"][0]["cached"] for _ in range(2)] == [False, False]
