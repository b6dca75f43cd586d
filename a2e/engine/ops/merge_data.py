"""MergeData: combine the values at several paths."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from a2e.engine.context import OpContext
from a2e.engine.ops._common import json_type
from a2e.engine.ops._conditions import canonical
from a2e.errors import DataError
from a2e.protocol.catalog import OpSpec, out_path, req


def _concat(lists: list[list[Any]]) -> list[Any]:
    return [item for values in lists for item in values]


def _union(lists: list[list[Any]]) -> list[Any]:
    """Every distinct item, in first-seen order (objects compared by content)."""
    seen: dict[str, Any] = {}
    for item in _concat(lists):
        seen.setdefault(canonical(item), item)
    return list(seen.values())


def _intersect(lists: list[list[Any]]) -> list[Any]:
    """The distinct items of the first list found in every other, in the first's order."""
    if not lists:
        return []
    others = [{canonical(item) for item in values} for values in lists[1:]]
    return [item for item in _union(lists[:1]) if all(canonical(item) in keys for keys in others)]


def _deep_merge(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Objects merged recursively; on a conflict that is not two objects, the later wins."""
    merged: dict[str, Any] = {}
    for obj in objects:
        for key, value in obj.items():
            if isinstance(merged.get(key), dict) and isinstance(value, dict):
                value = _deep_merge([merged[key], value])
            merged[key] = value
    return merged


STRATEGIES: Mapping[str, tuple[type, Callable[[list[Any]], Any]]] = {
    "concat": (list, _concat),
    "union": (list, _union),
    "intersect": (list, _intersect),
    "deepMerge": (dict, _deep_merge),
}


def run(ctx: OpContext, config: Mapping[str, Any]) -> Any:
    """The merged value: a list (concat, union, intersect) or an object (deepMerge)."""
    strategy = config["strategy"]
    kind, merge = STRATEGIES[strategy]
    values = []
    for path in config["sources"]:
        value = ctx.read(path)
        if not isinstance(value, kind):
            expected = "a list" if kind is list else "an object"
            raise DataError(f"MergeData {strategy} needs {expected} at {path}, got {json_type(value)}",
                            details={"path": path})
        values.append(value)
    return merge(values)


SPEC = OpSpec(
    "MergeData",
    doc="Combine the values at several paths: concat, union, intersect or deepMerge.",
    fields={
        "sources": req("array", item_kinds=("string",), role="reads"),
        "strategy": req("string", choices=("concat", "union", "intersect", "deepMerge")),
        "outputPath": out_path(),
    },
    run=run,
    default_ttl=60,
)
