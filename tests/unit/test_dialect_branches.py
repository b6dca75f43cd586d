"""SQL dialect branches live in ``a2e/store/dialect.py`` (and inside migrations) only."""

from __future__ import annotations

import re
from pathlib import Path

A2E = Path(__file__).resolve().parents[2] / "a2e"
BRANCH = re.compile(
    r"dialect\.name|\.dialect\s*[!=]=|get_backend_name\(\)|[!=]=\s*[\"'](?:postgresql|sqlite)[\"']"
)


def test_no_module_but_the_dialect_module_tests_a_dialect():
    branching = {
        path.relative_to(A2E).as_posix()
        for path in A2E.rglob("*.py")
        if path.relative_to(A2E).as_posix() != "store/dialect.py"
        and BRANCH.search(path.read_text(encoding="utf-8"))
    }
    assert branching == set()


def test_the_pattern_catches_the_usual_spellings():
    for line in ('if session.get_bind().dialect.name == "postgresql":',
                 'insert = pg if self.db.dialect == "postgresql" else lite',
                 'if url.get_backend_name() != "sqlite":'):
        assert BRANCH.search(line), line
