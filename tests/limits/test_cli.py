"""``a2e limits show|set|reset|prune`` against a real database, seen by the server."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select

from a2e.cli import cli
from a2e.limits.windows import window_start
from a2e.store.base import utcnow
from a2e.store.models import UsageWindow
from a2e.store.session import Database
from tests.helpers import auth

CAPS = "/api/v1/capabilities"


@pytest.fixture
def run_cli(cli_env) -> Callable[..., dict]:
    def run(*args: str, code: int = 0) -> dict:
        result = CliRunner().invoke(cli, ["limits", *args])
        assert result.exit_code == code, result.output
        return json.loads(result.stdout) if code == 0 else {"output": result.output}

    return run


def test_set_changes_only_the_flags_given_and_clear_returns_to_defaults(
    run_cli: Callable[..., dict], make_agent: Callable
) -> None:
    make_agent("a")
    shown = run_cli("set", "a", "--per-minute", "5", "--concurrent-runs", "0")
    assert shown["overrides"]["requests_per_minute"] == 5
    assert shown["effective"]["requests_per_minute"] == 5
    assert shown["effective"]["concurrent_runs"] == 0
    shown = run_cli("set", "a", "--per-hour", "7")
    assert (shown["effective"]["requests_per_minute"], shown["effective"]["requests_per_hour"]) == (5, 7)
    shown = run_cli("set", "a", "--clear")
    assert set(shown["overrides"].values()) == {None}
    assert shown["effective"]["requests_per_minute"] == 60
    assert "at least one" in run_cli("set", "a", code=2)["output"]
    assert "no agent" in run_cli("show", "nobody", code=1)["output"].lower()


def test_set_and_reset_take_effect_on_the_next_request(
    run_cli: Callable[..., dict], make_agent: Callable, client: FlaskClient
) -> None:
    key = make_agent("a")
    run_cli("set", "a", "--per-minute", "1")
    assert client.get(CAPS, headers=auth(key)).status_code == 200
    assert client.get(CAPS, headers=auth(key)).status_code == 429
    assert run_cli("show", "a")["usage"]["requests_per_minute"] == 1
    assert run_cli("reset", "a")["usage"]["requests_per_minute"] == 0
    assert client.get(CAPS, headers=auth(key)).status_code == 200
    run_cli("set", "a", "--per-minute", "3")
    assert client.get(CAPS, headers=auth(key)).status_code == 200


def test_prune_deletes_rows_older_than_the_retention(
    run_cli: Callable[..., dict], make_agent: Callable, db: Database
) -> None:
    agent_id = make_agent("a").agent_id
    now = utcnow()
    with db.session(write=True) as session:
        for days in (1, 20, 40, 41):
            session.add(UsageWindow(
                agent_id=agent_id, kind="requests", period="hour",
                window_start=window_start(now - timedelta(days=days), "hour"),
                admitted=1, rejected=0, quota=10,
            ))
    assert run_cli("prune")["deleted"] == 2  # default retention: 35 days
    assert run_cli("prune", "--days", "10")["deleted"] == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(UsageWindow)) == 1
