"""The rollups: rolling changes no figure, racing rollers count each run once, the grace
leaves late runs live, and ``a2e metrics roll``.

(Every test over the ``played`` fixture also runs with half and all of the scenario
rolled up: see tests/dashboard/conftest.py.)
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from a2e.cli import cli
from a2e.store.models import RollupWatermark, Run, RunDurationRollup, RunRollup, RunStep, StepRollup
from a2e.store.queries.dashboard import Scope, read_counters, read_metrics
from a2e.store.rollup import EPOCH, BackgroundRoller, roll, rolled_until
from a2e.store.session import Database
from tests.dashboard.conftest import roll_all
from tests.dashboard.prom import samples

QUERIES = ("", "?days=1", "?days=30", "?agent=alpha", "?agent=beta&days=1", "?workflow=nightly")


def documents(client, admin) -> dict[str, dict]:
    """Every dashboard document of :data:`QUERIES` (without its period) and /metrics."""
    found = {}
    for query in QUERIES:
        body = client.get(f"/api/v1/dashboard/metrics{query}", headers=admin).get_json()
        found[query] = {name: part for name, part in body.items() if name != "period"}
    found["/metrics"] = samples(client.get("/metrics", headers=admin).get_data(as_text=True))
    return found


def test_rolling_changes_no_figure(client, admin, played, db, clock):
    before = documents(client, admin)
    roll_all(db, clock)
    with db.session() as session:
        assert session.scalar(select(func.sum(RunRollup.runs))) == len(played.runs)
        assert session.scalar(select(func.count()).select_from(Run).where(
            Run.finished_at >= rolled_until(session))) == 0
    assert documents(client, admin) == before


def add_runs(db: Database, agent_id: int, finished: list[datetime], *, steps: int = 2) -> None:
    """Finished runs (one per ``finished`` time, 10 ms each per step) with their steps."""
    with db.session(write=True) as session:
        for n, end in enumerate(finished):
            start = end - timedelta(milliseconds=10 * steps)
            run_id = session.scalar(insert(Run).values(
                agent_id=agent_id, execution_id=f"x-{end.timestamp()}-{n}",
                status="failed" if n % 3 == 0 else "succeeded", owner_host="h", owner_pid=1,
                owner_boot_id="b", started_at=start, finished_at=end, duration_ms=n % 50,
            ).returning(Run.id))
            session.execute(insert(RunStep), [
                {"run_id": run_id, "position": p, "operation_id": f"op{p}", "op_type": "Calculate",
                 "status": "succeeded", "attempts": [{"attempt": 1}] * (1 + p),
                 "started_at": start, "finished_at": end, "duration_ms": 10, "cached": False}
                for p in range(steps)
            ])


def test_rollers_racing_over_the_same_range_count_each_run_once(database_url, make_agent, db):
    agent = make_agent("busy").agent_id
    now = datetime.now(UTC).replace(microsecond=0)
    # 300 runs over 5 hours: each roll is several batches, and every roller races for each.
    finished = [now - timedelta(hours=5) + timedelta(seconds=60 * n) for n in range(300)]
    add_runs(db, agent, finished)
    rollers = [Database.from_url(database_url) for _ in range(4)]
    errors: list[BaseException] = []
    try:
        for cutoff in (now - timedelta(hours=3), now - timedelta(hours=1), now + timedelta(seconds=1)):
            start = threading.Barrier(len(rollers))

            def race(mine: Database, cutoff: datetime = cutoff, start=start) -> None:
                try:
                    start.wait()
                    roll(mine, cutoff)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=race, args=(mine,)) for mine in rollers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            with db.session() as session:
                assert rolled_until(session) == cutoff
                rolled = session.scalar(select(func.sum(RunRollup.runs)))
                assert rolled == sum(1 for end in finished if end < cutoff)
    finally:
        for mine in rollers:
            mine.dispose()
    with db.session() as session:
        assert session.scalar(select(func.sum(RunRollup.duration_sum))) \
            == sum(n % 50 for n in range(300))
        assert session.scalar(select(func.sum(RunDurationRollup.runs))) == 300
        assert session.scalar(select(func.sum(StepRollup.steps))) == 600
        assert session.scalar(select(func.sum(StepRollup.retries))) == 300
        counters = read_counters(session)
    assert counters.runs == {"failed": 100, "succeeded": 200}
    assert counters.steps == {("Calculate", "succeeded"): 600}
    assert counters.apicall_retries == 300


def test_the_grace_leaves_recent_runs_live(make_agent, db):
    agent = make_agent("late").agent_id
    # Noon yesterday: both runs on one UTC day, whatever the hour the test runs at.
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    add_runs(db, agent, [now - timedelta(minutes=30), now - timedelta(seconds=30)])
    roller = BackgroundRoller(db, lambda: now, interval_s=60, grace_s=300)
    assert roll(db, roller.cutoff()) == now - timedelta(seconds=300)
    with db.session() as session:
        assert session.scalar(select(func.sum(RunRollup.runs))) == 1
        assert read_counters(session).runs == {"failed": 1, "succeeded": 1}
        document = read_metrics(session, Scope(days=1, now=now))
    assert document["overview"]["total_executions"] == 2
    assert document["duration_distribution"]["median_ms"] == 0.5


def test_the_background_roller_rolls_and_stops(make_agent, db):
    agent = make_agent("steady").agent_id
    now = datetime.now(UTC)
    add_runs(db, agent, [now - timedelta(minutes=10)])
    roller = BackgroundRoller(db, lambda: now, interval_s=0.01, grace_s=60)
    roller.start()
    try:
        for _ in range(2000):
            with db.session() as session:
                if rolled_until(session) == now - timedelta(seconds=60):
                    break
            threading.Event().wait(0.01)
    finally:
        roller.stop()
    with db.session() as session:
        assert rolled_until(session) == now - timedelta(seconds=60)
        assert session.scalar(select(func.sum(RunRollup.runs))) == 1


def test_cli_roll(cli_env, make_agent, db):
    agent = make_agent("bulk").agent_id
    now = datetime.now(UTC)
    add_runs(db, agent, [now - timedelta(hours=2), now - timedelta(hours=1, minutes=50),
                         now - timedelta(seconds=5)])
    result = CliRunner().invoke(cli, ["metrics", "roll", "--grace", "3600"])
    assert result.exit_code == 0, result.output
    with db.session() as session:
        until = rolled_until(session)
        assert session.scalar(select(func.sum(RunRollup.runs))) == 2
    assert result.output == f"rolled up to {until.isoformat()}\n"
    assert now - timedelta(seconds=3600) <= until < now
    assert CliRunner().invoke(cli, ["metrics", "roll", "--grace", "-1"]).exit_code == 2
    assert "--grace SECONDS" in CliRunner().invoke(cli, ["metrics", "roll", "--help"]).output


def test_a_fresh_database_has_rolled_nothing(db):
    with db.session() as session:
        assert session.scalar(select(RollupWatermark.rolled_until)) == EPOCH
        assert roll(db, EPOCH) == EPOCH


@pytest.mark.parametrize("setting", [{"roll_interval_s": 0}, {"roll_grace_s": -1},
                                     {"roll_interval_s": "often"}])
def test_roll_settings_are_validated(settings_factory, setting):
    from a2e.config import ConfigError

    with pytest.raises(ConfigError, match=f"metrics.{next(iter(setting))}"):
        settings_factory(metrics=setting)


def test_pruned_runs_stay_counted(cli_env, make_agent, db):
    agent = make_agent("old").agent_id
    now = datetime.now(UTC)
    add_runs(db, agent, [now - timedelta(days=100), now - timedelta(days=99), now - timedelta(days=1)])
    result = CliRunner().invoke(cli, ["runs", "prune"])
    assert result.exit_code == 0, result.output
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1
        assert read_counters(session).runs == {"failed": 1, "succeeded": 2}
        assert read_counters(session).steps == {("Calculate", "succeeded"): 6}
