"""A run's transaction boundaries on a real database: what a crash keeps, and what a
failed finish leaves."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, text

from a2e.store.models import AuditEvent, Run, RunSlotLease, RunStep
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


def _refuse_finishing(db, execution_id: str) -> None:
    """A trigger that makes the finish transaction of one run fail, as a lost connection or
    a full disk would, after its steps were inserted."""
    if db.dialect == "postgresql":
        statements = [
            "CREATE OR REPLACE FUNCTION test_refuse_finish() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN IF NEW.status IN ('succeeded', 'failed') AND NEW.execution_id = '"
            + execution_id + "' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER test_refuse_finish BEFORE UPDATE ON runs FOR EACH ROW "
            "EXECUTE FUNCTION test_refuse_finish()",
        ]
    else:
        statements = [
            "CREATE TRIGGER test_refuse_finish BEFORE UPDATE ON runs WHEN NEW.status IN "
            f"('succeeded', 'failed') AND NEW.execution_id = '{execution_id}' "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        ]
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def _drop_refusal(db) -> None:
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER IF EXISTS test_refuse_finish ON runs"))
            conn.execute(text("DROP FUNCTION IF EXISTS test_refuse_finish()"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS test_refuse_finish"))


def test_a_failed_finish_leaves_the_run_interrupted_not_half_written(make_app, db, make_agent):
    app = make_app(rateLimiting={"concurrent_runs": 1})
    client, key = app.test_client(), make_agent("unlucky")
    workflow = jsonl(
        op("now", "GetCurrentDateTime", outputPath="/workflow/now"),
        op("save", "StoreData", inputPath="/workflow/now", storage="db", key="when"),
        op("after", "GetCurrentDateTime", outputPath="/workflow/after"),
        execution_id="doomed",
    )
    _refuse_finishing(db, "doomed")
    try:
        response = client.post(EXECUTE, headers=auth(key), json={"workflow": workflow})
    finally:
        _drop_refusal(db)
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
