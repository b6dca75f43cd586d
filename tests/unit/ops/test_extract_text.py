import contextlib

import pytest

from a2e.engine.ops import extract_text
from a2e.engine.ops._common import REGEX_BUDGET_S
from a2e.errors import DataError, ExecutionError, OperationTimeout

TEXT = "Contact ann@example.com or bob@test.org. Order #12, #345."


def extract(make_ctx, pattern, text=TEXT, **config):
    ctx = make_ctx({"/workflow/text": text}, remaining_s=config.pop("remaining_s", 300.0))
    return extract_text.run(ctx, {"inputPath": "/workflow/text", "pattern": pattern, **config})


@pytest.mark.parametrize(("pattern", "config", "expected"), [
    (r"#\d+", {}, ["#12", "#345"]),
    (r"(\w+)@(\w+)\.\w+", {}, [["ann", "example"], ["bob", "test"]]),
    (r"(?P<user>\w+)@(?P<host>[\w.]+\w)", {}, [{"user": "ann", "host": "example.com"},
                                             {"user": "bob", "host": "test.org"}]),
    (r"#(\d+)", {"all": False}, ["12"]),
    (r"#\d+", {"all": False}, "#12"),
    (r"(?P<n>\d+)", {"all": False}, {"n": "12"}),
    (r"zzz", {"all": False}, None),
    (r"zzz", {}, []),
    (r"CONTACT", {"flags": ["IGNORECASE"]}, ["Contact"]),
    (r"^\w+", {"flags": ["MULTILINE"]}, ["Contact"]),
    (r"(a)|(b)", {}, [["a", None], [None, "b"]]),
])
def test_matches(make_ctx, pattern, config, expected):
    assert extract(make_ctx, pattern, "a b" if pattern == "(a)|(b)" else TEXT, **config) == expected


def test_flags_multiline_and_dotall(make_ctx):
    assert extract(make_ctx, r"^\w", "ab\ncd", flags=["MULTILINE"]) == ["a", "c"]
    assert extract(make_ctx, r"b.c", "ab\ncd", flags=["DOTALL"]) == ["b\nc"]
    assert extract(make_ctx, r"b.c", "ab\ncd") == []


def test_catastrophic_pattern_fails_fast(make_ctx):
    # Without the regex timeout this pattern backtracks for ~2**40 steps: raising is the bound.
    with pytest.raises(OperationTimeout, match=rf"after {REGEX_BUDGET_S:.2f} s") as caught:
        extract(make_ctx, r"(a|aa)+$", "a" * 40 + "b")
    assert caught.value.error_type == "TimeoutError" and caught.value.operation_id == "op-1"


def test_nested_quantifier_finishes_fast(make_ctx):
    with contextlib.suppress(OperationTimeout):  # the regex engine may also just be quick
        assert extract(make_ctx, r"(a+)+$", "a" * 40 + "b") == []


def test_run_deadline_bounds_the_regex(make_ctx):
    with pytest.raises(OperationTimeout, match=r"after 0\.05 s"):
        extract(make_ctx, r"(a|aa)+$", "a" * 40 + "b", remaining_s=0.05)
    with pytest.raises(OperationTimeout, match="no time left"):
        extract(make_ctx, "a", remaining_s=-1.0)


def test_match_cap(make_ctx):
    assert len(extract(make_ctx, "a", "a" * 10_000)) == 10_000
    with pytest.raises(ExecutionError, match="more than 10000 matches"):
        extract(make_ctx, "a", "a" * 10_001)


@pytest.mark.parametrize(("pattern", "flags", "message"), [
    ("(unclosed", [], "invalid pattern"),
    ("a", ["VERBOSE"], "unknown flags"),
    ("a", [{"x": 1}], "unknown flags"),
])
def test_bad_patterns(make_ctx, pattern, flags, message):
    with pytest.raises(DataError, match=message):
        extract(make_ctx, pattern, flags=flags)


def test_input_must_be_text(make_ctx):
    with pytest.raises(DataError, match="expected a string"):
        extract(make_ctx, "a", ["a"])
