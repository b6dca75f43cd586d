"""``a2e serve`` options that change behaviour."""

import json

import requests

from tests.helpers import auth
from tests.serving import ServerProcess


def test_no_rate_limits_switches_limiting_off(database_url, make_agent, tmp_path):
    key = make_agent("free")
    config = tmp_path / "a2e.json"
    config.write_text(json.dumps({"rateLimiting": {"requests_per_day": 1}}))
    env = {"A2E_CONFIG": str(config)}
    with ServerProcess(database_url, tmp_path / "off", workers=1, env=env,
                       args=("--no-rate-limits",)) as server:
        responses = [requests.get(f"{server.url}/api/v1/capabilities", headers=auth(key), timeout=10)
                     for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[0].headers
    with ServerProcess(database_url, tmp_path / "on", workers=1, env=env) as server:
        limited = [requests.get(f"{server.url}/api/v1/capabilities", headers=auth(key), timeout=10)
                   for _ in range(2)]
    assert [r.status_code for r in limited] == [200, 429]
