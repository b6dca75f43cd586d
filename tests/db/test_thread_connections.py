"""Each thread's own driver connection (``a2e.store.thread_connections``): one per
thread, closed with its thread, by ``dispose`` or when broken, pinged after idling,
and never closed by a forked child; on SQLite without a busy handler, waiting for the
write lock with a2e's own retry and no ``PRAGMA`` per transaction, all of one
process's writes on one connection."""

import multiprocessing
import sqlite3
import threading
import time

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import OperationalError

from a2e.store.models import Agent

from a2e.store.dialect import own_connection_setup
from a2e.store.session import Database
from a2e.store.thread_connections import ThreadConnections


@pytest.fixture
def pg(db):
    if db.dialect != "postgresql":
        pytest.skip("backend processes are PostgreSQL's")
    return db


@pytest.fixture
def lite(db):
    if db.dialect != "sqlite":
        pytest.skip("SQLite's busy handler")
    return db


def backend(cursor) -> int:
    return cursor.execute("SELECT pg_backend_pid()").fetchone()[0]


def alive(db: Database, pid: int) -> bool:
    with db.engine.connect() as conn:
        return bool(conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ))


def gone(db: Database, pid: int, within_s: float = 5.0) -> bool:
    """The backend exits a moment after its client closed the connection."""
    deadline = time.monotonic() + within_s
    while alive(db, pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def in_thread(call):
    result = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    thread.join()
    return result[0]


def test_a_thread_keeps_one_autocommit_connection_and_others_get_their_own(pg):
    connections = ThreadConnections(pg.engine, ping_after_idle_s=60, prepare=own_connection_setup(pg.engine))
    mine = connections.get().cursor
    assert connections.get().cursor is mine and mine.connection.autocommit
    assert in_thread(lambda: backend(connections.get().cursor)) != backend(mine)
    connections.close_all()


def test_a_connection_is_closed_with_its_thread_and_by_close_all(pg):
    connections = ThreadConnections(pg.engine, ping_after_idle_s=60, prepare=own_connection_setup(pg.engine))
    other = in_thread(lambda: backend(connections.get().cursor))
    assert gone(pg, other)
    mine = backend(connections.get().cursor)
    connections.close_all()
    assert gone(pg, mine)
    assert backend(connections.get().cursor) != mine  # made anew on the next use
    connections.close_all()


def test_dispose_closes_the_connections_of_run_statement(pg):
    single = Database.from_url(pg.engine.url)
    (pid,), = single.run_statement("SELECT pg_backend_pid()", {})
    single.dispose()
    assert gone(pg, pid)


def test_a_connection_that_died_while_idle_is_replaced_before_use(pg):
    connections = ThreadConnections(pg.engine, ping_after_idle_s=0, prepare=own_connection_setup(pg.engine))
    first = backend(connections.get().cursor)
    with pg.engine.connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first})
    assert backend(connections.get().cursor) != first  # the ping found it dead; no error
    connections.close_all()


def _child_uses_its_own(connections: ThreadConnections, out) -> None:
    out.put(backend(connections.get().cursor))
    connections.close_all()  # as a worker's dispose at exit: the parent's stays open


def test_a_forked_child_makes_its_own_and_leaves_the_parents_open(pg):
    connections = ThreadConnections(pg.engine, ping_after_idle_s=60, prepare=own_connection_setup(pg.engine))
    parent = backend(connections.get().cursor)
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_child_uses_its_own, args=(connections, out))
    child.start()
    assert out.get(timeout=10) != parent
    child.join(10)
    assert child.exitcode == 0
    assert backend(connections.get().cursor) == parent  # still open and usable
    connections.close_all()


def test_sqlite_run_path_statements_take_no_pragma_and_pooled_connections_keep_the_timeout(lite):
    own, writer = (lite._thread_connections.get().dbapi_conn,
                   lite._writer_connection.get().dbapi_conn)
    sent: list[str] = []
    for conn in (own, writer):
        conn.set_trace_callback(sent.append)
    with lite.driver_transaction() as tx:
        tx.execute(select(Agent.id).limit(1))
    lite.driver_statement(select(Agent.id).limit(1))
    lite.run_statement("SELECT 1", {})
    for conn in (own, writer):
        conn.set_trace_callback(None)
    assert "BEGIN IMMEDIATE" in sent and "COMMIT" in sent
    assert not [statement for statement in sent if "PRAGMA" in statement.upper()]
    for conn in (own, writer):
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    with lite.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_sqlite_driver_transaction_waits_for_a_writer_instead_of_failing(lite):
    path = lite.engine.url.database
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.3, holder.execute, ("COMMIT",))
    releaser.start()
    try:
        with lite.driver_transaction() as tx:
            tx.execute(insert(Agent).values(name="waited"))
        with lite.engine.connect() as conn:
            names = conn.scalars(select(Agent.name)).all()
        assert "waited" in names
    finally:
        releaser.join()
        holder.close()


def test_sqlite_threads_of_one_process_wait_their_turn_instead_of_retrying(lite):
    sent: list[str] = []
    lite._writer_connection.get().dbapi_conn.set_trace_callback(sent.append)

    def writer(number: int) -> None:
        with lite.driver_transaction() as tx:
            tx.execute(insert(Agent).values(name=f"turn-{number}"))
            time.sleep(0.05)  # holding SQLite's write lock while the others want it

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lite._writer_connection.get().dbapi_conn.set_trace_callback(None)
    assert sent.count("BEGIN IMMEDIATE") == 4
    with lite.engine.connect() as conn:
        names = set(conn.scalars(select(Agent.name)).all())
    assert {f"turn-{number}" for number in range(4)} <= names


def _data_version(db: Database) -> int:
    """SQLite's count for the connection a write transaction runs on: it changes when
    another connection has committed (and the connection's page cache is dropped)."""
    with db.driver_transaction() as tx:
        return tx.exec_driver_sql("PRAGMA data_version", ()).scalar()


def test_sqlite_writes_of_every_thread_share_one_connection_whose_cache_stays_valid(lite):
    before = _data_version(lite)

    def write() -> None:
        with lite.driver_transaction() as tx:
            tx.execute(insert(Agent).values(name="from-another-thread"))

    in_thread(write)
    lite.run_statement("UPDATE agents SET disabled = disabled WHERE id = -1", {})
    assert _data_version(lite) == before  # nobody else committed: nothing to read back
    with lite.session(write=True) as session:  # a pooled connection's commit does count
        session.execute(insert(Agent).values(name="from-a-session"))
    assert _data_version(lite) != before


def test_a_database_that_cannot_be_reached_raises_sqlalchemys_error():
    unreachable = Database.from_url("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(OperationalError):
            unreachable.driver_statement(select(Agent.id))
        with pytest.raises(OperationalError):
            unreachable.run_statement("SELECT 1", {})
    finally:
        unreachable.dispose()


def test_health_takes_a_pooled_connection_that_died_for_no_verdict(pg):
    """The pool hands out a connection idle for under a second without a ping; one the
    server dropped meanwhile is replaced, and the database is still found at its head."""
    from a2e.store.schema_state import OK, schema_state

    assert schema_state(pg) == OK
    with pg.engine.connect() as conn:
        pooled = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = pg.engine.connect()  # another one; the first goes back to the pool first
    with killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pooled})
    assert schema_state(pg) == OK
    with pg.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pooled
