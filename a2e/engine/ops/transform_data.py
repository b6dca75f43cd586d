"""TransformData: reshape a list of objects (``map``, ``select``, ``sort``, ``group``,
``aggregate``); the transform's parameters sit in the op's ``config`` object."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from a2e.engine.context import OpContext
from a2e.engine.ops._common import is_number, json_type
from a2e.engine.ops._conditions import MISSING, canonical, field_value
from a2e.errors import DataError
from a2e.protocol.catalog import OpSpec, in_path, opt, out_path, req

AGGREGATES = ("count", "sum", "avg", "min", "max")


def _param(params: Mapping[str, Any], name: str, kinds: type | tuple[type, ...]) -> Any:
    value = params.get(name)
    if not isinstance(value, kinds):
        raise DataError(f"TransformData config needs {name!r}", details={"config": dict(params)})
    return value


def _map(items: list[Any], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``fields``: ``{"newName": "old.path"}`` (or a list of names kept as they are);
    a field an item lacks becomes null."""
    fields = _param(params, "fields", (dict, list))
    pairs = fields.items() if isinstance(fields, dict) else [(name, name) for name in fields]
    return [{new: _or_null(field_value(item, old)) for new, old in pairs} for item in items]


def _select(items: list[Any], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``fields``: the names to keep; a field an item lacks is left out."""
    fields = _param(params, "fields", list)
    return [
        {name: value for name in fields if (value := field_value(item, name)) is not MISSING}
        for item in items
    ]


def _sort(items: list[Any], params: Mapping[str, Any]) -> list[Any]:
    """``field`` (omit it to sort the items themselves), ``order`` asc|desc; numbers before
    strings before other values; missing and null values last in either order."""
    order = params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise DataError(f"TransformData sort order must be 'asc' or 'desc', not {order!r}")
    field = params.get("field")
    keyed = [(item if field is None else field_value(item, field), item) for item in items]
    present = [pair for pair in keyed if pair[0] is not MISSING and pair[0] is not None]
    absent = [item for value, item in keyed if value is MISSING or value is None]
    present.sort(key=lambda pair: _sort_key(pair[0]), reverse=order == "desc")
    return [item for _, item in present] + absent


def _sort_key(value: Any) -> tuple[int, Any]:
    if is_number(value):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, canonical(value))


def _group(items: list[Any], params: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``field``: items by that field's value (as text; missing and null under "null")."""
    field = _param(params, "field", str)
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(_group_key(field_value(item, field)), []).append(item)
    return groups


def _group_key(value: Any) -> str:
    return value if isinstance(value, str) else canonical(_or_null(value))


def _aggregate(items: list[Any], params: Mapping[str, Any]) -> Any:
    """``aggregations``: ``[{"field", "op": count|sum|avg|min|max, "as"?}]``, ``groupBy``?

    Without ``groupBy``: one object ``{as: value}``; with it, one object per group in
    first-seen order, ``{groupBy: key, as: value, ...}``. Numbers only count toward
    sum/avg/min/max; ``count`` without ``field`` counts items, with one non-null values.
    """
    specs = _param(params, "aggregations", list)
    for spec in specs:
        if not isinstance(spec, Mapping) or spec.get("op") not in AGGREGATES:
            raise DataError(
                f"TransformData aggregation {spec!r} needs an 'op' among {', '.join(AGGREGATES)}"
            )
        if spec["op"] != "count" and not isinstance(spec.get("field"), str):
            raise DataError(f"TransformData aggregation {spec['op']!r} needs a 'field'")
    group_by = params.get("groupBy")
    if group_by is None:
        return _summary(items, specs)
    groups: dict[str, tuple[Any, list[Any]]] = {}
    for item in items:
        key = _or_null(field_value(item, group_by))
        groups.setdefault(canonical(key), (key, []))[1].append(item)
    return [{group_by: key, **_summary(members, specs)} for key, members in groups.values()]


def _summary(items: list[Any], specs: list[Mapping[str, Any]]) -> dict[str, Any]:
    summary = {}
    for spec in specs:
        op, field = spec["op"], spec.get("field")
        name = spec.get("as") or (f"{op}_{field}" if field else op)
        values = [_or_null(field_value(item, field)) for item in items] if field else items
        summary[name] = _apply(op, values)
    return summary


def _apply(op: str, values: list[Any]) -> Any:
    if op == "count":
        return sum(value is not None for value in values)
    numbers = [value for value in values if is_number(value)]
    if op == "sum":
        return sum(numbers)
    if not numbers:
        return None
    if op == "avg":
        return sum(numbers) / len(numbers)
    return min(numbers) if op == "min" else max(numbers)


def _or_null(value: Any) -> Any:
    return None if value is MISSING else value


TRANSFORMS: Mapping[str, Callable[[list[Any], Mapping[str, Any]], Any]] = {
    "map": _map,
    "select": _select,
    "sort": _sort,
    "group": _group,
    "aggregate": _aggregate,
}


def run(ctx: OpContext, config: Mapping[str, Any]) -> Any:
    """The transformed value; an object at ``inputPath`` counts as a list of one for
    ``map`` and ``select`` (and gives back one object)."""
    transform = config["transform"]
    value = ctx.read(config["inputPath"])
    single = isinstance(value, dict) and transform in ("map", "select")
    items = [value] if single else value
    if not isinstance(items, list):
        raise DataError(
            f"TransformData {transform} needs a list at {config['inputPath']}, got {json_type(value)}",
            details={"path": config["inputPath"]},
        )
    result = TRANSFORMS[transform](items, config.get("config") or {})
    return result[0] if single else result


SPEC = OpSpec(
    "TransformData",
    doc="Reshape a list of objects: map, select, sort, group or aggregate.",
    fields={
        "inputPath": in_path(),
        "transform": req("string", choices=("map", "sort", "group", "aggregate", "select")),
        "config": opt("object"),
        "outputPath": out_path(),
    },
    run=run,
    default_ttl=60,
)
