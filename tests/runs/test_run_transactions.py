"""A run's transaction boundaries on a real database: what a crash keeps, and what a
failed finish leaves."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, text

from a2e.engine import runner as runner_module
from a2e.engine.ops import calculate
from a2e.store.models import AuditEvent, Run, RunSlotLease, RunStep, UsageWindow
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth, verify_sealed
from tests.serving import ServerProcess

EXECUTE = "/api/v1/workflows/execute"


def steps_of(db, execution_id: str) -> list[str]:
    with db.session() as session:
        return list(session.scalars(
            select(RunStep.operation_id).join(Run, Run.id == RunStep.run_id)
            .where(Run.execution_id == execution_id).order_by(RunStep.position)
        ))


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_kill_9_keeps_every_step_up_to_the_last_outside_effect(
    database_url, db, make_agent, tmp_path, httpserver: HTTPServer
):
    httpserver.expect_request("/thing").respond_with_json({"n": 2.4})
    key = make_agent("crashy")
    workflow = jsonl(
        op("now", "GetCurrentDateTime", outputPath="/workflow/now"),
        op("fetch", "ApiCall", method="GET", url=httpserver.url_for("/thing"),
           outputPath="/workflow/thing", cache=False),
        op("save", "StoreData", inputPath="/workflow/thing", storage="db", key="thing"),
        op("round", "Calculate", inputPath="/workflow/thing/n", operation="round",
           outputPath="/workflow/rounded"),
        op("nap", "Wait", duration=20_000),
        op("never", "GetCurrentDateTime", outputPath="/workflow/later"),
        execution_id="crash-mid-run",
    )
    server = ServerProcess(database_url, tmp_path, workers=1).start()

    def post() -> None:
        try:
            requests.post(f"{server.url}{EXECUTE}", headers=auth(key),
                          json={"workflow": workflow}, timeout=30)
        except requests.RequestException:
            pass  # the server dies under this request

    client = threading.Thread(target=post, daemon=True)
    client.start()
    try:
        # Everything before the Wait is committed before it sleeps.
        wait_for(lambda: len(steps_of(db, "crash-mid-run")) == 4)
    finally:
        server.kill()
        client.join(10)
    assert steps_of(db, "crash-mid-run") == ["now", "fetch", "save", "round"]
    with db.session() as session:
        assert session.scalar(select(Run.status).where(Run.execution_id == "crash-mid-run")) == "running"
        events = list(session.scalars(select(AuditEvent.action)))
    assert "run.started" in events and "run.finished" not in events
    assert verify_sealed(db, "system-test-secret").ok


@contextmanager
def refusing(db, event: str, table: str, condition: str) -> Iterator[None]:
    """A trigger that makes a statement fail (``event`` on ``table`` where ``condition``
    holds for NEW), as a lost connection or a full disk would fail its commit."""
    if db.dialect == "postgresql":
        statements = [
            "CREATE OR REPLACE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN IF {condition} THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$",
            f"CREATE TRIGGER test_refuse BEFORE {event} ON {table} FOR EACH ROW "
            "EXECUTE FUNCTION test_refuse()",
        ]
        drops = [f"DROP TRIGGER IF EXISTS test_refuse ON {table}",
                 "DROP FUNCTION IF EXISTS test_refuse()"]
    else:
        statements = [f"CREATE TRIGGER test_refuse BEFORE {event} ON {table} WHEN {condition} "
                      "BEGIN SELECT RAISE(ABORT, 'disk full'); END"]
        drops = ["DROP TRIGGER IF EXISTS test_refuse"]
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            for statement in drops:
                conn.execute(text(statement))


def refusing_the_finish(db, execution_id: str):
    """The finish transaction of one run fails, after its steps were inserted."""
    return refusing(db, "UPDATE", "runs", "NEW.status IN ('succeeded', 'failed') AND "
                    f"NEW.execution_id = '{execution_id}'")


def refusing_the_step(db, operation_id: str):
    """Any transaction that writes the step of ``operation_id`` fails."""
    return refusing(db, "INSERT", "run_steps", f"NEW.operation_id = '{operation_id}'")


def saving_workflow(execution_id: str) -> str:
    """A StoreData between two steps: its step is committed before the run goes on."""
    return jsonl(
        op("now", "GetCurrentDateTime", outputPath="/workflow/now"),
        op("save", "StoreData", inputPath="/workflow/now", storage="db", key="when"),
        op("after", "GetCurrentDateTime", outputPath="/workflow/after"),
        execution_id=execution_id,
    )


def test_a_failed_finish_leaves_the_run_interrupted_not_half_written(make_app, db, make_agent):
    app = make_app(rateLimiting={"concurrent_runs": 1})
    client, key = app.test_client(), make_agent("unlucky")
    workflow = saving_workflow("doomed")
    with refusing_the_finish(db, "doomed"):
        response = client.post(EXECUTE, headers=auth(key), json={"workflow": workflow})
    assert response.status_code >= 500 and "error" in response.get_json()
    # Only what was committed before the finish: the steps up to the StoreData.
    assert steps_of(db, "doomed") == ["now", "save"]
    with db.session() as session:
        run = session.scalar(select(Run).where(Run.execution_id == "doomed"))
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        leases = session.scalar(select(func.count()).select_from(RunSlotLease))
    assert run.status == "interrupted" and "could not be recorded" in run.error["message"]
    assert actions == ["run.started", "run.interrupted"]
    assert leases == 0  # its slot is free: the next run starts
    again = client.post(EXECUTE, headers=auth(key),
                        json={"workflow": workflow.replace("doomed", "fine")})
    assert again.status_code == 200 and again.get_json()["status"] == "succeeded"
    assert steps_of(db, "fine") == ["now", "save", "after"]
    assert verify_sealed(db).ok


def test_only_a_start_with_no_outside_effect_commits_without_waiting_for_the_disk(
    make_app, db, make_agent
):
    """PostgreSQL: nothing of a run whose operations act only inside it can be seen before
    its finish commits, and that commit waits for the disk, flushing the start with it
    (the WAL is one sequence); so its start commits with synchronous_commit off. A run
    with an outside effect waits at its start, and every finish waits."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite's WAL commits (synchronous=NORMAL) never wait for the disk")
    with db.engine.begin() as conn:  # a deferred trigger sees the setting at COMMIT
        conn.execute(text("CREATE TABLE test_commits (execution_id text, status text, "
                          "synchronous_commit text)"))
        conn.execute(text(
            "CREATE FUNCTION test_commit_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO test_commits VALUES (NEW.execution_id, NEW.status, "
            "current_setting('synchronous_commit')); RETURN NULL; END $$"))
        conn.execute(text(
            "CREATE CONSTRAINT TRIGGER test_commit_seen AFTER INSERT OR UPDATE ON runs "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_commit_seen()"))
    client, key = make_app().test_client(), make_agent("durable")
    quiet = jsonl(op("now", "GetCurrentDateTime", format="timestamp", outputPath="/workflow/now"),
                  op("round", "Calculate", inputPath="/workflow/now", operation="round",
                     outputPath="/workflow/rounded"), execution_id="quiet")
    loud = jsonl(op("now", "GetCurrentDateTime", outputPath="/workflow/now"),
                 op("save", "StoreData", inputPath="/workflow/now", storage="db", key="when"),
                 execution_id="loud")
    try:
        for workflow in (quiet, loud):
            response = client.post(EXECUTE, headers=auth(key), json={"workflow": workflow})
            assert response.status_code == 200 and response.get_json()["status"] == "succeeded"
        with db.engine.connect() as conn:
            seen = set(conn.execute(text("SELECT * FROM test_commits")).all())
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS test_commit_seen ON runs"))
            conn.execute(text("DROP FUNCTION IF EXISTS test_commit_seen()"))
            conn.execute(text("DROP TABLE IF EXISTS test_commits"))
    assert seen == {("quiet", "running", "off"), ("quiet", "succeeded", "on"),
                    ("loud", "running", "on"), ("loud", "succeeded", "on")}


def quiet_workflow(execution_id: str) -> str:
    """Self-contained: nothing outside the run, no wait, nothing the cache keeps."""
    return jsonl(
        op("now", "GetCurrentDateTime", format="timestamp", outputPath="/workflow/now"),
        op("round", "Calculate", inputPath="/workflow/now", operation="round",
           outputPath="/workflow/rounded"),
        op("again", "Calculate", inputPath="/workflow/rounded", operation="round",
           outputPath="/workflow/twice"),
        execution_id=execution_id,
    )


@contextmanager
def writer_statements(app) -> Iterator[list[str]]:
    """What the app's SQLite writer connection (every run-path write) is sent meanwhile."""
    connection = app.extensions["a2e"].db._writer_connection.get().dbapi_conn
    sent: list[str] = []
    connection.set_trace_callback(sent.append)
    try:
        yield sent
    finally:
        connection.set_trace_callback(None)


def run_status(db, execution_id: str) -> str | None:
    with db.engine.connect() as conn:  # a connection of its own: what is committed
        return conn.scalar(select(Run.status).where(Run.execution_id == execution_id))


def test_sqlite_runs_a_self_contained_run_in_one_transaction(make_app, db, make_agent):
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL commits every start on its own (its row locks)")
    app = make_app(rateLimiting={"concurrent_runs": 2})
    client, key = app.test_client(), make_agent("contained")
    loud = jsonl(op("now", "GetCurrentDateTime", outputPath="/workflow/now"),
                 op("save", "StoreData", inputPath="/workflow/now", storage="db", key="when"),
                 execution_id="loud")
    commits = {}
    for name, workflow in (("quiet", quiet_workflow("quiet")), ("loud", loud)):
        with writer_statements(app) as sent:
            response = client.post(EXECUTE, headers=auth(key), json={"workflow": workflow})
        assert response.status_code == 200 and response.get_json()["status"] == "succeeded"
        commits[name] = (sent.count("BEGIN IMMEDIATE"), sent.count("COMMIT"))
    # start and finish as one; the other: its start, its steps up to the StoreData, its finish
    assert commits == {"quiet": (1, 1), "loud": (3, 3)}
    assert steps_of(db, "quiet") == ["now", "round", "again"]
    with db.session() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        leases = session.scalar(select(func.count()).select_from(RunSlotLease))
    assert actions == ["run.started", "run.finished"] * 2 and leases == 0
    assert run_status(db, "quiet") == "succeeded"
    assert verify_sealed(db).ok


@pytest.mark.parametrize("hold_s", [0.0, runner_module.HOLD_START_S])
def test_a_self_contained_run_commits_its_start_once_held_long_enough(
    make_app, db, make_agent, monkeypatch, hold_s
):
    """The test clock stands still: held for 0 s, the start commits before the first step
    (seen from another connection while a step runs); else only with the finish (SQLite),
    or at once (PostgreSQL)."""
    monkeypatch.setattr(runner_module, "HOLD_START_S", hold_s)
    seen: list[str | None] = []
    plain_round = calculate.UNARY_OPERATIONS["round"]

    def watched_round(*args):
        seen.append(run_status(db, "held"))
        return plain_round(*args)

    monkeypatch.setitem(calculate.UNARY_OPERATIONS, "round", watched_round)
    client, key = make_app().test_client(), make_agent("patient")
    response = client.post(EXECUTE, headers=auth(key), json={"workflow": quiet_workflow("held")})
    assert response.status_code == 200 and response.get_json()["status"] == "succeeded"
    held = db.dialect == "sqlite" and hold_s > 0
    assert seen == [None, None] if held else seen == ["running", "running"]
    assert run_status(db, "held") == "succeeded" and steps_of(db, "held") == ["now", "round", "again"]


class Stop(BaseException):
    """Not an error a run records (as KeyboardInterrupt is not)."""


def test_an_exception_the_runner_does_not_record_lets_go_of_the_open_start(
    make_app, db, make_agent, monkeypatch
):
    def stop(*args, **kwargs):
        raise Stop

    client, key = make_app(rateLimiting={"concurrent_runs": 2}).test_client(), make_agent("halted")
    with monkeypatch.context() as patched:
        patched.setitem(calculate.UNARY_OPERATIONS, "round", stop)
        with pytest.raises(Stop):
            client.post(EXECUTE, headers=auth(key), json={"workflow": quiet_workflow("stopped")})
    # SQLite: the open start rolled back (the writer is free again); PostgreSQL: committed
    assert run_status(db, "stopped") == (None if db.dialect == "sqlite" else "running")
    response = client.post(EXECUTE, headers=auth(key), json={"workflow": quiet_workflow("next")})
    assert response.status_code == 200 and response.get_json()["status"] == "succeeded"


def test_a_failed_finish_of_a_self_contained_run_leaves_it_interrupted_and_counted(
    make_app, db, make_agent
):
    """On SQLite the run's one transaction rolls back whole: its start is recorded again,
    counted, then marked interrupted, as any failed finish leaves a run."""
    app = make_app(rateLimiting={"concurrent_runs": 1})
    client, key = app.test_client(), make_agent("contained-but-unlucky")
    with refusing_the_finish(db, "quiet-doomed"):
        response = client.post(EXECUTE, headers=auth(key),
                               json={"workflow": quiet_workflow("quiet-doomed")})
    assert response.status_code >= 500 and "error" in response.get_json()
    assert steps_of(db, "quiet-doomed") == []  # none had to be durable
    interrupted_and_counted(db, "quiet-doomed")
    again = client.post(EXECUTE, headers=auth(key), json={"workflow": quiet_workflow("quiet-fine")})
    assert again.status_code == 200 and again.get_json()["status"] == "succeeded"
    assert verify_sealed(db).ok


def interrupted_and_counted(db, execution_id: str) -> None:
    with db.session() as session:
        run = session.scalar(select(Run).where(Run.execution_id == execution_id))
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        leases = session.scalar(select(func.count()).select_from(RunSlotLease))
        admitted = set(session.scalars(select(UsageWindow.admitted)))
    assert run.status == "interrupted" and "could not be recorded" in run.error["message"]
    assert run.finished_at is not None and run.duration_ms >= 0
    assert actions == ["run.started", "run.interrupted"]
    assert leases == 0 and admitted == {1}  # its slot is free, the request counted once


def test_a_failed_commit_of_steps_leaves_the_run_interrupted(make_app, db, make_agent):
    """No finish follows a commit of steps that failed: the run does not stay running."""
    client, key = make_app(rateLimiting={"concurrent_runs": 1}).test_client(), make_agent("cut")
    workflow = saving_workflow("cut-short")
    with refusing_the_step(db, "save"):
        response = client.post(EXECUTE, headers=auth(key), json={"workflow": workflow})
    assert response.status_code >= 500 and "error" in response.get_json()
    assert steps_of(db, "cut-short") == []
    interrupted_and_counted(db, "cut-short")
    again = client.post(EXECUTE, headers=auth(key),
                        json={"workflow": workflow.replace("cut-short", "whole")})
    assert again.status_code == 200 and again.get_json()["status"] == "succeeded"
    assert verify_sealed(db).ok


def test_a_failed_commit_of_a_held_start_records_it_interrupted_and_counted(
    make_app, db, make_agent, clock, monkeypatch
):
    """SQLite: the start held open commits with the steps before it at the first step
    ``HOLD_START_S`` in; when that commit fails the start is recorded again, counted."""
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL commits every start on its own")
    plain_round = calculate.UNARY_OPERATIONS["round"]

    def slow_round(*args):
        clock.advance(runner_module.HOLD_START_S)
        return plain_round(*args)

    monkeypatch.setitem(calculate.UNARY_OPERATIONS, "round", slow_round)
    client, key = make_app(rateLimiting={"concurrent_runs": 1}).test_client(), make_agent("held")
    with refusing_the_step(db, "round"):
        response = client.post(EXECUTE, headers=auth(key),
                               json={"workflow": quiet_workflow("held-doomed")})
    assert response.status_code >= 500 and "error" in response.get_json()
    assert steps_of(db, "held-doomed") == []
    interrupted_and_counted(db, "held-doomed")
    again = client.post(EXECUTE, headers=auth(key), json={"workflow": quiet_workflow("held-fine")})
    assert again.status_code == 200 and again.get_json()["status"] == "succeeded"
    assert steps_of(db, "held-fine") == ["now", "round", "again"]
    assert verify_sealed(db).ok
