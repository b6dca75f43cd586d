"""``/api/v1/dashboard/*``: the figures equal what the scripted scenario did."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from statistics import mean, median

import pytest
from sqlalchemy import select

from a2e.store.models import Run, RunStep
from tests.dashboard.scenario import EXPECTED
from tests.helpers import auth


def metrics(client, admin, query: str = "") -> dict:
    response = client.get(f"/api/v1/dashboard/metrics{query}", headers=admin)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_overview_and_timeline_count_the_scenario(client, admin, played, clock):
    body = metrics(client, admin)
    overview = body["overview"]
    durations = [run["duration_ms"] for run in played.runs]
    assert (overview["total_executions"], overview["successful_executions"],
            overview["failed_executions"], overview["interrupted"], overview["cancelled"]) \
        == (8, 6, 2, 0, 0)
    assert overview["average_duration_ms"] == pytest.approx(mean(durations), abs=0.01)
    assert overview["total_agents"] == 2
    assert [(a["agent"], a["total"], a["succeeded"], a["failed"]) for a in overview["top_agents"]] \
        == [("alpha", 5, 3, 2), ("beta", 3, 3, 0)]
    timeline = body["timeline"]
    today = clock.now().date()
    assert [day["date"] for day in timeline] == [
        (today - timedelta(days=n)).isoformat() for n in range(6, -1, -1)]
    assert timeline[-1] == {"date": today.isoformat(), "total": 8, "success": 6, "failed": 2}
    assert all(day["total"] == 0 for day in timeline[:-1])
    rates = {row["agent"]: row["success_rate"] for row in body["success_rate_by_agent"]}
    assert rates == {"alpha": 0.6, "beta": 1.0}


def test_operations_durations_and_recent_runs(client, admin, played, db):
    body = metrics(client, admin)
    with db.session() as session:
        steps = session.execute(select(RunStep.op_type, RunStep.duration_ms, RunStep.status)).all()
        runs = session.execute(select(Run.id, Run.duration_ms).order_by(Run.id)).all()
    by_type = {row["operation_type"]: row for row in body["operations"]}
    assert list(by_type) == ["ApiCall", "GetCurrentDateTime"]
    for op_type, row in by_type.items():
        mine = [s for s in steps if s.op_type == op_type]
        assert row["count"] == len(mine)
        assert row["total_duration_ms"] == sum(s.duration_ms for s in mine)
        assert row["average_duration_ms"] == pytest.approx(mean(s.duration_ms for s in mine), abs=0.01)
        assert row["failures"] == EXPECTED["steps"].get((op_type, "failed"), 0)
    durations = sorted(run.duration_ms for run in runs)
    distribution = body["duration_distribution"]
    assert (distribution["count"], distribution["min_ms"], distribution["max_ms"]) \
        == (8, durations[0], durations[-1])
    assert distribution["median_ms"] == pytest.approx(median(durations))
    assert sum(bucket["count"] for bucket in distribution["buckets"]) == 8
    recent = body["recent_executions"]
    assert [row["run_id"] for row in recent] == [run.id for run in reversed(runs)]
    assert {row["execution_id"] for row in recent} == {run["execution_id"] for run in played.runs}
    failed = [row for row in recent if row["status"] == "failed"]
    assert len(failed) == 2 and all(row["agent"] == "alpha" and row["error"] for row in failed)


def test_rate_limiting_retry_and_cache_panels(client, admin, played):
    body = metrics(client, admin)
    limiting = body["rate_limiting"]
    assert limiting["total_rejections"] == 2
    assert limiting["rejections"] == [{"limit": "requests_per_day", "agent": "beta", "rejections": 2}]
    assert limiting["near_limits"] == [
        {"agent": "beta", "limit": "requests_per_day", "used": 3, "quota": 3, "usage": 1.0}]
    assert body["retry"] == {"retries": 3, "retried_steps": 2, "recovered_runs": 1, "give_ups": 1}
    cache = body["cache"]
    assert (cache["hits"], cache["misses"], cache["hit_rate"], cache["entries"], cache["cached_steps"]) \
        == (1, 1, 0.5, 1, 1)
    assert cache["bytes"] > 0 and cache["evictions"] == 0


def test_filters_by_agent_and_workflow(client, admin, played):
    beta = metrics(client, admin, "?agent=beta&days=1")
    assert beta["period"]["days"] == 1 and len(beta["timeline"]) == 1
    assert beta["overview"]["total_executions"] == 3
    assert [row["operation_type"] for row in beta["operations"]] == ["GetCurrentDateTime"]
    assert beta["retry"]["retries"] == 0 and beta["cache"]["hits"] == 0
    assert beta["rate_limiting"]["total_rejections"] == 2
    alpha = metrics(client, admin, "?agent=alpha")
    assert alpha["rate_limiting"]["rejections"] == [] and alpha["cache"]["hits"] == 1
    assert metrics(client, admin, "?workflow=nightly")["overview"]["total_executions"] == 0


def test_overview_timeline_and_export_endpoints(client, admin, played):
    whole = metrics(client, admin)
    overview = client.get("/api/v1/dashboard/overview?days=3", headers=admin).get_json()
    assert set(overview) == {"period", "overview"}
    assert overview["overview"]["total_executions"] == whole["overview"]["total_executions"]
    timeline = client.get("/api/v1/dashboard/timeline?days=30", headers=admin).get_json()
    assert len(timeline["timeline"]) == 30 and timeline["timeline"][-1]["total"] == 8
    exported = client.get("/api/v1/dashboard/export?days=7&format=json", headers=admin)
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    rows = exported.get_json()
    assert sorted(row["execution_id"] for row in rows) \
        == sorted(run["execution_id"] for run in played.runs)
    as_csv = client.get("/api/v1/dashboard/export?format=csv&agent=alpha", headers=admin)
    assert as_csv.mimetype == "text/csv"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    lines = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert len(lines) == 5 and {line["agent"] for line in lines} == {"alpha"}
    assert sorted(line["status"] for line in lines) == ["failed", "failed", "succeeded",
                                                        "succeeded", "succeeded"]


def test_an_empty_period_has_zero_days_and_no_averages(client, admin, keys):
    body = metrics(client, admin, "?days=2")
    assert [day["total"] for day in body["timeline"]] == [0, 0]
    assert body["overview"]["average_duration_ms"] is None
    assert body["duration_distribution"]["median_ms"] is None
    assert body["cache"]["hit_rate"] is None


@pytest.mark.parametrize("query", ["?days=0", "?days=367", "?days=seven", "?days=",
                                   "?agent=", "?format=xml"])
def test_bad_parameters_are_400(client, admin, keys, query):
    path = "/api/v1/dashboard/export" if "format" in query else "/api/v1/dashboard/metrics"
    response = client.get(path + query, headers=admin)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["type"] == "ValidationError"


def test_unknown_agent_is_404(client, admin):
    response = client.get("/api/v1/dashboard/metrics?agent=nobody", headers=admin)
    assert response.status_code == 404 and "nobody" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("path", ["metrics", "overview", "timeline", "export"])
def test_agents_get_403_and_anonymous_401(client, keys, path):
    assert client.get(f"/api/v1/dashboard/{path}", headers=auth(keys["alpha"])).status_code == 403
    assert client.get(f"/api/v1/dashboard/{path}").status_code == 401
