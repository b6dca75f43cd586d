"""ISO-8601 parsing and IANA time-zone lookup for the date operations."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from a2e.engine.ops._common import Context, data_error, json_type, preview
from a2e.protocol.catalog import Field, Finding, opt, suggest

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


MOMENT_FIELDS = ("year", "month", "day", "hour", "minute", "second")
MIN_TIMESTAMP_S, MAX_TIMESTAMP_S = -62_135_596_800, 253_402_300_799  # years 1 to 9999, UTC
#: Output ``format`` values: ours (``iso``, ``date``, a strftime pattern) and the
#: reference's (``iso8601``, ``timestamp``, ``custom`` with ``formatString``).
ISO_FORMATS = ("iso", "iso8601")


def read_moment(ctx: Context, op: str, path: str) -> date | datetime:
    """The date or date-time at ``path``: an ISO-8601 string, Unix seconds (a number, UTC),
    or an object ``{year, month, day, hour?, minute?, second?}`` (a naive date-time)."""
    value = ctx.read(path)
    if isinstance(value, str):
        return parse_iso(ctx, op, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not MIN_TIMESTAMP_S <= value <= MAX_TIMESTAMP_S:
            raise data_error(ctx, op, f"timestamp {preview(value)} at {path} is out of range", details={"path": path})
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, dict):
        return _from_fields(ctx, op, path, value)
    raise data_error(ctx, op, f"expected an ISO-8601 string, a Unix timestamp or a {{year, month, day}} object "
                     f"at {path}, got {json_type(value)}", details={"path": path},
                     suggestions=["Use e.g. '2024-07-01T12:00:00Z', 1719835200 or {\"year\": 2024, \"month\": 7, \"day\": 1}"])


def _from_fields(ctx: Context, op: str, path: str, value: dict[str, Any]) -> datetime:
    missing = [name for name in MOMENT_FIELDS[:3] if name not in value]
    if missing:
        raise data_error(ctx, op, f"the date object at {path} needs {', '.join(missing)}", details={"path": path})
    parts = [value.get(name, 0) for name in MOMENT_FIELDS]
    if not all(isinstance(part, int) and not isinstance(part, bool) for part in parts):
        raise data_error(ctx, op, f"the fields of the date object at {path} must be integers: {preview(value)}",
                         details={"path": path})
    try:
        return datetime(*parts)
    except (ValueError, OverflowError) as exc:
        raise data_error(ctx, op, f"the date object at {path} is not a valid date-time: {exc}",
                         details={"path": path}) from None


def format_moment(ctx: Context, op: str, moment: date | datetime, config: Mapping[str, Any],
                  default: Callable[[date | datetime], Any]) -> Any:
    """``moment`` in the config's output ``format``; ``default`` renders it when there is none.

    ``iso``/``iso8601``: ISO 8601; ``timestamp``: Unix seconds (a naive value counts as UTC;
    an integer when whole); ``date``: the calendar date; ``custom``: ``formatString``
    (strftime); any other string is a strftime pattern, which must hold a ``%`` directive.
    """
    fmt = config.get("format")
    if fmt is None:
        return default(moment)
    if fmt in ISO_FORMATS:
        return moment.isoformat()
    if fmt == "date":
        return (moment.date() if isinstance(moment, datetime) else moment).isoformat()
    if fmt == "timestamp":
        seconds = _aware(as_datetime(moment)).timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    if fmt == "custom":
        pattern = config.get("formatString")
        if not isinstance(pattern, str):
            raise data_error(ctx, op, "format 'custom' needs formatString",
                             suggestions=["Add \"formatString\": \"%Y-%m-%d %H:%M\""])
    elif isinstance(fmt, str) and "%" in fmt:
        pattern = fmt
    else:
        raise data_error(ctx, op, f"format {preview(fmt)} is neither iso, iso8601, timestamp, date, custom "
                         "nor a strftime pattern",
                         suggestions=["Use 'iso8601', 'timestamp', 'date', or 'custom' with formatString "
                                      "(a pattern such as '%Y-%m-%d %H:%M')"])
    try:
        return moment.strftime(pattern)
    except ValueError as exc:
        raise data_error(ctx, op, f"bad strftime pattern {preview(pattern)}: {exc}") from None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


FORMAT_NAMES = ("iso8601", "iso", "timestamp", "date", "custom")
#: The output keys of the date operations.
OUTPUT_FIELDS: Mapping[str, Field] = {"format": opt("string"), "formatString": opt("string")}


def check_output_format(config: Mapping[str, Any]) -> list[Finding]:
    """A rule of the date operations: ``format`` is known and ``formatString`` goes with ``custom``."""
    fmt, pattern = config.get("format"), config.get("formatString")
    if fmt == "custom":
        return [] if "formatString" in config else [
            Finding("format 'custom' needs 'formatString'", "e.g. \"formatString\": \"%Y-%m-%d %H:%M\"")]
    findings = []
    if isinstance(fmt, str) and fmt not in FORMAT_NAMES and "%" not in fmt:
        findings.append(Finding(f"'format' has unknown value {fmt!r}",
                                suggest(fmt, FORMAT_NAMES) or f"one of {', '.join(FORMAT_NAMES)} or a strftime pattern"))
    if isinstance(pattern, str):
        findings.append(Finding("'formatString' is used only with format 'custom'; it is ignored",
                                "add \"format\": \"custom\"", warning=True))
    return findings
