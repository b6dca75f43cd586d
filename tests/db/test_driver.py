"""Transactions on the driver's own connection (a2e/store/driver.py): the same Core
statements give the same rows as through SQLAlchemy, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Integer, bindparam, delete, literal_column, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from a2e.store.queries.agents import IssuedKey
from a2e.store.driver import Prepared, Refused
from a2e.store.models import Run, RunStep
from a2e.store.owner import current_owner
from a2e.store.queries import agents as agent_queries
from a2e.store.queries import runs as run_queries
from a2e.store.session import Database

STARTED = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


def _run(db: Database, agent_id: int, execution_id: str = "exec-1") -> int:
    with db.driver_transaction() as tx:
        return run_queries.create_run(tx, agent_id=agent_id, execution_id=execution_id,
                                      owner=current_owner(), started_at=STARTED,
                                      workflow_text="{}")


def test_rows_written_on_the_driver_read_back_as_through_sqlalchemy(
    db: Database, make_agent: Callable[..., IssuedKey]
) -> None:
    agent_id = make_agent("driver").agent_id
    run_id = _run(db, agent_id)
    step = {"position": 0, "operation_id": "a", "op_type": "Calculate", "iteration": None,
            "status": "succeeded", "started_at": STARTED, "finished_at": STARTED,
            "duration_ms": 1, "result": {"x": [1, "é"]}, "error": None, "cached_at": None}
    with db.driver_transaction() as tx:
        # `attempts` and `cached` are left out: their Python-side defaults apply.
        run_queries.create_steps(tx, run_id, [step, {**step, "position": 1, "result": None}])
        marked = run_queries.mark_run_interrupted(tx, run_id, STARTED, 5, "a test")
    assert marked
    with db.session() as session:
        run = session.get(Run, run_id)
        steps = session.scalars(select(RunStep).where(RunStep.run_id == run_id)
                                .order_by(RunStep.position)).all()
        assert run is not None and run.status == "interrupted" and run.started_at == STARTED
        assert run.error["message"] == "run interrupted: a test"
        assert [(s.result, s.attempts, s.cached) for s in steps] == [
            ({"x": [1, "é"]}, [], False), (None, [], False)]


def test_a_select_applies_the_column_types(db: Database, make_agent: Callable[..., IssuedKey]) -> None:
    key = make_agent("typed", hosts=("api.example.com",))
    found = agent_queries.authenticate(db, key.api_key)
    assert found is not None and found.name == "typed"
    assert found.allowed_hosts == ["api.example.com"]
    statement = select(Run.started_at).where(Run.id == bindparam("run_id"))
    run_id = _run(db, found.agent_id)
    row = db.driver_statement(statement, {"run_id": run_id}).first()
    assert row is not None and row.started_at == STARTED and row.started_at.tzinfo is not None


def test_each_kind_of_statement_gives_its_rows_or_none(
    db: Database, make_agent: Callable[..., IssuedKey]
) -> None:
    """SQL text says nothing of its rows until run; DML without RETURNING gives none."""
    agent_id = make_agent("kinds").agent_id
    run_id = _run(db, agent_id)
    with db.driver_transaction() as tx:
        assert tx.scalar(text("SELECT 40 + :n"), {"n": 2}) == 42
        assert tx.exec_driver_sql("SELECT 7", ()).all() == [(7,)]
        gone = tx.execute(delete(RunStep).where(RunStep.run_id == bindparam("run_id")),
                          {"run_id": run_id})
        assert gone.all() == [] and gone.rowcount == 0
        found = tx.execute(select(Run.id).where(Run.id == bindparam("run_id")), {"run_id": run_id})
        assert [row.id for row in found.all()] == [run_id]


def test_an_error_rolls_the_whole_transaction_back(
    db: Database, make_agent: Callable[..., IssuedKey]
) -> None:
    agent_id = make_agent("rollback").agent_id
    _run(db, agent_id, "taken")
    with pytest.raises(IntegrityError), db.driver_transaction() as tx:
        run_queries.create_run(tx, agent_id=agent_id, execution_id="fresh",
                               owner=current_owner(), started_at=STARTED, workflow_text=None)
        run_queries.create_run(tx, agent_id=agent_id, execution_id="taken",
                               owner=current_owner(), started_at=STARTED, workflow_text=None)
    with db.session() as session:
        ids = session.scalars(select(Run.execution_id).where(Run.agent_id == agent_id)).all()
    assert ids == ["taken"]
    assert _run(db, agent_id, "after") > 0  # the connection is usable again


def test_a_value_its_column_type_refuses_is_a_statement_error(
    db: Database, make_agent: Callable[..., IssuedKey]
) -> None:
    agent_id = make_agent("naive").agent_id
    with pytest.raises(StatementError, match="naive datetime"), db.driver_transaction() as tx:
        run_queries.create_run(tx, agent_id=agent_id, execution_id="naive", owner=current_owner(),
                               started_at=datetime(2026, 1, 1), workflow_text=None)
    assert _run(db, agent_id, "after") > 0


def test_what_it_cannot_bind_is_refused_when_compiled(db: Database) -> None:
    with pytest.raises(ValueError, match="expanding"):
        Prepared(delete(Run).where(Run.id.in_([1, 2])), db.engine.dialect, ())


def test_a_refusal_at_any_use_leaves_every_statement_usable(database_url: str) -> None:
    """PostgreSQL: psycopg counts a statement as prepared once sent (its sixth use, say);
    one the server skipped, after a statement before it refused, must not stay counted,
    or each later use on the connection fails. A refusal at each use in turn, on a
    connection of its own, and the statements after it keep working."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no pipelined COMMIT")
    refuse_unless = "SELECT CASE WHEN %(ok)s THEN 1 ELSE a2e_refuse('test') END"
    after = select(text("1")).where(bindparam("x") > 0)
    for refused_at in range(1, 10):
        db = Database.from_url(database_url)
        try:
            outcomes = []
            for use in range(1, 13):
                try:
                    with db.driver_transaction() as tx:
                        tx.at_commit(refuse_unless, {"ok": use != refused_at})
                        result = tx.at_commit(after, {"x": use})
                    outcomes.append(result.scalar())
                except Refused:
                    outcomes.append("refused")
            assert outcomes == [1] * (refused_at - 1) + ["refused"] + [1] * (12 - refused_at)
        finally:
            db.dispose()


