from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2e.timestamps import iso, naive_utc_text

ZONES = st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)),
                         timezone(timedelta(hours=-3)), ZoneInfo("Europe/Madrid"),
                         ZoneInfo("UTC")])
# Within a day of datetime's range, so every zone's UTC time still exists.
MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))


@given(MOMENTS, ZONES)
def test_iso_is_isoformat(moment, zone):
    aware = moment.replace(tzinfo=zone)
    assert iso(aware) == aware.isoformat()
    assert iso(aware.astimezone(timezone.utc)) == aware.astimezone(timezone.utc).isoformat()


@given(MOMENTS, ZONES)
def test_naive_utc_text_is_the_utc_time_to_the_microsecond(moment, zone):
    aware = moment.replace(tzinfo=zone)
    expected = aware.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
    assert naive_utc_text(aware) == expected


def test_whole_seconds_keep_their_microseconds_in_the_stored_text():
    moment = datetime(2026, 12, 2, 5, 6, 7, tzinfo=timezone.utc)
    assert iso(moment) == "2026-12-02T05:06:07+00:00"
    assert naive_utc_text(moment) == "2026-12-02 05:06:07.000000"


def test_a_naive_datetime_is_refused_for_a_utc_column():
    with pytest.raises(ValueError, match="naive"):
        naive_utc_text(datetime(2026, 12, 2))
