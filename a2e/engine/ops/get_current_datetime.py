"""GetCurrentDateTime: the run clock's current time in a zone and format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.ops._common import Context, data_error, preview
from a2e.engine.ops._dates import zone
from a2e.protocol.catalog import OpSpec, known_timezones, opt, out_path

OP = "GetCurrentDateTime"


def run(ctx: Context, config: Mapping[str, Any]) -> Any:
    """ISO-8601 with offset (``iso``), epoch seconds (``timestamp``), ``date``, or strftime."""
    now = ctx.now().astimezone(zone(ctx, OP, config.get("timezone", "UTC")))
    fmt = config.get("format", "iso")
    if fmt == "iso":
        return now.isoformat()
    if fmt == "date":
        return now.date().isoformat()
    if fmt == "timestamp":
        seconds = now.timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    if "%" not in fmt:
        raise data_error(ctx, OP, f"format {preview(fmt)} is neither iso, timestamp, date nor a strftime pattern",
                         suggestions=["Use 'iso', 'timestamp', 'date' or a pattern such as '%Y-%m-%d %H:%M'"])
    try:
        return now.strftime(fmt)
    except ValueError as exc:
        raise data_error(ctx, OP, f"bad strftime pattern {preview(fmt)}: {exc}") from None


SPEC = OpSpec(
    OP,
    doc="The run clock's current time in a zone and format.",
    fields={"timezone": opt("string"), "format": opt("string"), "outputPath": out_path()},
    run=run,
    rules=(known_timezones("timezone"),),
    cacheable=False,
    deterministic=False,
)
