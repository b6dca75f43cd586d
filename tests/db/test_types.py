"""Column types: a UTC timestamp binds on SQLite to the very text SQLAlchemy's own
DATETIME would store, and reads back as the same aware instant on either database."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.dialects import sqlite

from a2e.store.base import UTCDateTime
from a2e.store.models import Agent

AWARE = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)),
                               timezone(timedelta(hours=-11))]),
)


@given(AWARE)
def test_sqlite_binds_the_text_sqlalchemys_datetime_would_store(value):
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    composed = sqlite.DATETIME().bind_processor(dialect)
    assert ours(value) == composed(UTCDateTime().process_bind_param(value, dialect))
    assert ours(None) is None


def test_a_naive_timestamp_is_refused():
    dialect = sqlite.dialect()
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().dialect_impl(dialect).bind_processor(dialect)(datetime(2026, 1, 1))


def test_a_timestamp_reads_back_as_the_same_aware_instant(db):
    written = datetime(2026, 12, 1, 23, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-3)))
    with db.connection(write=True) as conn:
        agent_id = conn.execute(Agent.__table__.insert().values(name="timed")).inserted_primary_key[0]
        conn.execute(update(Agent).where(Agent.id == agent_id).values(created_at=written))
    with db.driver_transaction() as tx:
        via_driver = tx.scalar(select(Agent.created_at).where(Agent.id == agent_id))
    with db.connection() as conn:
        via_core = conn.scalar(select(Agent.created_at).where(Agent.id == agent_id))
    assert via_driver == via_core == written
    assert via_core.tzinfo is not None and via_core.utcoffset() == timedelta(0)
