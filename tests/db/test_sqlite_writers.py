"""SQLite writers — a write transaction (``BEGIN IMMEDIATE``) or one writing statement
(``run_statement``) — wait for the lock with a tight retry, then fail cleanly."""

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from a2e.store.session import Database


def in_a_transaction(db: Database, x: int) -> None:
    with db.session(write=True) as session:
        session.execute(text("INSERT INTO t VALUES (:x)"), {"x": x})


def as_one_statement(db: Database, x: int) -> None:
    db.run_statement("INSERT INTO t VALUES (:x) RETURNING x", {"x": x})


WRITERS = pytest.mark.parametrize("write", [in_a_transaction, as_one_statement])


def database(tmp_path, busy_timeout_ms: int) -> Database:
    db = Database.from_url(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=busy_timeout_ms)
    with db.session(write=True) as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
    return db


@WRITERS
def test_a_writer_waits_for_the_lock_and_gets_it_once_released(
    tmp_path, write: Callable[[Database, int], None]
):
    db = database(tmp_path, 2000)
    waited: list[float] = []

    def second_writer() -> None:
        start = time.monotonic()
        write(db, 2)
        waited.append(time.monotonic() - start)

    with db.session(write=True) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.3)
    thread.join(5)
    assert waited[0] >= 0.25  # it waited for the lock, then its write went through
    with db.session() as session:
        assert list(session.scalars(text("SELECT x FROM t ORDER BY x"))) == [1, 2]
    db.dispose()


@WRITERS
def test_a_writer_gives_up_after_the_busy_timeout_with_a_database_error(
    tmp_path, write: Callable[[Database, int], None]
):
    db, other = database(tmp_path, 200), database(tmp_path, 200)
    with db.session(write=True) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        start = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            write(other, 2)
        assert time.monotonic() - start >= 0.15  # it waited before giving up
    db.dispose()
    other.dispose()
