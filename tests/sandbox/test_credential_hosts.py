"""Credentials bound to hosts, and redirects to another origin that never carry one."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from a2e.cli import cli
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

SECRET = "Bearer bound-4c1d2e-secret"
EXECUTE = "/api/v1/workflows/execute"
AUTH = {"Authorization": {"credentialRef": {"id": "tok"}}}


@pytest.fixture
def other_port() -> Iterator[HTTPServer]:
    """A second real server on another port of 127.0.0.1 (another origin)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def admin(make_agent):
    return make_agent("root", admin=True)


@pytest.fixture
def agent(client, admin, make_agent):
    """An agent allowed 127.0.0.1 and localhost, with credential ``tok`` bound to 127.0.0.1."""
    key = make_agent("carol", hosts=("127.0.0.1", "localhost"))
    put = client.put("/api/v1/admin/agents/carol/credentials/tok", headers=auth(admin),
                     json={"value": SECRET, "hosts": ["127.0.0.1"]})
    assert put.status_code == 200, put.json
    assert put.json["hosts"] == ["127.0.0.1"]
    return key


def execute(client, key, workflow: str, **extra):
    return client.post(EXECUTE, headers=auth(key), json={"workflow": workflow, **extra})


def test_listing_shows_hosts_and_never_a_value(client, admin, agent):
    listed = client.get("/api/v1/admin/agents/carol/credentials", headers=auth(admin))
    assert listed.status_code == 200
    assert [{k: item[k] for k in ("credential_id", "hosts")} for item in listed.json] == [
        {"credential_id": "tok", "hosts": ["127.0.0.1"]}]
    assert set(listed.json[0]) == {"credential_id", "hosts", "created_at", "updated_at"}
    assert "bound-4c1d2e" not in listed.get_data(as_text=True)


def test_cli_binds_with_repeated_host(cli_env, make_agent):
    make_agent("dave")
    runner = CliRunner()
    result = runner.invoke(cli, ["credentials", "set", "dave", "tok", "--host", "api.example.com",
                                 "--host", "*.example.org"], input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert "bound-4c1d2e" not in result.output
    listed = json.loads(runner.invoke(cli, ["credentials", "list", "dave"]).stdout)
    assert [(c["credential_id"], c["hosts"]) for c in listed] == [("tok", ["api.example.com", "*.example.org"])]
    bad = runner.invoke(cli, ["credentials", "set", "dave", "tok", "--host", "not a host"], input="v")
    assert bad.exit_code != 0 and "not a host" in bad.output
    unbound = runner.invoke(cli, ["credentials", "set", "dave", "tok"], input="v")
    assert json.loads(unbound.stdout)["hosts"] == []


@pytest.mark.parametrize("validate", [True, False])
def test_a_bound_credential_toward_another_allowed_host_is_refused(client, agent, httpserver, validate):
    httpserver.expect_request("/x").respond_with_json({"ok": True})
    workflow = jsonl(op("call", "ApiCall", method="GET", url=f"http://localhost:{httpserver.port}/x",
                        headers=AUTH, outputPath="/workflow/x"))
    refused = execute(client, agent, workflow, validate=validate)
    assert refused.status_code == 403, refused.json
    assert refused.json["error"]["type"] == "PermissionError"
    assert "bound" in json.dumps(refused.json)
    assert httpserver.log == []
    # toward its own host it is sent
    allowed = execute(client, agent, jsonl(op("call", "ApiCall", method="GET", url=f"http://127.0.0.1:{httpserver.port}/x",
                                              headers=AUTH, outputPath="/workflow/x")))
    assert allowed.json["status"] == "succeeded", allowed.json
    assert httpserver.log[0][0].headers["Authorization"] == SECRET


def test_a_templated_host_is_checked_at_run_time(client, agent, httpserver):
    httpserver.expect_request("/x").respond_with_json({"ok": True})
    workflow = jsonl(
        op("where", "FormatText", template="localhost", outputPath="/workflow/host"),
        op("call", "ApiCall", method="GET", url=f"http://{{/workflow/host}}:{httpserver.port}/x",
           headers=AUTH, outputPath="/workflow/x"),
    )
    body = execute(client, agent, workflow).json
    assert body["status"] == "failed", body
    assert body["error"]["type"] == "PermissionError" and body["error"]["operationId"] == "call"
    assert httpserver.log == []


def test_a_307_to_another_port_never_carries_the_credential(client, agent, httpserver, other_port):
    other_port.expect_request("/landing").respond_with_json({"landed": True})
    httpserver.expect_request("/hop").respond_with_data(
        "", status=307, headers={"Location": f"http://127.0.0.1:{other_port.port}/landing"})
    header_call = jsonl(op("call", "ApiCall", method="POST", url=f"http://127.0.0.1:{httpserver.port}/hop",
                           headers=AUTH, body={"plain": 1}, outputPath="/workflow/x"))
    followed = execute(client, agent, header_call).json
    assert followed["status"] == "succeeded", followed
    assert followed["results"]["call"] == {"landed": True}
    landed = other_port.log[0][0]
    assert "Authorization" not in landed.headers
    assert json.loads(landed.get_data()) == {"plain": 1}  # 307 keeps the method and body

    body_call = jsonl(op("call", "ApiCall", method="POST", url=f"http://127.0.0.1:{httpserver.port}/hop",
                         body={"token": {"credentialRef": {"id": "tok"}}}, outputPath="/workflow/x"))
    refused = execute(client, agent, body_call).json
    assert refused["status"] == "failed"
    assert refused["error"]["type"] == "PermissionError"
    assert "another origin" in refused["error"]["message"]
    assert len(other_port.log) == 1  # the body with the credential never went there
    assert "bound-4c1d2e" not in json.dumps(refused)
