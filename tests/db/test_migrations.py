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
