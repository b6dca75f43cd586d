"""ConvertTimezone: an ISO-8601 date-time expressed in another IANA zone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.ops._common import Context, data_error, read_string
from a2e.engine.ops._dates import as_datetime, parse_iso, zone
from a2e.protocol.catalog import OpSpec, in_path, known_timezones, opt, out_path, req

OP = "ConvertTimezone"


def run(ctx: Context, config: Mapping[str, Any]) -> str:
    """The input in ``toTimezone``; a naive input is read in ``fromTimezone`` (default UTC)."""
    target = zone(ctx, OP, config["toTimezone"])
    source = zone(ctx, OP, config.get("fromTimezone", "UTC"))
    moment = as_datetime(parse_iso(ctx, OP, read_string(ctx, OP, config["inputPath"])))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=source)
    try:
        return moment.astimezone(target).isoformat()
    except OverflowError:
        raise data_error(ctx, OP, f"{moment.isoformat()} is out of range in {target.key}") from None


SPEC = OpSpec(
    OP,
    doc="An ISO-8601 date-time expressed in another IANA zone.",
    fields={
        "inputPath": in_path(),
        "toTimezone": req("string"),
        "fromTimezone": opt("string"),
        "outputPath": out_path(),
    },
    run=run,
    rules=(known_timezones("toTimezone", "fromTimezone"),),
)
