"""Wall-clock deadlines for an HTTP attempt's blocking socket I/O.

A socket timeout bounds each ``recv`` alone, so a server that sends one byte a second
never trips it. Here one daemon thread keeps the open attempts by deadline and, when
one passes, shuts down every socket the attempt uses: the blocked ``recv`` (of the
status line, the headers or the body) returns at once and the attempt fails. The
connection pools of :data:`WATCHED_POOLS` hand their connections to the attempt that
is active in the calling context (:meth:`Watchdog.watch`).
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Watch:
    """One attempt: its deadline, whether it passed, and the connections it uses."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.thread = threading.get_ident()
        self.fired = False
        self.done = False
        self._connections: list[Any] = []
        self._lock = threading.Lock()

    def attach(self, connection: Any) -> None:
        """Watch ``connection`` (shut at once when the deadline already passed)."""
        with self._lock:
            self._connections.append(connection)
            if self.fired:
                _shut(connection)

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            for connection in self._connections:
                _shut(connection)


def _shut(connection: Any) -> None:
    """Shut the connection's socket down for reading and writing (not SSL-aware on purpose:
    the TLS layer is left to fail on the dead socket in the reading thread)."""
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


_current: ContextVar[Watch | None] = ContextVar("a2e_http_watch", default=None)


class Watchdog:
    """The thread that fires watches at their deadlines (started on first use, per process)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, deadline: float) -> Iterator[Watch]:
        """Bound the I/O of this context to ``deadline`` (``time.monotonic()`` seconds)."""
        if self._pid != os.getpid():  # forked: the thread and the lock are the parent's
            self._reset()
        watch = Watch(deadline)
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="a2e-http-watchdog", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (deadline, next(self._seq), watch))
            if self._heap[0][2] is watch:
                self._cond.notify()
        token = _current.set(watch)
        try:
            yield watch
        finally:
            _current.reset(token)
            with watch._lock:
                watch.done = True

    def fire_thread(self, thread: int) -> None:
        """End the attempts of ``thread`` now, as if their deadline passed (a cancelled run)."""
        with self._cond:
            watches = [watch for _, _, watch in self._heap if watch.thread == thread]
        for watch in watches:
            watch.fire()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline, _, watch = self._heap[0]
                if watch.done:
                    heapq.heappop(self._heap)
                    continue
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
            watch.fire()


WATCHDOG = Watchdog()


def _attach(connection: Any) -> None:
    watch = _current.get()
    if watch is not None:
        watch.attach(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)
        _attach(connection)
        return connection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)
        _attach(connection)
        return connection


#: ``PoolManager.pool_classes_by_scheme`` for pools whose connections are watched.
WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
