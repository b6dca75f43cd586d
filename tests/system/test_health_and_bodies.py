"""A real ``a2e serve``: it starts on any database and answers 503 until that is
usable; a SQLite file deleted under it is noticed; chunked bodies meet the same cap."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from a2e.store.queries import agents as agent_queries
from a2e.store.session import Database, make_engine
from tests.conftest import PG_URL, REPO
from tests.serving import ServerProcess

A2E = str(Path(sys.executable).parent / "a2e")


def _admin_key(url: str) -> str:
    db = Database.from_url(url)
    try:
        with db.session(write=True) as session:
            return agent_queries.create_agent(session, "sys-admin", admin=True).api_key
    finally:
        db.dispose()


@pytest.fixture
def empty_database(server_url, tmp_path):
    """A database with no schema at all (PostgreSQL: a fresh one of its own)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"a2e_empty_{os.getpid()}_{tmp_path.name[-8:]}".replace("-", "_").lower()
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_serve_starts_unmigrated_answers_503_and_recovers_after_upgrade(empty_database, tmp_path):
    with ServerProcess(empty_database, tmp_path, workers=1).start(expect_healthy=False) as server:
        health = requests.get(f"{server.url}/health", timeout=10)
        assert health.status_code == 503
        assert health.json()["database"] == "not migrated"
        call = requests.get(f"{server.url}/api/v1/capabilities",
                            headers={"Authorization": "Bearer a2e_000000000000_x"}, timeout=10)
        assert call.status_code == 503 and "a2e db upgrade" in call.json()["error"]["message"]
        upgraded = subprocess.run([A2E, "db", "upgrade"], cwd=REPO, env=server.env,
                                  capture_output=True, text=True, timeout=300, check=False)
        assert upgraded.returncode == 0, upgraded.stderr
        assert requests.get(f"{server.url}/health", timeout=10).json()["database"] == "ok"
        key = _admin_key(empty_database)
        agents = requests.get(f"{server.url}/api/v1/admin/agents",
                              headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert agents.status_code == 200


def test_serve_starts_on_an_unreachable_database_and_says_so(tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    with ServerProcess(url, tmp_path, workers=1).start(expect_healthy=False) as server:
        health = requests.get(f"{server.url}/health", timeout=30)
        assert health.status_code == 503 and health.json()["database"] == "unreachable"


@pytest.mark.skipif(bool(PG_URL), reason="the file check is SQLite's")
def test_a_deleted_sqlite_file_is_503_and_nothing_is_written_to_it(migrated_template, tmp_path):
    path = tmp_path / "served.db"
    shutil.copyfile(make_url(migrated_template).database, path)
    url = f"sqlite:///{path}"
    key = _admin_key(url)
    headers = {"Authorization": f"Bearer {key}"}
    with ServerProcess(url, tmp_path, workers=2).start() as server:
        made = requests.post(f"{server.url}/api/v1/admin/agents", headers=headers,
                             json={"name": "before"}, timeout=10)
        assert made.status_code == 201
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        health = requests.get(f"{server.url}/health", timeout=10)
        assert health.status_code == 503 and health.json()["database"] == "unreachable"
        for index in range(10):
            refused = requests.post(f"{server.url}/api/v1/admin/agents", headers=headers,
                                    json={"name": f"after-{index}"}, timeout=10)
            assert refused.status_code == 503
    # Nothing was written anywhere: a new file at the path, if any, holds no agents.
    if path.exists():
        db = Database.from_url(url)
        try:
            with db.engine.connect() as conn:
                tables = conn.execute(text("SELECT name FROM sqlite_master")).scalars().all()
            assert "agents" not in tables
        finally:
            db.dispose()


def test_chunked_and_sized_bodies_over_the_cap_are_both_413(migrated_template, tmp_path):
    url = migrated_template
    if not PG_URL:
        shutil.copyfile(make_url(migrated_template).database, tmp_path / "cap.db")
        url = f"sqlite:///{tmp_path / 'cap.db'}"
    key = _admin_key(url)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = b'{"workflow": "' + b"a" * (1024 * 1024) + b'"}'

    def chunks():
        for start in range(0, len(body), 65536):
            yield body[start:start + 65536]

    with ServerProcess(url, tmp_path, workers=1).start() as server:
        target = f"{server.url}/api/v1/workflows/validate"
        sized = requests.post(target, data=body, headers=headers, timeout=30)
        chunked = requests.post(target, data=chunks(), headers=headers, timeout=30)
        small = requests.post(target, data=iter([b'{"workflow": "x"}']), headers=headers,
                              timeout=30)
    assert sized.status_code == 413 and chunked.status_code == 413
    assert chunked.json()["error"]["type"] == "RequestTooLarge"
    assert small.status_code == 200
