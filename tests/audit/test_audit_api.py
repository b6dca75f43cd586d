"""The admin audit endpoint, and the events the API leaves behind."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from a2e.audit import AuditLog
from a2e.audit.chain import timestamp
from a2e.store.base import utcnow
from a2e.store.models import AuditEvent
from tests.helpers import auth, verify_sealed

AUDIT = "/api/v1/admin/audit"


@pytest.fixture
def admin(make_agent):
    return make_agent("root", admin=True)


def test_the_endpoint_needs_an_admin_key(client, make_agent, admin):
    agent = make_agent("plain")
    assert client.get(AUDIT).status_code == 401
    assert client.get(AUDIT, headers=auth(agent)).status_code == 403
    response = client.get(AUDIT, headers=auth(admin))
    assert response.status_code == 200
    assert set(response.get_json()) == {"items", "next_cursor"}


def test_a_mix_of_requests_is_recorded_and_the_chain_verifies(client, db, admin):
    headers = auth(admin)
    created = client.post("/api/v1/admin/agents", json={"name": "bot"}, headers=headers).get_json()
    client.patch("/api/v1/admin/agents/bot", json={"allowed_hosts": ["api.example.com"]}, headers=headers)
    key = client.post("/api/v1/admin/agents/bot/keys", headers=headers).get_json()["api_key"]
    prefix = key.split("_")[1]
    assert client.delete(f"/api/v1/admin/agents/bot/keys/{prefix}", headers=headers).status_code == 204
    client.patch("/api/v1/admin/agents/bot", json={"disabled": True}, headers=headers)
    client.get("/api/v1/capabilities", headers={"X-API-Key": "a2e_000000000000_nope"})
    client.get("/api/v1/capabilities", headers=auth(created["api_key"]))  # disabled by now

    items = client.get(AUDIT, headers=headers).get_json()["items"]
    actions = [item["action"] for item in reversed(items)]
    assert actions == ["agent.created", "agent.updated", "key.created", "key.revoked",
                       "agent.disabled", "auth.failed"]
    by_action = {item["action"]: item for item in items}
    assert by_action["agent.created"]["actor"] == "admin:root"
    assert by_action["agent.created"]["agent"] == "bot"
    assert by_action["agent.created"]["request_id"]
    assert by_action["key.revoked"]["details"] == {"prefix": prefix}
    assert by_action["auth.failed"]["details"] == {"reason": "invalid key", "count": 1}
    assert by_action["auth.failed"]["client_ip"] == "127.0.0.1"
    dumped = json.dumps(items)
    assert key not in dumped and created["api_key"] not in dumped
    assert verify_sealed(db).ok


def test_auth_failures_from_one_address_are_recorded_once_a_minute_with_a_count(
    app, client, db, admin
):
    db_now = utcnow()
    now = [db_now]
    app.extensions["a2e"].services.audit = AuditLog(db, now=lambda: now[0])
    for _ in range(3):
        assert client.get("/api/v1/capabilities").status_code == 401
    now[0] = db_now + timedelta(seconds=30)
    client.get("/api/v1/capabilities", headers={"X-API-Key": "wrong"})
    now[0] = db_now + timedelta(seconds=61)
    client.get("/api/v1/capabilities", headers={"X-API-Key": "wrong"})
    items = client.get(AUDIT, headers=auth(admin), query_string={"action": "auth.failed"}).get_json()["items"]
    assert [item["details"]["count"] for item in reversed(items)] == [1, 4]


def test_json_pages_newest_first_with_a_cursor(client, admin, app, db):
    log = app.extensions["a2e"].services.audit
    for n in range(5):
        log.append(action="workflow.saved", outcome="success", actor="cli", agent_id=admin.agent_id,
                   target=f"wf-{n}", request_id=None, client_ip=None, details={})
    seen, cursor = [], None
    while True:
        query = {"limit": 2, "action": "workflow.saved"} | ({"cursor": cursor} if cursor else {})
        body = client.get(AUDIT, headers=auth(admin), query_string=query).get_json()
        seen += [item["target"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"wf-{n}" for n in reversed(range(5))]


@pytest.mark.parametrize("query, status", [
    ({"limit": 0}, 400), ({"limit": 5000}, 400), ({"limit": "abc"}, 400),
    ({"cursor": "nonsense"}, 400), ({"since": "yesterday"}, 400), ({"format": "xml"}, 400),
    ({"agent": "nobody"}, 404),
])
def test_bad_queries_are_4xx(client, admin, query, status):
    response = client.get(AUDIT, headers=auth(admin), query_string=query)
    assert response.status_code == status
    assert "error" in response.get_json()


def test_csv_export_by_agent_and_time_range_holds_exactly_those_rows(
    client, db, make_agent, admin
):
    agents = [make_agent("alpha"), make_agent("beta")]
    start = utcnow() - timedelta(hours=10)
    clock = [start]
    log = AuditLog(db, now=lambda: clock[0])
    for n in range(20):
        log.append(action="run.finished", outcome="success" if n % 3 else "failure", actor=None,
                   agent_id=agents[n % 2].agent_id, target=f"run:{n}", request_id=None,
                   client_ip=None, details={"n": n})
        clock[0] += timedelta(minutes=17)
    since, until = start + timedelta(hours=1), start + timedelta(hours=4)
    response = client.get(AUDIT, headers=auth(admin), query_string={
        "format": "csv", "agent": "alpha", "since": timestamp(since), "until": timestamp(until)})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    exported = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    with db.session() as session:
        expected = session.scalars(select(AuditEvent.id).where(
            AuditEvent.agent_id == agents[0].agent_id, AuditEvent.ts >= since,
            AuditEvent.ts < until).order_by(AuditEvent.id)).all()
    assert 0 < len(expected) < 10
    assert [int(row["id"]) for row in exported] == list(expected)
    assert {row["agent"] for row in exported} == {"alpha"}
    assert json.loads(exported[0]["details"])["n"] % 2 == 0


def test_jsonl_export_streams_every_match_oldest_first(client, admin, app):
    log = app.extensions["a2e"].services.audit
    for n in range(3):
        log.append(action="cache.invalidated", outcome="success", actor="admin:root",
                   agent_id=None, target=None, request_id=None, client_ip=None, details={"n": n})
    response = client.get(AUDIT, headers=auth(admin),
                          query_string={"format": "jsonl", "action": "cache.invalidated"})
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [line["details"]["n"] for line in lines] == [0, 1, 2]
