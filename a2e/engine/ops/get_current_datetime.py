"""GetCurrentDateTime: the run clock's current time in a zone and format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.ops._common import Context
from a2e.engine.ops._dates import OUTPUT_FIELDS, check_output_format, format_moment, zone
from a2e.protocol.catalog import OpSpec, known_timezones, opt, out_path

OP = "GetCurrentDateTime"


def run(ctx: Context, config: Mapping[str, Any]) -> Any:
    """ISO 8601 with offset (``iso``/``iso8601``, the default), Unix seconds
    (``timestamp``), ``date``, ``custom`` with ``formatString``, or a strftime pattern."""
    now = ctx.now().astimezone(zone(ctx, OP, config.get("timezone", "UTC")))
    return format_moment(ctx, OP, now, config, default=lambda moment: moment.isoformat())


SPEC = OpSpec(
    OP,
    doc="The run clock's current time in a zone and format.",
    fields={"timezone": opt("string"), **OUTPUT_FIELDS, "outputPath": out_path()},
    run=run,
    rules=(known_timezones("timezone"), check_output_format),
    cacheable=False,
    deterministic=False,
)
