"""/metrics over two real server processes: whichever answers, the counters are the same.

The scenario is split between the servers so that each holds batched (not yet written)
cache and refusal counts; each scrape writes its own process's batch first, so after
one scrape of each, both answer every figure. Both servers' rollers (every second, 10 s
of grace) then roll the runs up, racing for each range, and the counters stay the same.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from a2e.store.models import Run, RunRollup, StepRollup
from a2e.store.rollup import rolled_until

from tests.dashboard import scenario
from tests.dashboard.prom import check_scenario, samples
from tests.helpers import auth
from tests.serving import ServerProcess

pytestmark = pytest.mark.system
#: Scenario steps played on the second server; the rest go to the first.
ON_SECOND = {"hit", "missing", "beta-1"}
ROLLING = {"metrics": {"roll_interval_s": 1, "roll_grace_s": 10}}


@pytest.fixture
def servers(database_url, tmp_path):
    config = tmp_path / "a2e.json"
    config.write_text(json.dumps(scenario.CONFIG | ROLLING))
    started = []
    try:
        for name in ("first", "second"):
            started.append(ServerProcess(database_url, tmp_path / name, workers=1,
                                         env={"A2E_CONFIG": str(config)}).start())
        yield started
    finally:
        for server in started:
            server.stop()


def poster(server: ServerProcess, keys: dict[str, Any]) -> scenario.Post:
    def post(agent: str, workflow: str) -> tuple[int, dict[str, Any]]:
        response = requests.post(f"{server.url}/api/v1/workflows/execute",
                                 headers=auth(keys[agent]), json={"workflow": workflow}, timeout=60)
        return response.status_code, response.json()

    return post


def wait_rolled(db, finished: datetime) -> None:
    """Until the servers' rollers have rolled every run finished by ``finished``."""
    for _ in range(1200):
        with db.session() as session:
            if rolled_until(session) > finished:
                return
        time.sleep(0.1)
    raise AssertionError("the servers' rollers did not roll the runs")


def test_both_processes_report_the_same_counters(servers, make_agent, httpserver, db):
    keys = {"alpha": make_agent("alpha"), "beta": make_agent("beta"),
            "root": make_agent("root", admin=True)}
    first, second = servers
    on_second = poster(second, keys)
    outcome = scenario.run(poster(first, keys), httpserver,
                           posts={label: on_second for label in ON_SECOND})
    scenario.check_outcome(outcome)

    def scrape(server: ServerProcess) -> dict:
        response = requests.get(f"{server.url}/metrics", headers=auth(keys["root"]), timeout=30)
        assert response.status_code == 200, response.text
        return samples(response.text)

    scrape(first)
    scrape(second)
    from_first, from_second = scrape(first), scrape(second)
    check_scenario(from_first, scenario.EXPECTED)
    assert from_first == from_second
    agent_key = requests.get(f"{second.url}/metrics", headers=auth(keys["alpha"]), timeout=30)
    assert agent_key.status_code == 403
    assert requests.get(f"{first.url}/metrics", timeout=30).status_code == 401

    with db.session() as session:
        finished = session.scalar(select(func.max(Run.finished_at)))
    wait_rolled(db, finished)
    with db.session() as session:
        assert session.scalar(select(func.sum(RunRollup.runs))) == len(outcome.runs)
        assert session.scalar(select(func.sum(StepRollup.steps))) \
            == sum(scenario.EXPECTED["steps"].values())
    rolled = scrape(first)
    check_scenario(rolled, scenario.EXPECTED)
    assert rolled == from_first == scrape(second)
