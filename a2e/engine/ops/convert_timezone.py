"""ConvertTimezone: a date-time expressed in another IANA zone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.ops._common import Context, data_error
from a2e.engine.ops._dates import OUTPUT_FIELDS, as_datetime, check_output_format, format_moment, read_moment, zone
from a2e.protocol.catalog import OpSpec, in_path, known_timezones, opt, out_path, req

OP = "ConvertTimezone"


def run(ctx: Context, config: Mapping[str, Any]) -> Any:
    """The input in ``toTimezone`` (ISO 8601 unless ``format`` says otherwise); an input
    without an offset is read in ``fromTimezone`` (default UTC)."""
    target = zone(ctx, OP, config["toTimezone"])
    source = zone(ctx, OP, config.get("fromTimezone", "UTC"))
    moment = as_datetime(read_moment(ctx, OP, config["inputPath"]))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=source)
    try:
        converted = moment.astimezone(target)
    except OverflowError:
        raise data_error(ctx, OP, f"{moment.isoformat()} is out of range in {target.key}") from None
    return format_moment(ctx, OP, converted, config, default=lambda value: value.isoformat())


SPEC = OpSpec(
    OP,
    doc="A date-time (ISO 8601, Unix seconds or a date object) expressed in another IANA zone.",
    fields={
        "inputPath": in_path(),
        "toTimezone": req("string"),
        "fromTimezone": opt("string"),
        **OUTPUT_FIELDS,
        "outputPath": out_path(),
    },
    run=run,
    rules=(known_timezones("toTimezone", "fromTimezone"), check_output_format),
    default_ttl=0,  # cheaper to compute than to look up: cached only when configured
)
