"""FilterData: keep the items of a list that match every condition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.context import OpContext
from a2e.engine.ops._common import json_type
from a2e.engine.ops._conditions import field_value, matches
from a2e.errors import DataError
from a2e.protocol.catalog import Finding, OpSpec, check_condition, in_path, opt, out_path


def run(ctx: OpContext, config: Mapping[str, Any]) -> list[Any]:
    """The items at ``inputPath`` matching all ``conditions`` (no conditions: every item)."""
    items = ctx.read(config["inputPath"])
    if not isinstance(items, list):
        raise DataError(
            f"FilterData needs a list at {config['inputPath']}, got {json_type(items)}",
            details={"path": config["inputPath"]},
        )
    conditions = [
        (condition["field"], condition["operator"], ctx.resolve_refs(condition.get("value")))
        for condition in config.get("conditions") or []
    ]
    return [
        item for item in items
        if all(matches(field_value(item, field), operator, value)
               for field, operator, value in conditions)
    ]


def _conditions(config: Mapping[str, Any]) -> list[Finding]:
    conditions = config.get("conditions")
    if not isinstance(conditions, list):
        return []
    return [
        finding
        for index, condition in enumerate(conditions)
        for finding in check_condition(condition, f"conditions[{index}]", path_key="field")
    ]


SPEC = OpSpec(
    "FilterData",
    doc="Keep the items of a list that match every condition.",
    fields={"inputPath": in_path(), "conditions": opt("array", role="refs"), "outputPath": out_path()},
    run=run,
    rules=(_conditions,),
    default_ttl=60,
)
