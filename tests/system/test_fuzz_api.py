"""schemathesis over the OpenAPI document, against a real ``a2e serve``: no 5xx anywhere."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.serving import ServerProcess


@pytest.fixture(scope="module")
def fuzz_target(migrated_template, tmp_path_factory):
    """A server on its own copy of the database, with an admin key for the requests."""
    import shutil

    from sqlalchemy.engine import make_url

    from a2e.store.queries import agents as agent_queries
    from a2e.store.session import Database
    from tests.conftest import PG_URL

    workdir = tmp_path_factory.mktemp("fuzz")
    url = migrated_template
    if not PG_URL:
        shutil.copyfile(make_url(migrated_template).database, workdir / "fuzz.db")
        url = f"sqlite:///{workdir / 'fuzz.db'}"
    db = Database.from_url(url)
    with db.session(write=True) as session:
        admin = agent_queries.create_agent(session, "fuzz-admin", admin=True,
                                           allowed_hosts=["127.0.0.1"])
    db.dispose()
    server = ServerProcess(url, workdir, workers=2,
                           env={"A2E_CONFIG": str(_config(workdir))}).start()
    yield server, admin.api_key
    server.stop()


def _config(workdir):
    import json

    path = workdir / "config.json"
    path.write_text(json.dumps({"rateLimiting": {"enabled": False},
                                "execution": {"run_deadline_s": 5, "max_wait_ms": 100}}))
    return path


def test_no_server_errors_on_any_operation(fuzz_target):
    server, key = fuzz_target
    document = requests.get(f"{server.url}/api/v1/openapi.json", timeout=10).json()
    api_schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {key}"}
    checked = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def no_5xx(case) -> None:
            response = case.call(base_url=server.url, headers=headers, timeout=30)
            assert response.status_code < 500, (
                case.method, case.formatted_path, response.text[:500])

        no_5xx()
        checked += 1
    assert checked >= 15
