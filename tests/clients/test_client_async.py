"""``Client`` on asynchronous runs: submit, long-poll, cancel and callbacks, on a real server.

Skipped while the server has no cancel endpoint (asynchronous runs not built in yet)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from a2e.client import ApiError, Client, WorkflowBuilder
from tests.api.workflow_helpers import jsonl, op


@pytest.fixture(autouse=True)
def _needs_async_runs(app) -> None:
    if not any(rule.rule.endswith("/cancel") for rule in app.url_map.iter_rules()):
        pytest.skip("this server has no asynchronous runs (no cancel endpoint)")


def _final(client: Client, execution_id: str) -> dict:
    """Long-poll until the run has ended (each poll waits up to 10 s on the server)."""
    for _ in range(30):
        run = client.execution(execution_id, wait=10)
        if run["status"] not in ("queued", "running"):
            return run
    raise AssertionError(f"{execution_id} did not end")


def test_submit_wait_cancel(serve) -> None:
    served = serve()
    client = Client(served.url, served.key.api_key, timeout=30)
    queued = client.execute(jsonl(op("sum", "Calculate", expression="2 + 3", outputPath="/workflow/sum")),
                            execution_id="async-1", async_=True)
    assert (queued["execution_id"], queued["status"]) == ("async-1", "queued")
    done = _final(client, "async-1")
    assert done["status"] == "succeeded" and done["results"] == {"sum": 5}

    long_wait = WorkflowBuilder().wait("pause", 50_000)
    client.execute(long_wait, execution_id="to-cancel", async_=True)
    cancelled = client.cancel("to-cancel")
    assert cancelled["execution_id"] == "to-cancel" and cancelled["cancel_requested"] is True
    assert _final(client, "to-cancel")["status"] == "cancelled"

    with pytest.raises(ApiError) as ended:
        client.cancel("async-1")
    assert ended.value.status == 409

    client.save("later", jsonl(op("sum", "Calculate", expression="1 + 1", outputPath="/workflow/sum")))
    submitted = client.run_saved("later", execution_id="saved-async", async_=True)
    assert submitted["status"] == "queued"
    assert _final(client, "saved-async")["results"] == {"sum": 2}


def test_callback_url_gets_a_signed_post(serve, httpserver: HTTPServer) -> None:
    served = serve()
    secret = requests.post(f"{served.url}/api/v1/admin/agents/clients-agent/webhook-secret",
                           headers={"Authorization": f"Bearer {served.admin.api_key}"}, timeout=10)
    secret.raise_for_status()
    key = secret.json()["webhook_secret"].encode()
    received: list[Request] = []

    def record(request: Request) -> Response:
        received.append(request)
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(record)
    client = Client(served.url, served.key.api_key)
    client.execute(jsonl(op("sum", "Calculate", expression="4 * 5", outputPath="/workflow/sum")),
                   execution_id="with-hook", callback_url=httpserver.url_for("/hook"))
    assert _final(client, "with-hook")["status"] == "succeeded"
    for _ in range(1200):  # deliveries leave a worker thread; give a loaded machine time
        if received:
            break
        time.sleep(0.1)
    assert received, "no callback arrived"
    body = received[0].get_data()
    fields = dict(part.split("=", 1) for part in received[0].headers["A2E-Signature"].split(","))
    expected = hmac.new(key, f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert json.loads(body)["execution_id"] == "with-hook"
