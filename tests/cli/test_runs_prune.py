import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from a2e.cli import cli
from a2e.store.base import utcnow
from a2e.store.models import Run, RunStep
from a2e.store.owner import current_owner
from a2e.store.queries import runs as queries


def add_run(db, agent_id: int, name: str, age_days: int, status: str) -> None:
    started = utcnow() - timedelta(days=age_days)
    with db.session(write=True) as session:
        run_id = queries.create_run(session, agent_id=agent_id, execution_id=name,
                                    owner=current_owner(), started_at=started, workflow_text="")
        session.get(Run, run_id).status = status
        queries.create_step(session, run_id, position=0, operation_id="a", op_type="Wait",
                            iteration=None, status="succeeded", attempts=[], started_at=started,
                            finished_at=started, duration_ms=0, result=None, error=None,
                            cached=False, cached_at=None)


def test_prune_deletes_old_finished_runs_and_their_steps_only(db, make_agent, database_url, monkeypatch):
    agent = make_agent()
    add_run(db, agent.agent_id, "old-done", 100, "succeeded")
    add_run(db, agent.agent_id, "old-failed", 95, "failed")
    add_run(db, agent.agent_id, "old-running", 100, "running")
    add_run(db, agent.agent_id, "recent", 10, "succeeded")
    monkeypatch.setenv("A2E_DATABASE_URL", database_url)
    monkeypatch.delenv("A2E_CONFIG", raising=False)
    result = CliRunner().invoke(cli, ["runs", "prune", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deleted_runs"] == 2
    with db.session() as session:
        left = set(session.scalars(select(Run.execution_id)))
        steps = session.scalar(select(RunStep.id).join(Run).where(Run.execution_id == "old-done"))
    assert left == {"old-running", "recent"} and steps is None
    assert CliRunner().invoke(cli, ["runs", "prune", "--days", "5"]).exit_code == 0
    with db.session() as session:
        assert set(session.scalars(select(Run.execution_id))) == {"old-running"}
