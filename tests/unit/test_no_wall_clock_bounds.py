"""Tests bound the work, never the wall clock: the machines running them are shared."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
#: ``assert time.monotonic() - started < 3``, ``assert elapsed < 3.5``, ``... - start < 1.0``
UPPER_BOUND = re.compile(
    r"assert\b[^\n#]*(?:monotonic|perf_counter|time)\(\)\s*-\s*\w+\s*<"
    r"|assert\s+(?:elapsed|took)\w*\s*<"
)


def test_no_test_asserts_an_upper_bound_on_elapsed_wall_time():
    offenders = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in TESTS.rglob("*.py") if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UPPER_BOUND.search(line)
    ]
    assert offenders == []


def test_the_pattern_catches_the_usual_spellings():
    for line in ("assert time.monotonic() - started < 3", "assert elapsed < 3.5",
                 "    assert 0.25 <= time.perf_counter() - start < 1.0"):
        assert UPPER_BOUND.search(line), line
    assert not UPPER_BOUND.search("assert time.monotonic() - start >= 0.15")
