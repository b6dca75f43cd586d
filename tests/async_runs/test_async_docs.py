"""The names of asynchronous runs are in the OpenAPI document, the config and the docs."""

from __future__ import annotations

import pytest

from a2e.config import ConfigError, parse_settings
from tests.conftest import REPO


def test_openapi_documents_submit_wait_cancel_and_webhook_secret(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    execute = paths["/api/v1/workflows/execute"]["post"]
    assert "202" in execute["responses"]
    assert "Location" in execute["responses"]["202"]["headers"]
    assert any(p["name"] == "Prefer" and p["in"] == "header" for p in execute["parameters"])
    assert "202" in paths["/api/v1/saved-workflows/{name}/execute"]["post"]["responses"]
    body = doc["components"]["schemas"]["ExecuteRequest"]["properties"]
    assert {"async", "callbackUrl"} <= set(body)
    wait = paths["/api/v1/executions/{execution_id}"]["get"]["parameters"]
    assert any(p["name"] == "wait" for p in wait)
    cancel = paths["/api/v1/executions/{execution_id}/cancel"]["post"]["responses"]
    assert {"202", "409"} <= set(cancel)
    assert "post" in paths["/api/v1/admin/runs/{run_id}/cancel"]
    assert "post" in paths["/api/v1/admin/agents/{agent_ref}/webhook-secret"]


def test_queue_section_defaults_and_checks():
    queue = parse_settings({}).queue
    assert dict(queue) == {"workers_per_server": 2, "lease_s": 30.0, "poll_s": 1.0}
    with pytest.raises(ConfigError, match="queue.workers_per_server"):
        parse_settings({"queue": {"workers_per_server": -1}})
    with pytest.raises(ConfigError, match="queue.nope"):
        parse_settings({"queue": {"nope": 1}})


def test_the_docs_page_names_the_contract():
    text = (REPO / "docs" / "async-runs.md").read_text(encoding="utf-8")
    for name in ('"async": true', "Prefer: respond-async", "a2e worker [--concurrency N]",
                 "workers_per_server", "lease_s", "poll_s", "?wait=S", "/cancel", "callbackUrl",
                 "A2E-Signature: t=", "a2e agents webhook-secret NAME",
                 "/api/v1/admin/agents/<agent>/webhook-secret", "FOR UPDATE SKIP LOCKED",
                 "LISTEN", "interrupted", "queued", "cancelled"):
        assert name in text, name
