"""Dashboard fixtures: an app on a FakeClock set to now, the scenario's agents, and the
scenario played through the test client."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from a2e.engine.clock import FakeClock
from a2e.store import rollup
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


@pytest.fixture(params=["live", "half rolled", "rolled"])
def played(request, client, keys, httpserver, db, clock) -> scenario.Outcome:
    """The scenario, its runs counted three ways: none rolled up yet; the first half rolled
    before the rest ran; all rolled. Every figure must be the same."""
    def post(agent: str, workflow: str) -> tuple[int, dict[str, Any]]:
        response = client.post("/api/v1/workflows/execute", headers=auth(keys[agent]),
                               json={"workflow": workflow})
        return response.status_code, response.get_json()

    def roll_then_post(agent: str, workflow: str) -> tuple[int, dict[str, Any]]:
        roll_all(db, clock)
        return post(agent, workflow)

    halfway = {"missing": roll_then_post} if request.param == "half rolled" else {}
    outcome = scenario.run(post, httpserver, posts=halfway)
    scenario.check_outcome(outcome)
    if request.param == "rolled":
        roll_all(db, clock)
    return outcome


def roll_all(db, clock: FakeClock) -> None:
    """Roll every run finished so far; the clock moves past the watermark, so that the
    runs that finish next are after it (as a roller's grace makes sure)."""
    clock.advance(1)
    assert rollup.roll(db, clock.now()) == clock.now()
    clock.advance(1)
