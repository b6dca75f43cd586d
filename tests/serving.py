"""Real server processes for tests: ``a2e serve`` (gunicorn) on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import requests

A2E = str(Path(sys.executable).parent / "a2e")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``a2e serve --workers N`` as a child process; ``start()`` waits until it answers."""

    def __init__(self, database_url: str, workdir: Path, *, workers: int = 4,
                 env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log_dir = workdir / "logs"
        self.workers = workers
        self.args = args
        self.env = {
            **os.environ,
            "A2E_DATABASE_URL": database_url,
            "A2E_LOG_DIR": str(self.log_dir),
            "A2E_SECRET_KEY": "system-test-secret",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0, *, expect_healthy: bool = True) -> ServerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.output = open(self.workdir / f"server-{self.port}.out", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [A2E, "serve", "--port", str(self.port), "--workers", str(self.workers), *self.args],
            env=self.env, stdout=self.output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                response = requests.get(f"{self.url}/health", timeout=1)
                if response.status_code == 200 or not expect_healthy:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError("server did not answer /health in time")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self.process is not None:
            self.output.close()

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers): a crash."""
        self.stop(signal.SIGKILL)

    def __enter__(self) -> ServerProcess:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
