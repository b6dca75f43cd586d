"""docs/schema.md documents every table and every column of the models."""

from __future__ import annotations

import re

from a2e.store.models import Base
from tests.conftest import REPO


def documented() -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in (REPO / "docs" / "schema.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^### `(\w+)`", line)
        if heading:
            current = tables.setdefault(heading.group(1), set())
            continue
        cell = re.match(r"^\| `(\w+)` \|", line)
        if cell and current is not None:
            current.add(cell.group(1))
    return tables


def test_every_table_and_column_is_documented():
    docs = documented()
    models = {table.name: {column.name for column in table.columns} for table in Base.metadata.sorted_tables}
    assert set(docs) == set(models)
    for name, columns in models.items():
        assert docs[name] == columns, name
