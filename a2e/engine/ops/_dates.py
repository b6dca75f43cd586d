"""ISO-8601 parsing and IANA time-zone lookup for the date operations."""

from __future__ import annotations

import difflib
import functools
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from a2e.engine.ops._common import Context, data_error, preview

MAX_ISO_CHARS = 64


@functools.cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def zone(ctx: Context, op: str, name: str) -> ZoneInfo:
    """The IANA zone ``name``; DataError suggesting the closest names when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        names = _zone_names()
        by_case = [known for known in names if known.lower() == name.lower()]
        close = by_case or difflib.get_close_matches(name[:MAX_ISO_CHARS], names, n=3)
        raise data_error(ctx, op, f"unknown time zone {preview(name)}", details={"timezone": name[:MAX_ISO_CHARS]},
                         suggestions=[f"Did you mean {known!r}?" for known in close]
                         or ["Use an IANA time zone name such as 'UTC' or 'Europe/Paris'"]) from None


def parse_iso(ctx: Context, op: str, text: str) -> date | datetime:
    """A date (``2024-07-01``) or a date-time (``2024-07-01T12:00:00Z``, offset optional)."""
    if len(text) <= MAX_ISO_CHARS:
        for parse in (date.fromisoformat, datetime.fromisoformat):
            try:
                return parse(text)
            except ValueError:
                pass
    raise data_error(ctx, op, f"{preview(text)} is not an ISO-8601 date or date-time",
                     suggestions=["Use e.g. '2024-07-01' or '2024-07-01T12:00:00Z'"])


def as_datetime(value: date | datetime) -> datetime:
    """``value`` itself if a date-time, else midnight (naive) of that date."""
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)
