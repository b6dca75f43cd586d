"""The SQLite file an engine opened, so that nothing is written to one that was
deleted or replaced while the server ran.

SQLite keeps writing to an open file after it was unlinked, and a new connection to
the path silently creates an empty database. :class:`SqliteFile` remembers the
file's identity (device and inode) when the engine first opens it and
:meth:`SqliteFile.check` compares it before every transaction: a file that is gone
or another one is an ``OperationalError`` (a 503 at the API) until the server is
restarted on the right file.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from sqlalchemy.exc import OperationalError


class SqliteFile:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._identity: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _current(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    def opened(self) -> None:
        """A connection opened the path: the first one fixes the file's identity."""
        with self._lock:
            if self._identity is None:
                self._identity = self._current()

    def problem(self) -> str | None:
        """Why the file can no longer be used, or None."""
        if self._identity is None:
            return None
        current = self._current()
        if current == self._identity:
            return None
        state = "deleted" if current is None else "replaced by another file"
        return (f"the SQLite database file {self.path} was {state} while the server ran; "
                "restart the server on the right file")

    def check(self) -> None:
        """Raise OperationalError when the file was deleted or replaced."""
        problem = self.problem()
        if problem is not None:
            raise OperationalError("-- database file check", None, sqlite3.OperationalError(problem))
