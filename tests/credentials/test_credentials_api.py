"""Credentials end to end: admin API and CLI in, ApiCall headers out, the value nowhere else."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug import Response

from a2e.api.state import AppState
from a2e.cli import cli
from a2e.crypto import SecretBox
from a2e.errors import ExecutionError, PermissionDenied
from a2e.store.credentials import SqlCredentialStore
from a2e.store.models import Base, Credential
from a2e.store.queries.credentials import write_credential
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

SECRET_VALUE = "Bearer abc123"
NEEDLE = "abc123"


class AuditCapture:
    """Keeps every audit event and hands it on to the app's own sink, if it has one."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.events: list[dict] = []

    def append(self, **event) -> None:
        self.events.append(event)
        if self.inner is not None:
            self.inner.append(**event)

    def add(self, conn, **event) -> None:
        """An event written in the transaction of its change."""
        self.events.append(event)
        if self.inner is not None:
            self.inner.add(conn, **event)

    def row(self, **event):
        """An event the run recorder writes in its own transaction."""
        self.events.append(event)
        return self.inner.row(**event) if self.inner is not None else None


@pytest.fixture
def audit(app) -> AuditCapture:
    services = app.extensions["a2e"].services
    services.audit = AuditCapture(services.audit)
    return services.audit


@pytest.fixture
def admin(make_agent):
    return make_agent("root", admin=True)


def put_credential(client, admin, agent: str, credential_id: str, value: str):
    return client.put(f"/api/v1/admin/agents/{agent}/credentials/{credential_id}",
                      headers=auth(admin), json={"value": value})


def call_with_credential(url: str, credential_id: str = "api-token", **extra) -> str:
    return jsonl(op("call", "ApiCall", method="GET", url=url, outputPath="/workflow/out",
                    headers={"Authorization": {"credentialRef": {"id": credential_id}}}, **extra))


def echo_authorization(request):
    return Response(json.dumps({"seen": request.headers.get("Authorization")}),
                    content_type="application/json")


def everything_stored(db) -> str:
    """Every row of every table except the sealed credential values, as text."""
    dump = []
    with db.session() as session:
        for table in Base.metadata.sorted_tables:
            if table.name != "credentials":
                dump.extend(repr(tuple(row)) for row in session.execute(select(table)))
    return "\n".join(dump)


def test_admin_api_manages_credentials_and_never_returns_values(client, admin, make_agent, db, audit):
    make_agent("alice")
    created = put_credential(client, admin, "alice", "api-token", SECRET_VALUE)
    assert created.status_code == 200, created.json
    assert created.json["credential_id"] == "api-token"
    assert put_credential(client, admin, "alice", "api-token", "Bearer other").status_code == 200
    listed = client.get("/api/v1/admin/agents/alice/credentials", headers=auth(admin))
    assert [item["credential_id"] for item in listed.json] == ["api-token"]
    assert "Bearer" not in listed.get_data(as_text=True)
    with db.session() as session:
        sealed = session.scalar(select(Credential.ciphertext))
    assert b"Bearer" not in bytes(sealed) and b"other" not in bytes(sealed)
    assert client.delete("/api/v1/admin/agents/alice/credentials/api-token",
                         headers=auth(admin)).status_code == 204
    missing = client.delete("/api/v1/admin/agents/alice/credentials/api-token", headers=auth(admin))
    assert missing.status_code == 404 and missing.json["error"]["type"] == "NotFoundError"
    assert [(e["action"], e["target"], e["details"]) for e in audit.events] == [
        ("credential.set", "alice/api-token", {"credential_id": "api-token", "created": True, "hosts": []}),
        ("credential.set", "alice/api-token", {"credential_id": "api-token", "created": False, "hosts": []}),
        ("credential.deleted", "alice/api-token", {"credential_id": "api-token"}),
    ]


@pytest.mark.parametrize("path, body, status", [
    ("/api/v1/admin/agents/alice/credentials/bad%20id", {"value": "x"}, 400),
    ("/api/v1/admin/agents/alice/credentials/ok", {"value": ""}, 400),
    ("/api/v1/admin/agents/alice/credentials/ok", {}, 400),
    ("/api/v1/admin/agents/alice/credentials/ok", {"value": "x", "hosts": ["not a host"]}, 400),
    ("/api/v1/admin/agents/alice/credentials/ok", {"value": "x", "hosts": "api.example.com"}, 400),
    ("/api/v1/admin/agents/nobody/credentials/ok", {"value": "x"}, 404),
])
def test_bad_requests_are_clear_4xx(client, admin, make_agent, path, body, status):
    make_agent("alice")
    response = client.put(path, headers=auth(admin), json=body)
    assert response.status_code == status, response.json
    assert "error" in response.json


def test_agents_cannot_manage_credentials(client, make_agent):
    alice = make_agent("alice")
    response = client.put("/api/v1/admin/agents/alice/credentials/x", headers=auth(alice),
                          json={"value": "v"})
    assert response.status_code == 403


