"""Loop: run a list of operations once per item of a list and collect the results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.context import OpContext
from a2e.engine.ops._common import json_type
from a2e.errors import DataError
from a2e.protocol.catalog import OpSpec, id_list, ids, in_path, out_path


def run(ctx: OpContext, config: Mapping[str, Any]) -> list[Any]:
    """One entry per item: the result of the last operation of that iteration.

    Inside, ``/loop/item`` and ``/loop/index`` name the current item; a nested Loop
    restores the outer values when it ends.
    """
    path = config["inputPath"]
    items = ctx.read(path)
    if not isinstance(items, list):
        raise DataError(f"Loop needs a list at {path}, got {json_type(items)}", details={"path": path})
    limit = ctx.limits.max_loop_iterations
    if len(items) > limit:
        raise DataError(
            f"Loop over {len(items)} items exceeds the limit of {limit} iterations",
            details={"path": path, "items": len(items), "maxLoopIterations": limit},
            suggestions=["Filter or slice the list before looping"],
        )
    op_ids = id_list(config["operations"])
    collected = []
    for index, item in enumerate(items):
        with ctx.loop_scope(item, index):
            collected.append(ctx.run_nested(op_ids))
    return collected


SPEC = OpSpec(
    "Loop",
    doc="Run a list of operations once per item of a list and collect the results.",
    fields={"inputPath": in_path(), "operations": ids("body"), "outputPath": out_path(required=False)},
    run=run,
    cacheable=False,
)
