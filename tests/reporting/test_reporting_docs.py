"""Every example query in docs/reporting.md runs on the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.conftest import REPO

QUERIES = re.findall(r"```sql\n(.*?)```", (REPO / "docs" / "reporting.md").read_text(encoding="utf-8"), re.S)


def test_the_doc_has_examples():
    assert len(QUERIES) >= 5


@pytest.mark.parametrize("query", QUERIES, ids=[q.splitlines()[0][3:40] for q in QUERIES])
def test_example_query_runs(db, seeded, append_audit, query):
    with db.engine.connect() as conn:
        rows = conn.execute(text(query)).fetchall()
    assert rows, "the seeded data should give every example something to show"
