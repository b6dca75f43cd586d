"""``/health`` tells the truth: the database answers, is at the head, is the file opened."""

from __future__ import annotations

import os
import shutil

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from a2e.api import create_app
from a2e.store.schema_state import SCHEMA_REVISION
from tests.conftest import PG_URL, alembic_config
from tests.helpers import auth


def test_the_expected_revision_is_the_one_head():
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [SCHEMA_REVISION]


def test_a_database_behind_the_head_is_not_migrated(client, make_agent, db):
    key = make_agent("root", admin=True)
    assert client.get("/health").json["database"] == "ok"
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json == {**health.json, "status": "unhealthy", "database": "not migrated"}
        fresh = create_app(client.application.extensions["a2e"].settings)
        try:
            refused = fresh.test_client().get("/api/v1/capabilities", headers=auth(key))
            assert refused.status_code == 503
            assert refused.json["error"]["details"] == {"database": "not migrated"}
            assert "a2e db upgrade" in refused.json["error"]["message"]
        finally:
            fresh.extensions["a2e"].db.dispose()
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"),
                         {"head": SCHEMA_REVISION})


@pytest.mark.skipif(bool(PG_URL), reason="the file check is SQLite's")
@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_sqlite_file_deleted_or_replaced_is_503_for_health_and_writes(
        client, make_agent, database_url, tmp_path, how):
    key = make_agent("root", admin=True)
    assert client.post("/api/v1/admin/agents", headers=auth(key), json={"name": "one"}).status_code == 201
    path = database_url.removeprefix("sqlite:///")
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    if how == "replaced":
        shutil.copyfile(copy, path)
    health = client.get("/health")
    assert health.status_code == 503 and health.json["database"] == "unreachable"
    write = client.post("/api/v1/admin/agents", headers=auth(key), json={"name": "two"})
    assert write.status_code == 503 and write.headers["Retry-After"]
