"""``GET /metrics``: who may scrape, and the scenario's counters in the exposition."""

from __future__ import annotations

from statistics import fsum

import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from tests.dashboard import scenario
from tests.dashboard.prom import check_scenario, samples, value
from tests.helpers import auth


def test_the_scenario_is_counted(client, admin, played):
    response = client.get("/metrics", headers=admin)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    text = response.get_data(as_text=True)
    assert "# TYPE a2e_run_duration_seconds histogram" in text
    assert "# TYPE a2e_runs_total counter" in text
    found = samples(text)
    check_scenario(found, scenario.EXPECTED)
    seconds = [run["duration_ms"] / 1000 for run in played.runs]
    assert value(found, "a2e_run_duration_seconds_sum") == pytest.approx(fsum(seconds))
    assert value(found, "a2e_run_duration_seconds_bucket", le="300.0") == 8
    within = value(found, "a2e_run_duration_seconds_bucket", le="0.05")
    assert within == sum(1 for s in seconds if s <= 0.05)


def test_an_empty_database_has_every_series_at_zero(client, admin):
    found = samples(client.get("/metrics", headers=admin).get_data(as_text=True))
    check_scenario(found, {"runs": {}, "steps": {}, "rejections": {}, "retries": 0,
                           "cache_hits": 0, "cache_misses": 0, "cache_entries": 0})


def test_no_key_is_401_an_agent_key_403(client, keys):
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.get_json()["error"]["type"] == "AuthenticationError"
    assert client.get("/metrics", headers={"Authorization": "Bearer a2e_nope"}).status_code == 401
    denied = client.get("/metrics", headers=auth(keys["alpha"]))
    assert denied.status_code == 403 and denied.get_json()["error"]["type"] == "PermissionError"


def test_public_metrics_need_no_key(make_app):
    client = make_app(metrics={"public": True}).test_client()
    assert client.get("/metrics").status_code == 200


def test_metrics_config_is_validated(settings_factory):
    from a2e.config import ConfigError

    with pytest.raises(ConfigError, match="metrics.public"):
        settings_factory(metrics={"public": "sometimes"})
    with pytest.raises(ConfigError, match="metrics.open"):
        settings_factory(metrics={"open": True})
