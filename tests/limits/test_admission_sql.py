"""The SQL admission primitive: every window moves by one, or none does."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from a2e.limits.sql import SqlUsageStorage
from a2e.limits.windows import windows_for
from a2e.store.models import UsageWindow
from a2e.store.queries import usage as queries

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


def test_every_window_full_is_refused_in_one_statement(db, make_agent):
    if db.dialect != "postgresql":
        pytest.skip("the single-statement path is PostgreSQL's")
    agent = make_agent().agent_id
    limits = {"requests_per_minute": 1, "requests_per_hour": 1, "requests_per_day": 5}
    windows = windows_for("requests", limits, NOW)
    autocommit = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with autocommit as conn:
        assert queries.admit_windows_at_once(conn, agent, windows) == {"minute": 1, "hour": 1, "day": 1}
        assert queries.admit_windows_at_once(conn, agent, windows) is None  # day still had room
        only_full = windows[:2]
        assert queries.admit_windows_at_once(conn, agent, only_full) == {}
    assert counts(db, agent) == {"minute": 1, "hour": 1, "day": 1}
