"""A raw-socket HTTP server that sends its answer one byte at a time (a slowloris in reverse)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Connection:
    """What the server saw of one connection: bytes sent, and whether the client hung up first."""

    sent: int = 0
    finished: bool = False
    client_closed: bool = False


@dataclass
class TrickleServer:
    """Answers every request with ``prefix`` at once, then ``trickle`` one byte per ``interval``."""

    prefix: bytes
    trickle: bytes
    interval: float = 0.05
    connections: list[Connection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        acceptor = threading.Thread(target=self._accept, daemon=True)
        acceptor.start()
        self._threads.append(acceptor)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection = Connection()
            self.connections.append(connection)
            worker = threading.Thread(target=self._serve, args=(sock, connection), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _serve(self, sock: socket.socket, connection: Connection) -> None:
        with sock:
            sock.settimeout(5)
            try:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                sock.sendall(self.prefix)
                connection.sent = len(self.prefix)
                for byte in self.trickle:
                    if self._stop.wait(self.interval):
                        return
                    sock.sendall(bytes([byte]))
                    connection.sent += 1
                connection.finished = True
            except OSError:
                connection.client_closed = True

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(5)


def slow_headers(total_s: float = 120.0, interval: float = 0.05) -> TrickleServer:
    """Status line at once, then headers at one byte per ``interval`` for about ``total_s``."""
    filler = b"X-Slow: " + b"a" * int(total_s / interval) + b"\r\n"
    return TrickleServer(b"HTTP/1.1 200 OK\r\n", filler + b"Content-Length: 2\r\n\r\n{}", interval)


def slow_body(total_s: float = 120.0, interval: float = 0.05) -> TrickleServer:
    """Headers at once, then a body of about ``total_s / interval`` bytes, one per ``interval``."""
    body = b"a" * int(total_s / interval)
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode())
    return TrickleServer(head, body, interval)


def wait_for_hangups(server: TrickleServer, timeout: float = 10.0) -> None:
    """Give the server's threads time to notice the client closed (they poll at ``interval``)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not all(c.client_closed or c.finished for c in server.connections):
        time.sleep(0.05)
