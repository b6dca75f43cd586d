"""Asynchronous runs through the API with a real worker in this process: submit (202 +
Location), long-poll, cancel, webhooks; the database is SQLite or PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from werkzeug import Request, Response

from a2e.queue.webhooks import RETRY_DELAYS_S
from a2e.store.queries import queue as queue_queries
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

QUICK = jsonl(op("sum", "Calculate", expression="2 + 3", outputPath="/workflow/sum"))


def waiting(ms: int, execution_id: str | None = None) -> str:
    return jsonl(op("pause", "Wait", duration=ms),
                 op("sum", "Calculate", expression="1 + 1", outputPath="/workflow/sum"),
                 execution_id=execution_id)


def submit(client, key, workflow: str, **extra):
    return client.post("/api/v1/workflows/execute", headers=auth(key),
                       json={"workflow": workflow, "async": True, **extra})


def wait_for(client, key, execution_id: str, seconds: float = 30):
    return client.get(f"/api/v1/executions/{execution_id}?wait={seconds}", headers=auth(key))


def test_async_submit_answers_202_with_location_and_the_run_succeeds(queue_app, make_agent):
    client = queue_app().test_client()
    key = make_agent()
    response = submit(client, key, QUICK)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert response.headers["Location"] == f"/api/v1/executions/{body['execution_id']}"
    done = wait_for(client, key, body["execution_id"]).get_json()
    assert done["status"] == "succeeded"
    assert done["results"] == {"sum": 5}
    assert done["async"] is True and done["claims"] == 1


def test_prefer_respond_async_header_queues_too(queue_app, make_agent):
    client = queue_app().test_client()
    key = make_agent()
    response = client.post("/api/v1/workflows/execute",
                           headers={**auth(key), "Prefer": "respond-async"},
                           json={"workflow": QUICK})
    assert response.status_code == 202
    assert wait_for(client, key, response.get_json()["execution_id"]).get_json()["status"] == "succeeded"


def test_without_async_execute_is_unchanged(queue_app, make_agent):
    client = queue_app(threads=0).test_client()
    key = make_agent()
    response = client.post("/api/v1/workflows/execute", headers=auth(key), json={"workflow": QUICK})
    assert response.status_code == 200
    assert response.get_json()["results"] == {"sum": 5}


def test_refused_workflow_is_refused_before_queueing(queue_app, make_agent):
    client = queue_app(threads=0).test_client()
    key = make_agent()
    bad = jsonl(op("x", "Calculate", expression="1 +", outputPath="/workflow/x"), order=["x", "y"])
    response = submit(client, key, bad)
    assert response.status_code == 400
    assert client.get("/api/v1/executions", headers=auth(key)).get_json()["items"] == []


def test_long_poll_answers_when_the_run_ends_and_reports_queued_when_time_runs_out(
    queue_app, make_agent
):
    client = queue_app(threads=0).test_client()  # nobody runs it
    key = make_agent()
    execution_id = submit(client, key, QUICK).get_json()["execution_id"]
    started = time.monotonic()
    answer = client.get(f"/api/v1/executions/{execution_id}?wait=0.5", headers=auth(key))
    assert time.monotonic() - started >= 0.5
    assert answer.status_code == 200 and answer.get_json()["status"] == "queued"


def test_long_poll_returns_before_its_wait_once_the_run_ends(queue_app, make_agent):
    client = queue_app().test_client()
    key = make_agent()
    execution_id = submit(client, key, waiting(300)).get_json()["execution_id"]
    started = time.monotonic()
    answer = wait_for(client, key, execution_id, 60).get_json()
    elapsed = time.monotonic() - started
    assert answer["status"] == "succeeded"
    assert elapsed >= 0.3  # the run's own Wait; the 60 s were not used up
    assert answer["steps"][0]["type"] == "Wait"


@pytest.mark.parametrize("wait", ["-1", "61", "abc"])
def test_wait_out_of_range_is_a_400(queue_app, make_agent, wait):
    client = queue_app(threads=0).test_client()
    key = make_agent()
    execution_id = submit(client, key, QUICK).get_json()["execution_id"]
    assert client.get(f"/api/v1/executions/{execution_id}?wait={wait}",
                      headers=auth(key)).status_code == 400


def test_cancel_a_queued_run_at_once(queue_app, make_agent):
    client = queue_app(threads=0).test_client()
    key = make_agent()
    execution_id = submit(client, key, QUICK).get_json()["execution_id"]
    response = client.post(f"/api/v1/executions/{execution_id}/cancel", headers=auth(key))
    assert response.status_code == 202
    assert response.get_json()["status"] == "cancelled"
    run = client.get(f"/api/v1/executions/{execution_id}", headers=auth(key)).get_json()
    assert run["status"] == "cancelled" and run["steps"] == []


def test_cancel_a_waiting_run_stops_it_inside_the_wait_keeping_its_steps(queue_app, make_agent):
    client = queue_app().test_client()
    key = make_agent()
    workflow = jsonl(op("first", "Calculate", expression="1 + 1", outputPath="/workflow/a"),
                     op("pause", "Wait", duration=30_000),
                     op("after", "Calculate", expression="2 + 2", outputPath="/workflow/b"))
    execution_id = submit(client, key, workflow).get_json()["execution_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/executions/{execution_id}", headers=auth(key)).get_json()
        if run["status"] == "running" and run["steps"]:
            break
        time.sleep(0.05)
    assert client.post(f"/api/v1/executions/{execution_id}/cancel",
                       headers=auth(key)).status_code == 202
    run = wait_for(client, key, execution_id).get_json()
    assert run["status"] == "cancelled"
    assert [step["operationId"] for step in run["steps"]] == ["first", "pause"]
    pause = run["steps"][1]  # stopped inside the Wait, not after it
    assert pause["status"] == "failed" and pause["error"]["details"]["reason"] == "cancelled"
    assert run["results"] == {"first": 2}


def test_cancel_a_finished_run_is_a_409(queue_app, make_agent):
    client = queue_app().test_client()
    key = make_agent()
    execution_id = submit(client, key, QUICK).get_json()["execution_id"]
    assert wait_for(client, key, execution_id).get_json()["status"] == "succeeded"
    assert client.post(f"/api/v1/executions/{execution_id}/cancel",
                       headers=auth(key)).status_code == 409


def test_cancel_of_another_agents_run_is_a_404_but_an_admin_may(queue_app, make_agent):
    client = queue_app(threads=0).test_client()
    owner, other = make_agent("owner"), make_agent("other")
    admin = make_agent("root", admin=True)
    body = submit(client, owner, QUICK).get_json()
    assert client.post(f"/api/v1/executions/{body['execution_id']}/cancel",
                       headers=auth(other)).status_code == 404
    response = client.post(f"/api/v1/admin/runs/{body['run_id']}/cancel", headers=auth(admin))
    assert response.status_code == 202 and response.get_json()["status"] == "cancelled"


def test_saved_workflow_runs_asynchronously(queue_app, make_agent):
    client = queue_app().test_client()
    key = make_agent()
    assert client.post("/api/v1/saved-workflows/adder", headers=auth(key),
                       json={"workflow": QUICK}).status_code in (200, 201)
    response = client.post("/api/v1/saved-workflows/adder/execute", headers=auth(key),
                           json={"async": True, "executionId": "saved-1"})
    assert response.status_code == 202
    run = wait_for(client, key, "saved-1").get_json()
    assert run["status"] == "succeeded"
    assert run["saved_workflow"]["name"] == "adder"


def test_duplicate_execution_id_is_a_409(queue_app, make_agent):
    client = queue_app(threads=0).test_client()
    key = make_agent()
    workflow = waiting(10, execution_id="same")
    assert submit(client, key, workflow).status_code == 202
    assert submit(client, key, workflow).status_code == 409


def test_concurrent_runs_limit_holds_for_queued_runs(queue_app, make_agent, db):
    app = queue_app(threads=4, rateLimiting={"concurrent_runs": 1})
    client = app.test_client()
    key = make_agent()
    ids = [submit(client, key, waiting(300)).get_json()["execution_id"] for _ in range(3)]
    runs = [wait_for(client, key, execution_id).get_json() for execution_id in ids]
    assert [run["status"] for run in runs] == ["succeeded"] * 3
    spans = sorted((run["started_at"], run["completed_at"]) for run in runs)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end  # never two at once


# -- webhooks -------------------------------------------------------------------------

def issue_secret(client, admin, agent: str) -> str:
    response = client.post(f"/api/v1/admin/agents/{agent}/webhook-secret", headers=auth(admin))
    assert response.status_code == 201
    return response.get_json()["webhook_secret"]


def verify(secret: str, header: str, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def test_webhook_retried_after_a_failure_then_delivered_signed(queue_app, make_agent, httpserver):
    client = queue_app().test_client()
    key, admin = make_agent(), make_agent("root", admin=True)
    secret = issue_secret(client, admin, "agent-a")
    received: list[tuple[str, bytes]] = []

    def receiver(request: Request) -> Response:
        received.append((request.headers.get("A2E-Signature", ""), request.get_data()))
        return Response("busy", status=503) if len(received) == 1 else Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    response = submit(client, key, QUICK, callbackUrl=httpserver.url_for("/hook"))
    assert response.status_code == 202
    execution_id = response.get_json()["execution_id"]
    deadline = time.monotonic() + 30
    run = None
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/executions/{execution_id}", headers=auth(key)).get_json()
        if run["callback"]["status"] == "delivered":
            break
        time.sleep(0.1)
    assert run is not None and run["callback"]["status"] == "delivered"
    assert [a["status_code"] for a in run["callback"]["attempts"]] == [503, 200]
    assert len(received) == 2
    # the schedule: first retry within 5 s, at least 5 attempts over a few minutes
    assert RETRY_DELAYS_S[0] <= 5 and len(RETRY_DELAYS_S) + 1 >= 5 and sum(RETRY_DELAYS_S) >= 180
    for header, body in received:
        assert verify(secret, header, body)
    payload = json.loads(received[1][1])
    assert payload == {"execution_id": execution_id, "status": "succeeded",
                       "results": {"sum": 5}, "duration_ms": payload["duration_ms"]}
    assert not verify("whsec_wrong", received[1][0], received[1][1])


def test_callback_needs_an_allowed_host_and_a_secret(queue_app, make_agent):
    client = queue_app(threads=0).test_client()
    key, admin = make_agent(), make_agent("root", admin=True)
    no_secret = submit(client, key, QUICK, callbackUrl="http://127.0.0.1:9/hook")
    assert no_secret.status_code == 400
    issue_secret(client, admin, "agent-a")
    refused = submit(client, key, QUICK, callbackUrl="http://example.org/hook")
    assert refused.status_code == 403
    assert submit(client, key, QUICK, callbackUrl="http://127.0.0.1:9/hook").status_code == 202


def test_webhook_secret_never_lands_in_the_audit_trail(queue_app, make_agent, db):
    client = queue_app(threads=0).test_client()
    admin = make_agent("root", admin=True)
    secret = issue_secret(client, admin, "root")
    with db.engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT details, action FROM audit_events")).all()
        sealed = conn.execute(text("SELECT webhook_secret FROM agents WHERE name='root'")).scalar()
    assert any(action == "webhook_secret.rotated" for _, action in rows)
    assert all(secret not in json.dumps(details) for details, _ in rows)
    assert secret.encode() not in bytes(sealed)


def test_claims_are_exclusive(db, make_agent):
    """Two claimers never take the same run (one conditional UPDATE each)."""
    from a2e.store.base import utcnow
    from a2e.store.owner import current_owner

    key = make_agent()
    with db.connection(write=True, single_statement=True) as conn:
        for index in range(5):
            queue_queries.enqueue_run(conn, agent_id=key.agent_id, execution_id=f"e{index}",
                                      owner=current_owner(), now=utcnow(), workflow_text=QUICK,
                                      callback_url=None)
    taken = []
    for index in range(7):
        now = utcnow()
        with db.connection(write=True, single_statement=True) as conn:
            claimed = queue_queries.claim_run(conn, worker=f"w{index % 2}", owner=current_owner(),
                                              now=now, lease_until=now.replace(year=now.year + 1))
        if claimed is not None:
            taken.append(claimed.run_id)
    assert len(taken) == 5 == len(set(taken))


def test_a_queued_run_cancelled_with_a_callback_still_gets_its_webhook(
    queue_app, make_agent, httpserver
):
    client = queue_app(threads=0).test_client()
    key, admin = make_agent(), make_agent("root", admin=True)
    issue_secret(client, admin, "agent-a")
    execution_id = submit(client, key, QUICK, callbackUrl=httpserver.url_for("/hook")).get_json()[
        "execution_id"]
    assert client.post(f"/api/v1/executions/{execution_id}/cancel",
                       headers=auth(key)).status_code == 202
    run = client.get(f"/api/v1/executions/{execution_id}", headers=auth(key)).get_json()
    assert run["callback"]["status"] == "pending"  # a sender (any worker process) sends it


def test_cancel_ends_an_api_call_in_flight_within_about_a_second(queue_app, make_agent,
                                                                  held_upstream):
    client = queue_app().test_client()
    key = make_agent()
    slow = held_upstream("/slow")
    workflow = jsonl(op("call", "ApiCall", method="GET", url=slow.url,
                        timeout=30_000, outputPath="/workflow/call"))
    execution_id = submit(client, key, workflow).get_json()["execution_id"]
    assert slow.arrived.wait(30)
    assert client.post(f"/api/v1/executions/{execution_id}/cancel",
                       headers=auth(key)).status_code == 202
    run = wait_for(client, key, execution_id).get_json()
    assert run["status"] == "cancelled", run
    assert run["error"]["details"]["reason"] == "cancelled"
    assert run["steps"][0]["status"] == "failed"  # cut short: the answer never arrived
