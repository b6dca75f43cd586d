"""schemathesis against a real ``a2e serve``, through the served OpenAPI document.

``--checks all -n 15 --phases coverage,fuzzing --seed 1``, once with an agent key and
once with an admin key: any failure (an undocumented status or content type, a body
that does not match its schema, a schema-valid request refused, an invalid one taken,
a 5xx) fails the test. ``schemathesis.toml`` beside this file holds the one setting it
needs (why is written there).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from a2e.store.queries import agents as agent_queries
from a2e.store.session import Database
from tests.conftest import PG_URL
from tests.serving import ServerProcess

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture(scope="module")
def fuzz_target(migrated_template, tmp_path_factory):
    """A server on its own copy of the database, and an agent and an admin key."""
    workdir = tmp_path_factory.mktemp("fuzz")
    url = migrated_template
    if not PG_URL:
        shutil.copyfile(make_url(migrated_template).database, workdir / "fuzz.db")
        url = f"sqlite:///{workdir / 'fuzz.db'}"
    db = Database.from_url(url)
    with db.session(write=True) as session:
        keys = {
            "admin": agent_queries.create_agent(session, "fuzz-admin", admin=True,
                                                allowed_hosts=["127.0.0.1"]).api_key,
            "agent": agent_queries.create_agent(session, "fuzz-agent",
                                                allowed_hosts=["127.0.0.1"]).api_key,
        }
    db.dispose()
    config = workdir / "config.json"
    config.write_text(json.dumps({"rateLimiting": {"enabled": False},
                                  "execution": {"run_deadline_s": 5, "max_wait_ms": 100}}))
    server = ServerProcess(url, workdir, workers=2, env={"A2E_CONFIG": str(config)}).start()
    yield server, keys
    server.stop()


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_schemathesis_finds_no_failure(fuzz_target, role):
    server, keys = fuzz_target
    result = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(CONFIG), "run", f"{server.url}/api/v1/openapi.json",
         "--checks", "all", "-n", "15", "--phases", "coverage,fuzzing", "--seed", "1",
         "-H", f"Authorization: Bearer {keys[role]}", "--no-color"],
        capture_output=True, text=True, timeout=1200, check=False, cwd=server.workdir,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
