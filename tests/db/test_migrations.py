"""One Alembic tree: a single head, models match migrations, up/down/up works."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from a2e.store.models import Base
from a2e.store.session import make_engine
from tests.conftest import alembic_config, migrate


def test_single_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_models_and_migrations_agree(migrated_template):
    engine = make_engine(migrated_template)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(server_url):
    """On the session's own database (PostgreSQL when configured): empty → head → base → head."""
    engine = make_engine(server_url)
    try:
        migrate(server_url, "base", down=True)
        migrate(server_url)
        assert {"agents", "runs", "run_steps"} <= set(inspect(engine).get_table_names())
        migrate(server_url, "base", down=True)
        engine.dispose()
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(server_url)
        engine.dispose()
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_rollups_migration_down_and_up_keeps_the_runs(server_url):
    """0011 → 0012 on a database with runs: nothing rolled yet (every run is read live);
    rolled, down to 0011 (rollups gone, runs kept) and up again (nothing rolled)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, insert, select

    from a2e.store.models import Run, RunRollup
    from a2e.store.queries import agents as agent_queries
    from a2e.store.queries.dashboard import read_counters
    from a2e.store.rollup import EPOCH, roll, rolled_until
    from a2e.store.session import Database

    migrate(server_url, "base", down=True)
    migrate(server_url, "0011")
    db = Database(make_engine(server_url))
    finished = datetime.now(UTC) - timedelta(hours=1)
    try:
        with db.session(write=True) as session:
            agent = agent_queries.create_agent(session, "old").agent_id
            session.execute(insert(Run).values(
                agent_id=agent, execution_id="before-0012", status="succeeded", owner_host="h",
                owner_pid=1, owner_boot_id="b", started_at=finished, finished_at=finished,
                duration_ms=5))
        for _ in range(2):
            migrate(server_url)
            with db.session() as session:
                assert rolled_until(session) == EPOCH
                assert read_counters(session).runs == {"succeeded": 1}
            assert roll(db, datetime.now(UTC)) > finished
            with db.session() as session:
                assert session.scalar(select(func.sum(RunRollup.runs))) == 1
                assert read_counters(session).runs == {"succeeded": 1}
            db.dispose()
            migrate(server_url, "0011", down=True)
            tables = set(inspect(db.engine).get_table_names())
            assert "run_rollups" not in tables and "rollup_watermark" not in tables
            assert "ix_runs_finished_at" not in {i["name"] for i in inspect(db.engine).get_indexes("runs")}
            with db.session() as session:
                assert session.scalar(select(func.count()).select_from(Run)) == 1
    finally:
        db.dispose()
        migrate(server_url, "base", down=True)
        migrate(server_url)
