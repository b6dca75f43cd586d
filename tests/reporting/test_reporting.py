"""The reporting views (migration 0005) and ``a2e report`` on a real database."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from a2e.cli import cli
from a2e.store.queries.reporting import percentile
from tests.reporting.conftest import view


def test_agent_usage_daily(db, seeded):
    rows = view(db, "agent_usage_daily", "agent, day")
    summary = [(r["agent"], str(r["day"]), r["requests"], r["rejected_requests"], r["runs"],
                r["failed_runs"], r["api_calls"]) for r in rows]
    assert summary == [
        ("alpha", "2026-03-01", 60, 5, 3, 1, 7),
        ("alpha", "2026-03-02", 3, 0, 2, 0, 0),
        ("beta", "2026-03-02", 0, 0, 2, 0, 0),
    ]


def test_run_summary(db, seeded):
    rows = view(db, "run_summary", "agent, workflow")
    by_key = {(r["agent"], r["workflow"]): r for r in rows}
    adhoc = by_key[("alpha", None)]
    assert (adhoc["runs"], adhoc["succeeded"], adhoc["failed"]) == (3, 2, 1)
    assert adhoc["success_rate"] == pytest.approx(2 / 3)
    assert adhoc["mean_duration_ms"] == pytest.approx(200)
    assert adhoc["max_duration_ms"] == 300
    nightly = by_key[("alpha", "nightly")]
    assert (nightly["runs"], nightly["interrupted"], nightly["success_rate"]) == (2, 1, 0.5)
    beta = by_key[("beta", None)]
    assert (beta["runs"], beta["running"], beta["success_rate"], beta["max_duration_ms"]) == (2, 1, 1.0, 40)


def test_rate_limit_rejections(db, seeded):
    rows = view(db, "rate_limit_rejections", "kind, period")
    assert [(r["agent"], r["kind"], r["period"], r["rejected"], r["quota"]) for r in rows] == [
        ("alpha", "api_calls", "hour", 2, 100),
        ("alpha", "requests", "day", 1, 100),
        ("alpha", "requests", "minute", 4, 100),
    ]


def test_cache_efficiency(db, seeded):
    rows = view(db, "cache_efficiency", "agent, op_type")
    assert [(r["agent"], r["op_type"], r["hits"], r["misses"], r["evictions"]) for r in rows] == [
        ("alpha", "ApiCall", 3, 1, 2), ("alpha", "FilterData", 0, 0, 0), ("beta", "ApiCall", 1, 3, 0)]
    assert rows[0]["hit_rate"] == pytest.approx(0.75)
    assert rows[1]["hit_rate"] is None


@pytest.fixture
def report(cli_env):
    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli, ["report", *args])
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_report_usage_prints_a_table(report, seeded):
    lines = report("usage").splitlines()
    assert lines[0].split() == ["day", "agent", "requests", "rejected_requests", "runs",
                                "failed_runs", "api_calls"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["2026-03-01", "alpha", "60", "5", "3", "1", "7"]
    assert len(lines) == 5
    filtered = report("usage", "--agent", "beta", "--since", "2026-03-02", "--format", "json")
    assert json.loads(filtered) == [{"day": "2026-03-02", "agent": "beta", "requests": 0,
                                     "rejected_requests": 0, "runs": 2, "failed_runs": 0,
                                     "api_calls": 0}]


def test_report_runs_adds_percentiles_and_agrees_with_the_view(report, db, seeded):
    rows = json.loads(report("runs", "--format", "json"))
    by_key = {(r["agent"], r["workflow"]): r for r in rows}
    adhoc = by_key[("alpha", None)]
    assert adhoc["p50_duration_ms"] == pytest.approx(200)
    assert adhoc["p95_duration_ms"] == pytest.approx(290)
    for summary in view(db, "run_summary", "agent, workflow"):
        mine = by_key[(summary["agent"], summary["workflow"])]
        for name in ("runs", "succeeded", "failed", "max_duration_ms"):
            assert mine[name] == summary[name]
        assert mine["success_rate"] == pytest.approx(summary["success_rate"])
    since = json.loads(report("runs", "--agent", "alpha", "--since", "2026-03-02", "--format", "json"))
    assert [(r["workflow"], r["runs"]) for r in since] == [("nightly", 2)]
    assert since[0]["p50_duration_ms"] == pytest.approx(525)


def test_report_cache_and_csv(report, seeded):
    out = report("cache", "--format", "csv").splitlines()
    assert out[0] == "op_type,hits,misses,hit_rate,evictions,expirations,invalidations"
    assert out[1] == "ApiCall,4,4,0.5,2,0,0"
    assert "does not apply" in report("cache", "--since", "2026-01-01", code=2)
    assert "no agent named" in report("runs", "--agent", "nobody", code=1)


def test_percentile_matches_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.95) == 7
    assert percentile([100, 200, 300], 0.5) == 200
    assert percentile([10, 20, 30, 40], 0.95) == pytest.approx(38.5)
