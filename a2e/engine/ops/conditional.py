"""Conditional: test one condition, then run the ``ifTrue`` or the ``ifFalse`` operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.context import OpContext
from a2e.engine.ops._conditions import MISSING, matches
from a2e.errors import DataError
from a2e.protocol.catalog import (
    Finding,
    NO_VALUE_OPERATORS,
    OpSpec,
    check_condition,
    condition_paths,
    id_list,
    ids,
    path_findings,
    req,
)


def run(ctx: OpContext, config: Mapping[str, Any]) -> dict[str, str]:
    """``{"branch": "ifTrue"|"ifFalse"}``; the branch's operations run as steps of the run.

    ``condition.value`` may be a ``{"path": ...}`` reference. A missing ``condition.path``
    is a DataError, except for ``exists`` and ``empty``, which test for it.
    """
    condition = config["condition"]
    operator = condition["operator"]
    try:
        actual = ctx.read(condition["path"])
    except DataError:
        if operator not in NO_VALUE_OPERATORS:
            raise
        actual = MISSING
    branch = "ifTrue" if matches(actual, operator, ctx.resolve_refs(condition.get("value"))) else "ifFalse"
    ctx.run_nested(id_list(config.get(branch)))
    return {"branch": branch}


def _condition(config: Mapping[str, Any]) -> list[Finding]:
    condition = config.get("condition")
    if not isinstance(condition, Mapping):
        return []
    findings = check_condition(condition, "condition", path_key="path")
    return findings + [f for path in condition_paths(condition) for f in path_findings("condition", path)]


SPEC = OpSpec(
    "Conditional",
    doc="Test one condition, then run the ifTrue or the ifFalse operations.",
    fields={
        "condition": req("object", role="condition"),
        "ifTrue": ids("branch"),
        "ifFalse": ids("branch", required=False),
    },
    run=run,
    rules=(_condition,),
    cacheable=False,
)
