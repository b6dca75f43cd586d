"""DateCalculation: calendar-correct add/subtract, and the difference of two dates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from a2e.engine.ops._common import Context, data_error, json_type, preview
from a2e.engine.ops._dates import OUTPUT_FIELDS, as_datetime, check_output_format, format_moment, read_moment, zone
from a2e.protocol.catalog import Finding, OpSpec, in_path, known_timezones, opt, out_path, req

OP = "DateCalculation"
AMOUNTS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
CLOCK_UNITS = {"days": timedelta(days=1), "hours": timedelta(hours=1),
               "minutes": timedelta(minutes=1), "seconds": timedelta(seconds=1)}
CALENDAR_UNITS = ("months", "years")


def run(ctx: Context, config: Mapping[str, Any]) -> str | int | float:
    """``add``/``subtract`` → ISO string (a date stays a date) or the ``format`` asked for;
    ``difference`` → a number. The input is ISO 8601, Unix seconds or a date object; with
    ``timezone`` (the reference's key) an ``add``/``subtract`` input without an offset is read
    in that zone."""
    operation = config["operation"]
    start = read_moment(ctx, OP, config["inputPath"])
    if operation == "difference":
        return _difference(ctx, config, start)
    if "timezone" in config and not (isinstance(start, datetime) and start.tzinfo is not None):
        start = as_datetime(start).replace(tzinfo=zone(ctx, OP, config["timezone"]))
    if operation not in ("add", "subtract"):
        raise data_error(ctx, OP, f"unknown operation {preview(operation)}",
                         suggestions=["Use 'add', 'subtract' or 'difference'"])
    if "otherPath" in config or "unit" in config:
        raise data_error(ctx, OP, f"otherPath and unit belong to 'difference', not {preview(operation)}")
    sign = 1 if operation == "add" else -1
    try:
        moved: date = start + sign * _delta(ctx, config)
    except (ValueError, OverflowError) as exc:
        raise data_error(ctx, OP, f"result out of range: {exc}") from None
    return format_moment(ctx, OP, moved, config, default=lambda value: value.isoformat())


def _delta(ctx: Context, config: Mapping[str, Any]) -> relativedelta:
    amounts = {key: config[key] for key in AMOUNTS if key in config}
    for key, amount in amounts.items():
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise data_error(ctx, OP, f"{key} must be an integer, got {json_type(amount)}")
    try:
        return relativedelta(**amounts)
    except (ValueError, OverflowError) as exc:
        raise data_error(ctx, OP, f"amount out of range: {exc}") from None


def _difference(ctx: Context, config: Mapping[str, Any], start: date | datetime) -> int | float:
    """``other - input`` in ``unit``; months and years count whole calendar units."""
    if "otherPath" not in config:
        raise data_error(ctx, OP, "difference needs otherPath", suggestions=["Add \"otherPath\": \"/workflow/...\""])
    if given := [key for key in AMOUNTS if key in config]:
        raise data_error(ctx, OP, f"{', '.join(given)} belong to 'add'/'subtract', not 'difference'")
    unit = config.get("unit", "days")
    if unit not in CLOCK_UNITS and unit not in CALENDAR_UNITS:
        raise data_error(ctx, OP, f"unknown unit {preview(unit)}",
                         suggestions=[f"Use one of {', '.join([*CLOCK_UNITS, *CALENDAR_UNITS])}"])
    start, end = _comparable(start, read_moment(ctx, OP, config["otherPath"]))
    if unit in CALENDAR_UNITS:
        span = relativedelta(end, start)
        return int(span.years if unit == "years" else span.years * 12 + span.months)
    step = CLOCK_UNITS[unit]
    whole, rest = divmod(end - start, step)
    return whole if not rest else (end - start) / step


def _comparable(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """Both as date-times (a date is its midnight); beside an aware one a naive one is UTC,
    and an aware end moves to the start's offset so calendar units count in one frame."""
    first, second = as_datetime(start), as_datetime(end)
    if (first.tzinfo is None) != (second.tzinfo is None):
        first, second = (moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in (first, second))
    if first.tzinfo is not None:
        second = second.astimezone(first.tzinfo)
    return first, second


def _difference_keys(config: Mapping[str, Any]) -> list[Finding]:
    """``otherPath`` is needed by, and ``otherPath``/``unit`` belong only to, ``difference``."""
    if config.get("operation") == "difference":
        return [] if "otherPath" in config else [Finding("operation 'difference' needs 'otherPath'")]
    misplaced = [key for key in ("otherPath", "unit") if key in config]
    return [Finding(f"{key!r} belongs to operation 'difference' only") for key in misplaced] + check_output_format(config)


SPEC = OpSpec(
    OP,
    doc="Calendar-correct add or subtract on a date-time, or the difference of two.",
    fields={
        "inputPath": in_path(),
        "operation": req("string", choices=("add", "subtract", "difference")),
        **{unit: opt("integer") for unit in AMOUNTS},
        "otherPath": in_path(required=False),
        "unit": opt("string", choices=("days", "hours", "minutes", "seconds", "months", "years")),
        "timezone": opt("string"),
        **OUTPUT_FIELDS,
        "outputPath": out_path(),
    },
    run=run,
    rules=(_difference_keys, known_timezones("timezone")),
    default_ttl=0,  # cheaper to compute than to look up: cached only when configured
)