def test_the_value_reaches_the_server_and_nothing_else(client, app, admin, make_agent, db,
                                                       httpserver, tmp_path, audit):
    alice = make_agent("alice")
    assert put_credential(client, admin, "alice", "api-token", SECRET_VALUE).status_code == 200
    httpserver.expect_request("/echo", headers={"Authorization": SECRET_VALUE}) \
        .respond_with_handler(echo_authorization)
    httpserver.expect_request("/fail").respond_with_data(f"denied {SECRET_VALUE}", status=500)

    ok = client.post("/api/v1/workflows/execute", headers=auth(alice),
                     json={"workflow": call_with_credential(httpserver.url_for("/echo"))})
    assert ok.status_code == 200, ok.json
    assert ok.json["status"] == "succeeded", ok.json
    assert httpserver.log[0][0].headers["Authorization"] == SECRET_VALUE
    assert ok.json["results"]["call"] == {"seen": "[REDACTED]"}

    failed = client.post("/api/v1/workflows/execute", headers=auth(alice),
                         json={"workflow": call_with_credential(httpserver.url_for("/fail"))})
    assert failed.json["status"] == "failed"
    runs = [client.get(f"/api/v1/executions/{body['execution_id']}", headers=auth(alice))
            for body in (ok.json, failed.json)]
    assert all(run.status_code == 200 for run in runs)

    answers = [ok.get_data(as_text=True), failed.get_data(as_text=True),
               *(run.get_data(as_text=True) for run in runs)]
    log_text = (tmp_path / "logs" / "a2e.log").read_text(encoding="utf-8")
    assert audit.events
    for place in (*answers, everything_stored(db), log_text, repr(audit.events)):
        assert NEEDLE not in place
    with db.session() as session:
        sealed = session.scalar(select(Credential.ciphertext))
    assert NEEDLE.encode() not in bytes(sealed)


def test_another_agent_cannot_use_it(client, app, admin, make_agent, httpserver):
    alice = make_agent("alice")
    bob = make_agent("bob")
    assert put_credential(client, admin, "alice", "api-token", SECRET_VALUE).status_code == 200
    httpserver.expect_request("/echo").respond_with_handler(echo_authorization)
    workflow = call_with_credential(httpserver.url_for("/echo"))
    for validate in (True, False):
        response = client.post("/api/v1/workflows/execute", headers=auth(bob),
                               json={"workflow": workflow, "validate": validate})
        assert response.status_code in (200, 403), response.json
        error = response.json["error"]
        assert error["type"] == "PermissionError"
        assert response.json.get("status") in (None, "failed")
    assert len(httpserver.log) == 0
    with app.app_context():
        store = app.extensions["a2e"].services.credentials
        assert store.lookup(alice.agent_id, "api-token").value == SECRET_VALUE
        with pytest.raises(PermissionDenied):
            store.lookup(bob.agent_id, "api-token")


def test_a_value_stored_under_another_secret_key_is_a_clear_error(app, admin, make_agent, db):
    alice = make_agent("alice")
    state: AppState = app.extensions["a2e"]
    with db.session(write=True) as session:
        write_credential(session, SecretBox("some-other-key"), alice.agent_id, "api-token", "v")
    with pytest.raises(ExecutionError, match="secret key"):
        SqlCredentialStore(state.db, SecretBox(state.secret_key)).lookup(alice.agent_id, "api-token")


@pytest.fixture
def run_cli(cli_env):
    def run(*args: str, stdin: str | None = None, ok: bool = True):
        result = CliRunner().invoke(cli, list(args), input=stdin)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return run


def test_cli_sets_lists_and_deletes(run_cli, make_agent, app):
    alice = make_agent("alice")
    set_result = run_cli("credentials", "set", "alice", "api-token", stdin=SECRET_VALUE + "\n")
    assert NEEDLE not in set_result.output
    listed = json.loads(run_cli("credentials", "list", "alice").stdout)
    assert [(item["credential_id"], item["hosts"]) for item in listed] == [("api-token", [])]
    assert set(listed[0]) == {"credential_id", "hosts", "created_at", "updated_at"}
    with app.app_context():
        store = app.extensions["a2e"].services.credentials
        assert store.lookup(alice.agent_id, "api-token").value == SECRET_VALUE  # newline dropped, same key
    run_cli("credentials", "delete", "alice", "api-token")
    assert json.loads(run_cli("credentials", "list", "alice").stdout) == []
    assert "no credential" in run_cli("credentials", "delete", "alice", "api-token", ok=False).output
    assert "must not be empty" in run_cli("credentials", "set", "alice", "x", stdin="", ok=False).output
    assert "no agent" in run_cli("credentials", "list", "nobody", ok=False).output


def test_cli_changes_are_audited_without_the_value(run_cli, make_agent, db):
    from sqlalchemy import select

    from a2e.store.models import AuditEvent

    make_agent("alice")
    run_cli("credentials", "set", "alice", "api-token", stdin=SECRET_VALUE)
    run_cli("credentials", "delete", "alice", "api-token")
    with db.session() as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.target, AuditEvent.details)
            .where(AuditEvent.action.like("credential.%")).order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor, e.target) for e in events] == [
        ("credential.set", "cli", "alice/api-token"), ("credential.deleted", "cli", "alice/api-token")]
    assert NEEDLE not in str([e.details for e in events])


def test_cli_help_tells_where_the_value_comes_from(run_cli):
    assert "stdin" in run_cli("credentials", "set", "--help").output
