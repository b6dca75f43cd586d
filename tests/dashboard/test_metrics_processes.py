"""/metrics over two real server processes: whichever answers, the counters are the same.

The scenario is split between the servers so that each holds batched (not yet written)
cache and refusal counts; each scrape writes its own process's batch first, so after
one scrape of each, both answer every figure.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.dashboard import scenario
from tests.dashboard.prom import check_scenario, samples
from tests.helpers import auth
from tests.serving import ServerProcess

pytestmark = pytest.mark.system
#: Scenario steps played on the second server; the rest go to the first.
ON_SECOND = {"hit", "missing", "beta-1"}


@pytest.fixture
def servers(database_url, tmp_path):
    config = tmp_path / "a2e.json"
    config.write_text(json.dumps(scenario.CONFIG))
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


def test_both_processes_report_the_same_counters(servers, make_agent, httpserver):
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
