"""Dashboard fixtures: an app on a FakeClock set to now, the scenario's agents, and the
scenario played through the test client."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from a2e.engine.clock import FakeClock
from tests.dashboard import scenario
from tests.helpers import auth


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(timezone.utc).replace(hour=9, minute=0, second=0, microsecond=0))


@pytest.fixture
def app(make_app):
    return make_app(**scenario.CONFIG)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def keys(make_agent) -> dict[str, Any]:
    return {"alpha": make_agent("alpha"), "beta": make_agent("beta"),
            "root": make_agent("root", admin=True)}


@pytest.fixture
def admin(keys) -> dict[str, str]:
    return auth(keys["root"])


@pytest.fixture
def played(client, keys, httpserver) -> scenario.Outcome:
    def post(agent: str, workflow: str) -> tuple[int, dict[str, Any]]:
        response = client.post("/api/v1/workflows/execute", headers=auth(keys[agent]),
                               json={"workflow": workflow})
        return response.status_code, response.get_json()

    outcome = scenario.run(post, httpserver)
    scenario.check_outcome(outcome)
    return outcome
