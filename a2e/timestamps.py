"""ISO 8601 text of aware datetimes, made with ``%`` formatting when the value is in UTC.

``datetime.isoformat`` builds its text through ``PyUnicode_FromFormat`` and asks the
tzinfo for its offset: about three times the cost of formatting the fields here, and an
execute writes some twenty timestamps (its rows' columns, its response, its log line).
Any other tzinfo goes to ``isoformat`` itself; tests/unit/test_timestamps.py holds the
two equal."""

from __future__ import annotations

from datetime import datetime, timezone

_UTC = timezone.utc


def iso(value: datetime) -> str:
    """``value.isoformat()``."""
    if value.tzinfo is not _UTC:
        return value.isoformat()
    if value.microsecond:
        return "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00" % (
            value.year, value.month, value.day, value.hour, value.minute, value.second,
            value.microsecond)
    return "%04d-%02d-%02dT%02d:%02d:%02d+00:00" % (
        value.year, value.month, value.day, value.hour, value.minute, value.second)


def naive_utc_text(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` of an aware ``value`` in UTC (SQLite's DATETIME
    text); raises ValueError for a naive one."""
    if value.tzinfo is not _UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(_UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond)
