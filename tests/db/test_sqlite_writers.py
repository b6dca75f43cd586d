"""SQLite write transactions wait for the lock with a tight retry, then fail cleanly."""

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from a2e.store.session import Database


def test_a_writer_waits_for_the_lock_and_gets_it_once_released(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=2000)
    with db.session(write=True) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    waited: list[float] = []

    def second_writer() -> None:
        start = time.monotonic()
        with db.session(write=True) as session:
            waited.append(time.monotonic() - start)
            session.execute(text("INSERT INTO t VALUES (2)"))

    with db.session(write=True) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.3)
    thread.join(5)
    assert 0.25 <= waited[0] < 1.0
    db.dispose()


def test_a_writer_gives_up_after_the_busy_timeout_with_a_database_error(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=200)
    other = Database.from_url(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=200)
    with db.session(write=True) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        with pytest.raises(OperationalError):
            with other.session(write=True):
                pass
    db.dispose()
    other.dispose()
