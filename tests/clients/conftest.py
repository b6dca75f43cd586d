"""A real ``a2e serve`` (one gunicorn worker) on the test database, and an agent's key."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from a2e.store.queries.agents import IssuedKey
from tests.serving import ServerProcess


@dataclass
class Served:
    url: str
    key: IssuedKey
    admin: IssuedKey
    server: ServerProcess


@pytest.fixture
def serve(database_url: str, make_agent: Callable[..., IssuedKey],
          tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``serve(config={...})``: start the server (once per test) with an agent ``clients-agent``."""
    started: list[ServerProcess] = []

    def start(config: dict[str, Any] | None = None, **agent: Any) -> Served:
        key = make_agent("clients-agent", **agent)
        admin = make_agent("clients-admin", admin=True)
        env = {}
        if config:
            path = tmp_path / "a2e.json"
            path.write_text(json.dumps(config))
            env["A2E_CONFIG"] = str(path)
        server = ServerProcess(database_url, tmp_path / "server", workers=1, env=env).start()
        started.append(server)
        return Served(server.url, key, admin, server)

    yield start
    for server in started:
        server.stop()
