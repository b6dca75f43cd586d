"""``a2e cache stats|clear|sweep`` on the database the app wrote (the CLI uses the system clock)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from a2e.cli import cli
from a2e.store.models import AuditEvent
from tests.cache.conftest import get_op, jsonl, op


@pytest.fixture
def run_cli(cli_env):
    def run(*args: str):
        result = CliRunner().invoke(cli, ["cache", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    return run


@pytest.fixture
def cached(make_agent, execute, httpserver):
    """Two agents with an ApiCall and a TransformData entry each (computed on 2025-01-01)."""
    httpserver.expect_request("/n").respond_with_json([3, 4])
    workflow = jsonl(
        get_op(httpserver.url_for("/n"), "numbers"),
        op("sorted", "TransformData", inputPath="/workflow/numbers", outputPath="/workflow/s",
           transform="sort", config={"order": "desc"}),
    )
    for name in ("alice", "bob"):
        execute(make_agent(name), workflow)


def test_stats_clear_by_type_and_agent(cached, run_cli, db):
    report = run_cli("stats")
    assert report["totals"]["entries"] == 4 and report["totals"]["misses"] == 4
    assert {(row["agent"], row["type"]) for row in report["rows"]} == {
        ("alice", "ApiCall"), ("alice", "TransformData"), ("bob", "ApiCall"), ("bob", "TransformData")}
    assert run_cli("clear", "--type", "TransformData", "--agent", "bob")["removed"] == 1
    assert run_cli("stats", "--agent", "bob")["totals"]["entries"] == 1
    assert run_cli("clear")["removed"] == 3
    with db.session() as session:
        details = [e.details for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cache.invalidated").order_by(AuditEvent.id))]
    assert details == [{"type": "TransformData", "agent": "bob", "removed": 1}, {"removed": 3}]


def test_sweep_drops_expired_entries(cached, run_cli):
    assert run_cli("sweep") == {"expired": 4}  # computed in 2025 on the tests' FakeClock
    report = run_cli("stats")
    assert (report["totals"]["entries"], report["totals"]["expirations"]) == (0, 4)


def test_help_describes_the_commands():
    output = CliRunner().invoke(cli, ["cache", "--help"]).output
    assert all(name in output for name in ("stats", "clear", "sweep"))
