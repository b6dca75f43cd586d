"""The SQL admission primitive: every window moves by one, or none does."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from a2e.limits.sql import SqlUsageStorage
from a2e.limits.windows import windows_for
from a2e.store.models import UsageWindow
from a2e.store.queries import usage as queries
from a2e.store.session import Database

NOW = datetime(2030, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


def counts(db, agent_id):
    with db.session() as session:
        rows = session.execute(select(UsageWindow.period, UsageWindow.admitted)
                               .where(UsageWindow.agent_id == agent_id)).all()
    return dict(rows)


def test_a_partly_full_set_of_windows_moves_none(db, make_agent):
    agent = make_agent().agent_id
    storage = SqlUsageStorage(db)
    limits = {"requests_per_minute": 2, "requests_per_hour": 100, "requests_per_day": 100}
    windows = windows_for("requests", limits, NOW)
    assert storage.admit(agent, windows).counts == {"minute": 1, "hour": 1, "day": 1}
    assert storage.admit(agent, windows).admitted
    refused = storage.admit(agent, windows)
    assert not refused.admitted and refused.full == ("minute",)
    assert counts(db, agent) == {"minute": 2, "hour": 2, "day": 2}


@pytest.mark.parametrize("full", ["minute", "hour", "day"])
def test_one_statement_moves_every_window_or_none_whichever_is_full(db, make_agent, full):
    agent = make_agent().agent_id
    limits = {"requests_per_minute": 5, "requests_per_hour": 5, "requests_per_day": 5}
    limits[f"requests_per_{full}"] = 1
    windows = windows_for("requests", limits, NOW)
    admission = queries.AdmissionSql(db)
    assert admission.admit(agent, windows) == {"minute": 1, "hour": 1, "day": 1}
    assert admission.admit(agent, windows) == {}
    assert admission.admit(agent, [w for w in windows if w.period == full]) == {}
    assert counts(db, agent) == {"minute": 1, "hour": 1, "day": 1}
    others = [w for w in windows if w.period != full]
    assert admission.admit(agent, others) == {w.period: 2 for w in others}


def test_the_refusal_names_the_full_windows(db, make_agent):
    agent = make_agent().agent_id
    storage = SqlUsageStorage(db)
    limits = {"requests_per_minute": 1, "requests_per_hour": 1, "requests_per_day": 5}
    windows = windows_for("requests", limits, NOW)
    assert storage.admit(agent, windows).admitted
    assert storage.admit(agent, windows).full == ("minute", "hour")


def test_async_commit_is_scoped_to_the_admission_statement(db, make_agent):
    if db.dialect != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    agent = make_agent().agent_id
    single = Database.from_url(db.engine.url, pool_size=1)  # one connection for all
    admission = queries.AdmissionSql(single, async_commit=True)
    windows = windows_for("requests", {"requests_per_minute": 1, "requests_per_hour": 5,
                                       "requests_per_day": 5}, NOW)
    assert admission.admit(agent, windows) == {"minute": 1, "hour": 1, "day": 1}
    assert single.run_statement("SHOW synchronous_commit", {}) == [("on",)]
    assert admission.admit(agent, windows) == {}
    assert counts(db, agent) == {"minute": 1, "hour": 1, "day": 1}
    single.dispose()
