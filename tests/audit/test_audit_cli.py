"""``a2e audit verify|prune|export`` and the events the CLI itself records."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from a2e.cli import cli
from a2e.store.models import AuditEvent


@pytest.fixture
def run_cli(cli_env):
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli, list(args))
        assert result.exit_code == code, result.output
        return result

    return run


def test_cli_changes_are_recorded_with_actor_cli(run_cli):
    run_cli("agents", "create", "demo")
    run_cli("keys", "rotate", "demo")
    run_cli("agents", "disable", "demo")
    rows = [json.loads(line) for line in run_cli("audit", "export", "--format", "jsonl").stdout.splitlines()]
    assert [(row["action"], row["actor"], row["agent"]) for row in rows] == [
        ("agent.created", "cli", "demo"), ("key.rotated", "cli", "demo"),
        ("agent.disabled", "cli", "demo")]
    assert json.loads(run_cli("audit", "verify").stdout) == {
        "ok": True, "checked": 3, "broken_id": None, "reason": None}


def test_verify_exits_non_zero_naming_the_edited_row(run_cli, db, drop_update_trigger):
    for name in ("a", "b", "c"):
        run_cli("agents", "create", name)
    run_cli("audit", "verify")  # seals the three events
    drop_update_trigger()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET outcome = 'failure' WHERE id = 2"))
    result = run_cli("audit", "verify", code=1)
    assert json.loads(result.stdout)["broken_id"] == 2
    assert "audit row 2 breaks the chain" in result.stderr


def test_anchor_prints_the_head_and_verify_with_it_catches_a_cut_tail(
    run_cli, db, tmp_path, monkeypatch
):
    for name in ("a", "b", "c"):
        run_cli("agents", "create", name)
    anchor = json.loads(run_cli("audit", "anchor").stdout)  # seals first
    assert set(anchor) == {"id", "hash", "ts"} and anchor["id"] == 3
    path = tmp_path / "anchor.json"
    path.write_text(json.dumps(anchor))
    run_cli("agents", "create", "d")
    assert json.loads(run_cli("audit", "verify", "--anchor", str(path)).stdout)["ok"]
    with db.session(write=True) as session:  # cut the tail past the DELETE trigger
        if db.dialect == "postgresql":
            session.execute(text("SELECT set_config('a2e.audit_purge', 'on', true)"))
        else:
            session.execute(text("DROP TRIGGER audit_events_refuse_delete"))
        session.execute(text("DELETE FROM audit_events WHERE id >= 3"))
    assert json.loads(run_cli("audit", "verify").stdout)["ok"]  # the cut alone goes unseen
    result = run_cli("audit", "verify", "--anchor", str(path), code=1)
    assert json.loads(result.stdout)["broken_id"] == 3
    assert "gone" in result.stderr
    path.write_text("{}")
    assert "--anchor" in run_cli("audit", "verify", "--anchor", str(path), code=2).output


def test_verify_with_another_secret_reports_the_chain_broken(run_cli, monkeypatch):
    run_cli("agents", "create", "a")
    run_cli("audit", "verify")
    monkeypatch.setenv("A2E_SECRET_KEY", "some-other-secret")
    result = run_cli("audit", "verify", code=1)
    assert json.loads(result.stdout)["broken_id"] == 1
    assert "another secret" in result.stderr


def test_anchor_of_an_empty_trail_is_an_error(run_cli):
    assert "empty" in run_cli("audit", "anchor", code=1).output


def test_prune_then_verify_passes(run_cli, append, clock):
    for _ in range(4):
        append()
        clock.advance(days=5)
    report = json.loads(run_cli("audit", "prune", "--days", "20").stdout)
    assert report["pruned"] == 2 and report["checkpoint_id"] == 2
    assert json.loads(run_cli("audit", "verify").stdout)["ok"]


def test_export_csv_by_agent_and_time_holds_exactly_the_rows_sql_counts(
    run_cli, db, append, clock, make_agent
):
    alpha, beta = make_agent("alpha"), make_agent("beta")
    start = clock.now
    for n in range(12):
        append(agent_id=(alpha if n % 2 else beta).agent_id)
        clock.advance(hours=1)
    since, until = start + timedelta(hours=2), start + timedelta(hours=9)
    out = run_cli("audit", "export", "--agent", "alpha", "--since", since.isoformat(),
                  "--until", until.isoformat()).stdout
    exported = list(csv.DictReader(io.StringIO(out)))
    with db.session() as session:
        count = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.agent_id == alpha.agent_id, AuditEvent.ts >= since, AuditEvent.ts < until))
    assert len(exported) == count == 3
    assert {row["agent"] for row in exported} == {"alpha"}
    assert run_cli("audit", "export", "--agent", "nobody", code=1).output.startswith("Error")