def test_statements_with_the_commit_take_repeated_names_and_literal_percents(db: Database) -> None:
    x = bindparam("x", type_=Integer)
    with db.driver_transaction() as tx:
        result = tx.at_commit(select(x + x, literal_column("'100%'")), {"x": 21})
    assert tuple(result.first()) == (42, "100%")


def test_a_statement_the_server_could_not_prepare_is_prepared_again(database_url: str) -> None:
    """PostgreSQL: the batch prepares each statement once per connection; one whose
    prepare failed is not taken for prepared, and works once it can."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs statements with the COMMIT at once")
    db = Database.from_url(database_url)
    later = "SELECT test_later(%(x)s::int)"
    try:
        with pytest.raises(StatementError, match="test_later"):
            with db.driver_transaction() as tx:
                tx.at_commit(later, {"x": 1})
        with db.engine.begin() as conn:
            conn.execute(text("CREATE FUNCTION test_later(x int) RETURNS int "
                              "LANGUAGE sql AS 'SELECT x + 1'"))
        for x in (1, 2):
            with db.driver_transaction() as tx:
                result = tx.at_commit(later, {"x": x})
            assert result.scalar() == x + 1
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("DROP FUNCTION IF EXISTS test_later(int)"))
        db.dispose()


def test_a_rollback_leaves_the_batches_statements_prepared(database_url: str) -> None:
    """PostgreSQL: statements run on the cursor (a transaction that is not pipelined) and
    a ROLLBACK through it must not drop what the batches prepared on the connection."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no pipelined COMMIT")
    db = Database.from_url(database_url)
    one = select(text("1")).where(bindparam("x") > 0)
    try:
        with db.driver_transaction() as tx:
            tx.at_commit(one, {"x": 1})
        for x in range(1, 9):  # often enough for psycopg to prepare it, were it let to
            with db.driver_transaction(pipelined=False) as tx:
                tx.execute(one, {"x": x})
        with pytest.raises(Refused):
            with db.driver_transaction() as tx:
                tx.at_commit("SELECT a2e_refuse('test')", None)
        with db.driver_transaction() as tx:
            result = tx.at_commit(one, {"x": 2})
        assert result.scalar() == 1
    finally:
        db.dispose()
