"""A killed server leaves no run ``running``; a database outage is a 503, not a 500."""

from __future__ import annotations

import socket
import threading
import time

import requests
from sqlalchemy import select

from a2e.store.models import AuditEvent, Run
from a2e.store.owner import pid_alive
from tests.api.workflow_helpers import jsonl, op
from tests.conftest import migrate
from tests.helpers import auth, verify_sealed
from tests.serving import ServerProcess, free_port


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def test_kill_9_during_a_wait_marks_the_run_interrupted_on_restart(
    database_url, make_agent, db, tmp_path
):
    key = make_agent("sleeper")
    server = ServerProcess(database_url, tmp_path, workers=2).start()
    workflow = jsonl(op("nap", "Wait", duration=20_000), execution_id="long-nap")

    def post() -> None:
        try:
            requests.post(f"{server.url}/api/v1/workflows/execute", headers=auth(key),
                          json={"workflow": workflow}, timeout=30)
        except requests.RequestException:
            pass  # the server dies under this request

    client = threading.Thread(target=post, daemon=True)
    client.start()

    def running() -> bool:
        with db.session() as session:
            return session.scalar(select(Run.status).where(Run.execution_id == "long-nap")) == "running"

    wait_for(running)
    with db.session() as session:
        owner_pid = session.scalar(select(Run.owner_pid).where(Run.execution_id == "long-nap"))
    server.kill()
    client.join(10)
    wait_for(lambda: not pid_alive(owner_pid))
    restarted = ServerProcess(database_url, tmp_path, workers=2).start()
    try:
        with db.session() as session:
            run = session.scalar(select(Run).where(Run.execution_id == "long-nap"))
        assert run.status == "interrupted"
        assert "interrupted" in run.error["message"]
        assert run.finished_at is not None
        detail = requests.get(f"{restarted.url}/api/v1/executions/long-nap", headers=auth(key),
                              timeout=10).json()
        assert detail["status"] == "interrupted"
        after = requests.get(f"{restarted.url}/api/v1/rate-limit/status", headers=auth(key),
                             timeout=10).json()
        assert after["usage"]["requests_per_minute"] >= 1  # the killed request stays counted
        report = verify_sealed(db, "system-test-secret")
        assert report.ok and report.checked >= 1, report
        with db.session() as session:
            event = session.scalar(select(AuditEvent).where(AuditEvent.action == "run.interrupted"))
        assert event.target == f"run:{run.id}" and event.actor == "server"
    finally:
        restarted.stop()


def test_the_server_starts_with_the_database_down_and_answers_503(tmp_path):
    closed = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    with ServerProcess(closed, tmp_path, workers=1).start(expect_healthy=False) as server:
        health = requests.get(f"{server.url}/health", timeout=10)
        assert health.status_code == 503 and health.json()["status"] == "unhealthy"
        agent = requests.get(f"{server.url}/api/v1/capabilities",
                             headers=auth("a2e_000000000000_secret"), timeout=10)
        assert agent.status_code == 503
        assert agent.json()["error"]["type"] == "ServiceUnavailable"
        assert int(agent.headers["Retry-After"]) >= 1


class TcpProxy:
    """A TCP forwarder we can cut and restore, standing for a database that goes away."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.connections: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                downstream, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                downstream.close()
                continue
            self.connections += [downstream, upstream]
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Stop listening and drop every connection (shutdown wakes the blocked accept)."""
        assert self.listener is not None
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for sock in self.connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.connections.clear()


def test_a_database_outage_is_503_and_the_service_recovers_without_restart(tmp_path, server_url):
    """PostgreSQL behind a proxy we cut and restore (skipped when the suite runs on SQLite)."""
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    if url.get_backend_name() != "postgresql":
        import pytest

        pytest.skip("needs PostgreSQL (A2E_TEST_DATABASE_URL)")
    proxy = TcpProxy(url.port or 5432)
    proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    migrate(proxied)
    from a2e.store.queries import agents as agent_queries
    from a2e.store.session import Database

    database = Database.from_url(proxied)
    with database.session(write=True) as session:
        key = agent_queries.create_agent(session, f"outage-{proxy.port}")
    database.dispose()
    with ServerProcess(proxied, tmp_path, workers=2) as server:
        try:
            check_outage_and_recovery(server, proxy, key)
        finally:
            proxy.cut()


def check_outage_and_recovery(server: ServerProcess, proxy: TcpProxy, key) -> None:
    def capabilities() -> requests.Response:
        return requests.get(f"{server.url}/api/v1/capabilities", headers=auth(key), timeout=20)

    assert capabilities().ok
    proxy.cut()
    down = capabilities()
    assert down.status_code == 503, down.text
    assert down.headers["Retry-After"]
    assert requests.get(f"{server.url}/health", timeout=20).status_code == 503
    proxy.start()
    wait_for(lambda: capabilities().status_code == 200)
    assert requests.get(f"{server.url}/health", timeout=10).json()["status"] == "healthy"
