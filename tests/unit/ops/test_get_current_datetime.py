from datetime import UTC, datetime

import pytest

from a2e.engine.ops import get_current_datetime
from a2e.errors import DataError


@pytest.mark.parametrize(("config", "expected"), [
    ({}, "2024-07-01T12:00:00+00:00"),
    ({"timezone": "America/New_York"}, "2024-07-01T08:00:00-04:00"),
    ({"timezone": "Asia/Tokyo", "format": "date"}, "2024-07-01"),
    ({"timezone": "Pacific/Kiritimati", "format": "date"}, "2024-07-02"),
    ({"format": "timestamp"}, 1719835200),
    ({"timezone": "Europe/Paris", "format": "%d/%m/%Y %H:%M %Z"}, "01/07/2024 14:00 CEST"),
])
def test_formats(make_ctx, config, expected):
    assert get_current_datetime.run(make_ctx(), {"outputPath": "/workflow/now", **config}) == expected


def test_fractional_timestamp(make_ctx):
    ctx = make_ctx(clock=datetime(2024, 7, 1, 12, 0, 0, 500000, tzinfo=UTC))
    assert get_current_datetime.run(ctx, {"format": "timestamp"}) == 1719835200.5


def test_unknown_zone_suggests_names(make_ctx):
    with pytest.raises(DataError) as caught:
        get_current_datetime.run(make_ctx(), {"timezone": "America/New_Yrok"})
    assert "GetCurrentDateTime" in caught.value.message and caught.value.operation_id == "op-1"
    assert any("America/New_York" in hint for hint in caught.value.suggestions)


@pytest.mark.parametrize("name", ["europe/paris", "../../etc/passwd", "", "x" * 10_000])
def test_bad_zone_names(make_ctx, name):
    with pytest.raises(DataError) as caught:
        get_current_datetime.run(make_ctx(), {"timezone": name})
    assert len(caught.value.message) < 300


def test_case_mistake_suggests_exact_name(make_ctx):
    with pytest.raises(DataError) as caught:
        get_current_datetime.run(make_ctx(), {"timezone": "europe/paris"})
    assert caught.value.suggestions == ["Did you mean 'Europe/Paris'?"]


def test_format_without_directive_is_refused(make_ctx):
    with pytest.raises(DataError, match="strftime"):
        get_current_datetime.run(make_ctx(), {"format": "yyyy-MM-dd"})
