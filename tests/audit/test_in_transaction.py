"""The event of a change is a row of the change's own transaction.

After a change its event is there with its usual fields and the chain verifies; when
the database refuses the event (a trigger on ``audit_events``, armed after the
set-up), the change is not committed either and the answer is a JSON error. Events
that record no change keep their own transaction: a request they belong to goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from a2e.audit import AuditLog
from a2e.cli import cli
from a2e.startup import recover_interrupted_runs
from a2e.store.base import utcnow
from a2e.store.models import Run
from a2e.store.owner import current_owner
from a2e.store.queries.agents import IssuedKey
from a2e.store.session import Database
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth, verify_sealed

TRIGGER = "audit_events_refused_in_test"
REQUEST_ID = "req-in-transaction-1"
QUICK = jsonl(op("sum", "Calculate", expression="2 + 3", outputPath="/workflow/sum"))


@pytest.fixture
def refuse_events(db: Database) -> Iterator[Callable[[], None]]:
    """Arm a trigger that fails every insert into ``audit_events``; dropped afterwards
    (the PostgreSQL test database is shared by the tests of a session)."""
    if db.dialect == "postgresql":
        arm = [
            (f"CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS "
             "$$ BEGIN RAISE EXCEPTION 'audit insert refused'; END $$"),
            (f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON audit_events "
             f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"),
        ]
        disarm = [f"DROP TRIGGER IF EXISTS {TRIGGER} ON audit_events",
                  f"DROP FUNCTION IF EXISTS {TRIGGER}()"]
    else:
        arm = [(f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit insert refused'); END")]
        disarm = [f"DROP TRIGGER IF EXISTS {TRIGGER}"]

    def run(statements: list[str]) -> None:
        with db.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))

    armed: list[bool] = []
    yield lambda: (run(arm), armed.append(True))
    if armed:
        run(disarm)


def scalar(db: Database, statement: str, **params: Any) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(text(statement), params).scalar()


def events(db: Database, action: str) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(
            text("SELECT * FROM audit_events WHERE action = :action ORDER BY id"),
            {"action": action},
        ).mappings())


@dataclass
class World:
    client: FlaskClient
    db: Database
    admin: IssuedKey
    alice: IssuedKey
    run_id: int | None = None

    def admin_call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**auth(self.admin), "X-Request-Id": REQUEST_ID}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def agent_call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**auth(self.alice), "X-Request-Id": REQUEST_ID}
        return self.client.open(path, method=method, headers=headers, **kwargs)


@dataclass(frozen=True)
class Change:
    """One audited change: its set-up, the request, whether it is in the database, and
    the event it leaves (``agent`` names the agent whose id the event carries)."""

    action: str
    status: int
    request: Callable[[World], Any]
    committed: Callable[[World], bool]
    actor: str
    target: Callable[[World], str]
    agent: str | None
    details: Callable[[World], dict[str, Any]]
    prepare: Callable[[World], None] = lambda world: None


def _submit_queued(world: World) -> None:
    response = world.client.post(
        "/api/v1/workflows/execute", headers=auth(world.alice),
        json={"workflow": jsonl(op("sum", "Calculate", expression="2 + 3",
                                   outputPath="/workflow/sum"), execution_id="exec-cancel-me"),
              "async": True},
    )
    assert response.status_code == 202, response.get_json()
    world.run_id = response.get_json()["run_id"]


def _submit(world: World) -> Any:
    response = world.agent_call("POST", "/api/v1/workflows/execute", json={
        "workflow": jsonl(op("sum", "Calculate", expression="2 + 3", outputPath="/workflow/sum"),
                          execution_id="exec-queued"),
        "async": True})
    if response.status_code == 202:
        world.run_id = response.get_json()["run_id"]
    return response


def _put_credential(world: World) -> None:
    response = world.admin_call("PUT", "/api/v1/admin/agents/alice/credentials/token",
                                json={"value": "Bearer s3cret"})
    assert response.status_code == 200, response.get_json()


CHANGES = [
    Change(
        action="agent.created", status=201,
        request=lambda w: w.admin_call("POST", "/api/v1/admin/agents", json={"name": "bot"}),
        committed=lambda w: scalar(w.db, "SELECT count(*) FROM agents WHERE name = 'bot'") == 1,
        actor="admin:root", target=lambda w: "bot", agent="bot",
        details=lambda w: {"admin": False},
    ),
    Change(
        action="limits.changed", status=200,
        request=lambda w: w.admin_call("PATCH", "/api/v1/admin/agents/alice/limits",
                                       json={"requests_per_minute": 7}),
        committed=lambda w: scalar(
            w.db, "SELECT requests_per_minute FROM agent_limits WHERE agent_id = :id",
            id=w.alice.agent_id) == 7,
        actor="admin:root", target=lambda w: "agent:alice", agent="alice",
        details=lambda w: {"changed": {"requests_per_minute": 7}},
    ),
    Change(
        action="credential.deleted", status=204, prepare=_put_credential,
        request=lambda w: w.admin_call("DELETE", "/api/v1/admin/agents/alice/credentials/token"),
        committed=lambda w: scalar(
            w.db, "SELECT count(*) FROM credentials WHERE credential_id = 'token'") == 0,
        actor="admin:root", target=lambda w: "alice/token", agent="alice",
        details=lambda w: {"credential_id": "token"},
    ),
    Change(
        action="workflow.saved", status=201,
        request=lambda w: w.agent_call("POST", "/api/v1/saved-workflows/sum",
                                       json={"workflow": QUICK}),
        committed=lambda w: scalar(w.db, "SELECT count(*) FROM workflows WHERE name = 'sum'") == 1,
        actor="agent:alice", target=lambda w: "saved-workflow:sum", agent="alice",
        details=lambda w: {"name": "sum", "version": 1},
    ),
    Change(
        action="run.queued", status=202, request=_submit,
        committed=lambda w: scalar(
            w.db, "SELECT count(*) FROM runs WHERE execution_id = 'exec-queued'") == 1,
        actor="agent:alice", target=lambda w: f"run:{w.run_id}", agent="alice",
        details=lambda w: {"execution_id": "exec-queued", "callback": False},
    ),
    Change(
        action="run.cancel_requested", status=202, prepare=_submit_queued,
        request=lambda w: w.agent_call("POST", "/api/v1/executions/exec-cancel-me/cancel"),
        committed=lambda w: scalar(
            w.db, "SELECT status FROM runs WHERE id = :id", id=w.run_id) == "cancelled",
        actor="agent:alice", target=lambda w: f"run:{w.run_id}", agent="alice",
        details=lambda w: {"execution_id": "exec-cancel-me", "status": "cancelled"},
    ),
]


@pytest.fixture
def world(client: FlaskClient, db: Database, make_agent: Callable[..., IssuedKey]) -> World:
    return World(client, db, make_agent("root", admin=True), make_agent("alice"))


def _agent_id(world: World, name: str | None) -> int | None:
    return None if name is None else scalar(world.db, "SELECT id FROM agents WHERE name = :n", n=name)


@pytest.mark.parametrize("change", CHANGES, ids=[change.action for change in CHANGES])
def test_a_change_leaves_its_event_and_the_chain_verifies(world: World, change: Change) -> None:
    change.prepare(world)
    response = change.request(world)
    assert response.status_code == change.status, response.get_json()
    assert change.committed(world)
    [event] = events(world.db, change.action)
    assert event["outcome"] == "success"
    assert event["actor"] == change.actor
    assert event["target"] == change.target(world)
    assert event["agent_id"] == _agent_id(world, change.agent)
    assert event["request_id"] == REQUEST_ID
    assert event["client_ip"] == "127.0.0.1"
    details = event["details"]
    assert (json.loads(details) if isinstance(details, str) else details) == change.details(world)
    assert verify_sealed(world.db).ok


@pytest.mark.parametrize("change", CHANGES, ids=[change.action for change in CHANGES])
def test_a_refused_event_leaves_neither_change_nor_event(
    world: World, change: Change, refuse_events: Callable[[], None]
) -> None:
    change.prepare(world)
    refuse_events()
    response = change.request(world)
    assert response.status_code == 500
    assert response.get_json()["error"]["type"] == "InternalError"
    assert "Traceback" not in response.get_data(as_text=True)
    assert not change.committed(world)
    assert events(world.db, change.action) == []


def test_an_event_of_no_change_keeps_its_own_transaction(
    world: World, refuse_events: Callable[[], None]
) -> None:
    """An authentication failure is appended on its own: refused, the answer is still a 401."""
    refuse_events()
    response = world.client.get("/api/v1/capabilities", headers={"X-API-Key": "a2e_0000_nope"})
    assert response.status_code == 401


def test_the_trail_verifies_after_refused_changes(
    world: World, refuse_events: Callable[[], None]
) -> None:
    _put_credential(world)
    refuse_events()
    assert world.admin_call(
        "DELETE", "/api/v1/admin/agents/alice/credentials/token").status_code == 500
    assert world.admin_call(
        "POST", "/api/v1/admin/agents", json={"name": "bot"}).status_code == 500
    assert [row["action"] for row in events(world.db, "credential.set")] == ["credential.set"]
    assert verify_sealed(world.db).ok


# -- the command line


@pytest.fixture
def run_cli(cli_env: None) -> Callable[..., Any]:
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def test_cli_changes_leave_their_events_with_actor_cli(
    run_cli: Callable[..., Any], db: Database, make_agent: Callable[..., IssuedKey]
) -> None:
    alice = make_agent("alice")
    assert run_cli("limits", "set", "alice", "--per-minute", "9").exit_code == 0
    assert run_cli("limits", "reset", "alice").exit_code == 0
    [changed] = events(db, "limits.changed")
    [reset] = events(db, "usage.reset")
    for event in (changed, reset):
        assert (event["actor"], event["agent_id"], event["target"]) == (
            "cli", alice.agent_id, "agent:alice")
    details = changed["details"]
    assert (json.loads(details) if isinstance(details, str) else details) == {
        "changed": {"requests_per_minute": 9}}
    assert verify_sealed(db).ok


def test_a_cli_change_whose_event_is_refused_is_not_committed(
    run_cli: Callable[..., Any], db: Database, make_agent: Callable[..., IssuedKey],
    refuse_events: Callable[[], None],
) -> None:
    make_agent("alice")
    stored = CliRunner().invoke(cli, ["credentials", "set", "alice", "token"], input="v\n")
    assert stored.exit_code == 0, stored.output
    refuse_events()
    result = run_cli("credentials", "delete", "alice", "token")
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "audit insert refused" in result.output
    assert scalar(db, "SELECT count(*) FROM credentials WHERE credential_id = 'token'") == 1
    assert events(db, "credential.deleted") == []
    result = run_cli("agents", "create", "bot")
    assert result.exit_code == 1
    assert scalar(db, "SELECT count(*) FROM agents WHERE name = 'bot'") == 0


# -- the server's own changes


def _orphaned_run(db: Database, agent_id: int) -> None:
    """A synchronous run of this host left ``running`` by a machine boot that is over."""
    owner = current_owner()
    with db.session(write=True) as session:
        session.add(Run(agent_id=agent_id, execution_id="orphan", status="running",
                        owner_host=owner.host, owner_pid=owner.pid, owner_boot_id="an-old-boot",
                        started_at=utcnow()))


def test_runs_marked_interrupted_at_start_carry_their_events(
    db: Database, make_agent: Callable[..., IssuedKey]
) -> None:
    _orphaned_run(db, make_agent("alice").agent_id)
    [run_id] = recover_interrupted_runs(db, AuditLog(db))
    [event] = events(db, "run.interrupted")
    assert (event["actor"], event["target"]) == ("server", f"run:{run_id}")
    assert verify_sealed(db).ok


def test_a_refused_interrupted_event_leaves_the_run_as_it_was(
    db: Database, make_agent: Callable[..., IssuedKey], refuse_events: Callable[[], None]
) -> None:
    _orphaned_run(db, make_agent("alice").agent_id)
    refuse_events()
    with pytest.raises(SQLAlchemyError):
        recover_interrupted_runs(db, AuditLog(db))
    assert scalar(db, "SELECT status FROM runs WHERE execution_id = 'orphan'") == "running"
    assert events(db, "run.interrupted") == []
