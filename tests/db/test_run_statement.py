"""Single-statement units: ``Database.run_statement`` (on the driver's own connection,
with SQLAlchemy's error semantics) and ``Database.connection(single_statement=True)``,
each committed on its own, on SQLite and PostgreSQL alike."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from a2e.store.session import Database


@pytest.fixture
def table(db):
    with db.session(write=True) as session:
        session.execute(text("CREATE TABLE scratch (x INTEGER PRIMARY KEY)"))
    yield
    with db.session(write=True) as session:
        session.execute(text("DROP TABLE scratch"))


def insert(db):
    return "INSERT INTO scratch VALUES ({}) RETURNING x".format(
        ":x" if db.dialect == "sqlite" else "%(x)s"
    )


def rows(db):
    with db.session() as session:
        return list(session.scalars(text("SELECT x FROM scratch ORDER BY x")))


def test_a_statement_commits_on_its_own_and_returns_its_rows(db, table):
    assert db.run_statement(insert(db), {"x": 1}) == [(1,)]
    assert rows(db) == [1]
    with db.connection() as conn:  # the connection went back to the pool in its usual mode
        conn.execute(text("INSERT INTO scratch VALUES (2)"))
        conn.rollback()
    assert rows(db) == [1]


def test_driver_errors_leave_as_sqlalchemy_errors_and_change_nothing(db, table):
    db.run_statement(insert(db), {"x": 1})
    with pytest.raises(DBAPIError) as raised:
        db.run_statement(insert(db), {"x": 1})
    assert not raised.value.connection_invalidated
    assert db.run_statement(insert(db), {"x": 2}) == [(2,)]
    assert rows(db) == [1, 2]


def test_a_connection_that_died_fails_its_statement_and_is_never_used_again(db):
    if db.dialect != "postgresql":
        pytest.skip("a server-side disconnect needs PostgreSQL")
    single = Database.from_url(db.engine.url)
    (pid,), = single.run_statement("SELECT pg_backend_pid()", {})  # this thread's connection
    with db.engine.connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    with pytest.raises(OperationalError) as raised:
        single.run_statement("SELECT 1", {})
    assert raised.value.connection_invalidated
    (new_pid,), = single.run_statement("SELECT pg_backend_pid()", {})
    assert new_pid != pid
    single.dispose()


def test_a_single_statement_connection_commits_and_leaves_the_pool_as_it_was(db, table):
    with db.connection(write=True, single_statement=True) as conn:
        conn.execute(text("INSERT INTO scratch VALUES (1)"))
    with db.connection(single_statement=True) as conn:
        assert conn.execute(text("SELECT x FROM scratch")).scalars().all() == [1]
    with pytest.raises(RuntimeError), db.connection(write=True) as conn:
        conn.execute(text("INSERT INTO scratch VALUES (2)"))
        raise RuntimeError("boom")  # a plain transaction still rolls back
    assert rows(db) == [1]
