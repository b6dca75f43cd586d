import pytest

from a2e.engine.ops import convert_timezone
from a2e.errors import DataError


def convert(make_ctx, value, **config):
    return convert_timezone.run(make_ctx({"/workflow/t": value}), {"inputPath": "/workflow/t", **config})


@pytest.mark.parametrize(("value", "config", "expected"), [
    ("2024-07-01T12:00:00Z", {"toTimezone": "America/New_York"}, "2024-07-01T08:00:00-04:00"),
    ("2024-01-15T12:00:00+00:00", {"toTimezone": "America/New_York"}, "2024-01-15T07:00:00-05:00"),
    ("2024-07-01T12:00:00", {"toTimezone": "UTC"}, "2024-07-01T12:00:00+00:00"),
    ("2024-07-01T12:00:00", {"toTimezone": "UTC", "fromTimezone": "Europe/Paris"}, "2024-07-01T10:00:00+00:00"),
    ("2024-07-01T12:00:00+02:00", {"toTimezone": "Asia/Kolkata", "fromTimezone": "America/Denver"},
     "2024-07-01T15:30:00+05:30"),
    ("2024-07-01", {"toTimezone": "Asia/Tokyo"}, "2024-07-01T09:00:00+09:00"),
    ("2024-07-01T12:00:00.250Z", {"toTimezone": "Europe/London"}, "2024-07-01T13:00:00.250000+01:00"),
])
def test_conversions(make_ctx, value, config, expected):
    assert convert(make_ctx, value, **config) == expected


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01T00:00:00Z", "", "9" * 1000, True, [1], None])
def test_bad_input_is_data_error(make_ctx, value):
    with pytest.raises(DataError) as caught:
        convert(make_ctx, value, toTimezone="UTC")
    assert "ConvertTimezone" in caught.value.message and len(caught.value.message) < 300


def test_unknown_zones(make_ctx):
    with pytest.raises(DataError, match="unknown time zone"):
        convert(make_ctx, "2024-07-01T12:00:00Z", toTimezone="Mars/Olympus")
    with pytest.raises(DataError, match="unknown time zone"):
        convert(make_ctx, "2024-07-01T12:00:00Z", toTimezone="UTC", fromTimezone="Nowhere")


def test_out_of_range(make_ctx):
    with pytest.raises(DataError, match="out of range"):
        convert(make_ctx, "9999-12-31T23:00:00Z", toTimezone="Asia/Tokyo")
