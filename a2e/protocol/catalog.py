"""The operation catalog: each operation type's config spec (PROTOCOL §3).

For every type, :data:`SPECS` lists the config keys with their JSON kinds,
whether they are required, their allowed values, and their *role*: a path the
operation reads (``read``; ``reads`` for a list of paths; ``condition`` for an
object whose ``path`` is read), the path it writes (``write``), operation ids
it runs (``ids``; a list or a single string), or values that may hold
``{"path": ...}`` references and ``{/path}`` templates (``refs``).
:func:`check_config` turns a config into findings; the validator adds lines
and operation ids.
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from a2e.errors import DataError
from a2e.protocol.paths import parse_path, referenced_paths

Kind = Literal["string", "integer", "number", "boolean", "object", "array", "null", "any"]
Role = Literal["read", "reads", "condition", "write", "ids", "refs"]

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
OPERATORS = ("==", "!=", ">", "<", ">=", "<=", "in", "contains", "startsWith", "endsWith", "exists", "empty")
NO_VALUE_OPERATORS = frozenset({"exists", "empty"})
STORES = ("db",)
RESERVED_WRITE_ROOTS = frozenset({"loop", "store"})


@dataclass(frozen=True)
class Field:
    """One config key: accepted JSON kinds, allowed values, role, bounds."""

    kinds: tuple[Kind, ...]
    required: bool = False
    choices: tuple[str, ...] = ()  # allowed strings (for an array: of each item)
    item_kinds: tuple[Kind, ...] = ()  # for arrays: accepted kinds of each item
    role: Role | None = None
    minimum: int | None = None


@dataclass(frozen=True)
class Finding:
    """A problem in one config: an error, or a warning when ``warning`` is set."""

    message: str
    suggestion: str | None = None
    warning: bool = False


@dataclass(frozen=True)
class OpSpec:
    """An operation type: its fields and any rule spanning several fields."""

    name: str
    fields: Mapping[str, Field]
    rules: tuple[Callable[[Mapping[str, Any]], list[Finding]], ...] = field(default=())


def _req(*kinds: Kind, **options: Any) -> Field:
    return Field(kinds, required=True, **options)


def _opt(*kinds: Kind, **options: Any) -> Field:
    return Field(kinds, **options)


def _in_path(required: bool = True) -> Field:
    return Field(("string",), required=required, role="read")


def _out_path(required: bool = True) -> Field:
    return Field(("string",), required=required, role="write")


def _ids(required: bool = True) -> Field:
    return Field(("string", "array"), required=required, item_kinds=("string",), role="ids")


COMMON_FIELDS: Mapping[str, Field] = MappingProxyType(
    {"cache": _opt("boolean"), "timeout": _opt("integer", minimum=0), "idempotencyKey": _opt("string")}
)


_KINDS: tuple[tuple[type | tuple[type, ...], Kind], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (Mapping, "object"),
    ((list, tuple), "array"),
)


def _kind_of(value: Any) -> Kind:
    """The JSON kind of a value (``null`` for None and anything non-JSON)."""
    return next((kind for types, kind in _KINDS if isinstance(value, types)), "null")


def _accepts(kinds: tuple[Kind, ...], value: Any) -> bool:
    kind = _kind_of(value)
    return "any" in kinds or kind in kinds or (kind == "integer" and "number" in kinds)


def _closest(word: str, choices: Iterable[str]) -> str | None:
    """The known name closest to ``word`` (case-insensitive), if any is close."""
    by_lower = {choice.lower(): choice for choice in choices}
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """``"did you mean 'X'?"`` for the closest of ``choices``, or None."""
    closest = _closest(word, choices)
    return f"did you mean {closest!r}?" if closest else None


def _check_condition(condition: Any, where: str, *, path_key: str) -> list[Finding]:
    """A condition object ``{<path_key>, operator, value?}`` (FilterData uses ``field``)."""
    if not isinstance(condition, Mapping):
        return [Finding(f"{where} must be an object with {path_key!r} and 'operator'")]
    findings = []
    if not isinstance(condition.get(path_key), str):
        findings.append(Finding(f"{where} needs {path_key!r} (a string)"))
    operator = condition.get("operator")
    if operator not in OPERATORS:
        hint = suggest(operator, OPERATORS) if isinstance(operator, str) else None
        findings.append(
            Finding(f"{where} has unknown operator {operator!r}", hint or f"one of {', '.join(OPERATORS)}")
        )
    elif operator in NO_VALUE_OPERATORS and "value" in condition:
        findings.append(
            Finding(f"{where}: operator {operator!r} takes no value; it is ignored", warning=True)
        )
    elif operator not in NO_VALUE_OPERATORS and "value" not in condition:
        findings.append(Finding(f"{where}: operator {operator!r} needs a 'value'"))
    unknown = set(condition) - {path_key, "operator", "value"}
    findings.extend(Finding(f"{where} has unknown key {key!r}", warning=True) for key in sorted(unknown))
    return findings


def _filter_conditions(config: Mapping[str, Any]) -> list[Finding]:
    conditions = config.get("conditions")
    if not isinstance(conditions, list):
        return []
    findings: list[Finding] = []
    for index, condition in enumerate(conditions):
        findings.extend(_check_condition(condition, f"conditions[{index}]", path_key="field"))
    return findings


def _conditional_condition(config: Mapping[str, Any]) -> list[Finding]:
    condition = config.get("condition")
    if not isinstance(condition, Mapping):
        return []
    findings = _check_condition(condition, "condition", path_key="path")
    paths = _condition_paths(condition)
    return findings + [finding for path in paths for finding in _path_findings("condition", path)]


def _one_of_operation_expression(config: Mapping[str, Any]) -> list[Finding]:
    if ("operation" in config) == ("expression" in config):
        return [Finding("Calculate needs exactly one of 'operation' and 'expression'")]
    return []


def _difference_keys(config: Mapping[str, Any]) -> list[Finding]:
    """``otherPath`` is needed by, and ``otherPath``/``unit`` belong only to, ``difference``."""
    if config.get("operation") == "difference":
        return [] if "otherPath" in config else [Finding("operation 'difference' needs 'otherPath'")]
    misplaced = [key for key in ("otherPath", "unit") if key in config]
    return [Finding(f"{key!r} belongs to operation 'difference' only") for key in misplaced]


def _store_key_readable(config: Mapping[str, Any]) -> list[Finding]:
    key = config.get("key")
    if isinstance(key, str) and not _is_single_segment(key):
        return [
            Finding(f"key {key!r} cannot be read back at /store/<key>", "use letters, digits, '-' and '_'")
        ]
    return []


def _is_single_segment(key: str) -> bool:
    try:
        return len(parse_path(f"/store/{key}")) == 2
    except DataError:
        return False


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _known_timezones(*keys: str) -> Callable[[Mapping[str, Any]], list[Finding]]:
    """A rule: the named keys, when given, are IANA timezone names (skipped without tz data)."""

    def rule(config: Mapping[str, Any]) -> list[Finding]:
        zones = _timezones()
        names = [(key, config[key]) for key in keys if isinstance(config.get(key), str)]
        return [
            Finding(
                f"{key!r} names unknown timezone {name!r}",
                suggest(name, zones) or "an IANA name such as 'Europe/Berlin'",
            )
            for key, name in names
            if zones and name not in zones
        ]

    return rule


def _spec(
    name: str, fields: dict[str, Field], *rules: Callable[[Mapping[str, Any]], list[Finding]]
) -> OpSpec:
    return OpSpec(name, MappingProxyType({**fields, **COMMON_FIELDS}), rules)


_AMOUNTS = {
    unit: _opt("integer") for unit in ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
}

_SPEC_LIST = (
    _spec(
        "ApiCall",
        {
            "method": _req("string", choices=HTTP_METHODS),
            "url": _req("string", role="refs"),
            "headers": _opt("object", role="refs"),
            "body": _opt("any", role="refs"),
            "outputPath": _out_path(),
        },
    ),
    _spec(
        "FilterData",
        {"inputPath": _in_path(), "conditions": _opt("array", role="refs"), "outputPath": _out_path()},
        _filter_conditions,
    ),
    _spec(
        "TransformData",
        {
            "inputPath": _in_path(),
            "transform": _req("string", choices=("map", "sort", "group", "aggregate", "select")),
            "config": _opt("object"),
            "outputPath": _out_path(),
        },
    ),
    _spec(
        "Conditional",
        {"condition": _req("object", role="condition"), "ifTrue": _ids(), "ifFalse": _ids(required=False)},
        _conditional_condition,
    ),
    _spec("Loop", {"inputPath": _in_path(), "operations": _ids(), "outputPath": _out_path(required=False)}),
    _spec(
        "StoreData",
        {"inputPath": _in_path(), "storage": _req("string", choices=STORES), "key": _req("string")},
        _store_key_readable,
    ),
    _spec("Wait", {"duration": _req("integer", minimum=0)}),
    _spec(
        "MergeData",
        {
            "sources": _req("array", item_kinds=("string",), role="reads"),
            "strategy": _req("string", choices=("concat", "union", "intersect", "deepMerge")),
            "outputPath": _out_path(),
        },
    ),
    _spec(
        "GetCurrentDateTime",
        {"timezone": _opt("string"), "format": _opt("string"), "outputPath": _out_path()},
        _known_timezones("timezone"),
    ),
    _spec(
        "ConvertTimezone",
        {
            "inputPath": _in_path(),
            "toTimezone": _req("string"),
            "fromTimezone": _opt("string"),
            "outputPath": _out_path(),
        },
        _known_timezones("toTimezone", "fromTimezone"),
    ),
    _spec(
        "DateCalculation",
        {
            "inputPath": _in_path(),
            "operation": _req("string", choices=("add", "subtract", "difference")),
            **_AMOUNTS,
            "otherPath": _in_path(required=False),
            "unit": _opt("string", choices=("days", "hours", "minutes", "seconds", "months", "years")),
            "outputPath": _out_path(),
        },
        _difference_keys,
    ),
    _spec(
        "FormatText",
        {"template": _req("string"), "inputPath": _in_path(required=False), "outputPath": _out_path()},
    ),
    _spec(
        "ExtractText",
        {
            "inputPath": _in_path(),
            "pattern": _req("string"),
            "flags": _opt("array", item_kinds=("string",), choices=("IGNORECASE", "MULTILINE", "DOTALL")),
            "all": _opt("boolean"),
            "outputPath": _out_path(),
        },
    ),
    _spec(
        "ValidateData",
        {
            "inputPath": _in_path(),
            "schema": _req("object"),
            "failOnInvalid": _opt("boolean"),
            "outputPath": _out_path(),
        },
    ),
    _spec(
        "Calculate",
        {
            "inputPath": _in_path(required=False),
            "operation": _opt(
                "string", choices=("sum", "average", "min", "max", "count", "product", "median", "round")
            ),
            "field": _opt("string"),
            "expression": _opt("string"),
            "precision": _opt("integer", minimum=0),
            "outputPath": _out_path(),
        },
        _one_of_operation_expression,
    ),
    _spec(
        "EncodeDecode",
        {
            "inputPath": _in_path(),
            "action": _req("string", choices=("encode", "decode")),
            "encoding": _req("string", choices=("base64", "base64url", "url", "hex", "html")),
            "outputPath": _out_path(),
        },
    ),
)

SPECS: Mapping[str, OpSpec] = MappingProxyType({spec.name: spec for spec in _SPEC_LIST})
OPERATION_TYPES: frozenset[str] = frozenset(SPECS)
CORE_TYPES: frozenset[str] = frozenset(
    {"ApiCall", "FilterData", "TransformData", "Conditional", "Loop", "StoreData", "Wait", "MergeData"}
)


def id_list(value: Any) -> tuple[str, ...]:
    """Operation ids named by a branch or loop: a list of ids or one bare string."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def referenced_ids(op_type: str, config: Mapping[str, Any]) -> tuple[str, ...]:
    """The ids a Conditional (``ifTrue`` then ``ifFalse``) or Loop (``operations``) runs."""
    spec = SPECS.get(op_type)
    if spec is None:
        return ()
    return tuple(
        op_id
        for key, field_spec in spec.fields.items()
        if field_spec.role == "ids"
        for op_id in id_list(config.get(key))
    )


def branches(op_type: str, config: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The id lists of one operation by key (``{"ifTrue": (...), "ifFalse": (...)}``)."""
    spec = SPECS.get(op_type)
    if spec is None:
        return {}
    return {
        key: id_list(config.get(key)) for key, field_spec in spec.fields.items() if field_spec.role == "ids"
    }


def read_paths(op_type: str, config: Mapping[str, Any]) -> list[str]:
    """Every data path an operation reads, from paths, conditions, references and templates."""
    spec = SPECS.get(op_type)
    if spec is None:
        return []
    paths: list[str] = []
    for key, field_spec in spec.fields.items():
        value = config.get(key)
        if field_spec.role == "read" and isinstance(value, str):
            paths.append(value)
        elif field_spec.role == "reads" and isinstance(value, list):
            paths.extend(item for item in value if isinstance(item, str))
        elif field_spec.role == "condition" and isinstance(value, Mapping):
            paths.extend(_condition_paths(value))
        elif field_spec.role == "refs":
            paths.extend(referenced_paths(value))
    return paths


def _condition_paths(condition: Mapping[str, Any]) -> list[str]:
    own = [condition["path"]] if isinstance(condition.get("path"), str) else []
    return own + list(referenced_paths(condition.get("value")))


def written_paths(op_type: str, config: Mapping[str, Any]) -> list[str]:
    """The data paths an operation writes (its ``outputPath``, if any)."""
    spec = SPECS.get(op_type)
    if spec is None:
        return []
    return [
        config[key]
        for key, field_spec in spec.fields.items()
        if field_spec.role == "write" and isinstance(config.get(key), str)
    ]


def check_config(op_type: str, config: Mapping[str, Any]) -> list[Finding]:
    """Check one config against its type's spec; an unknown type gives one finding."""
    spec = SPECS.get(op_type)
    if spec is None:
        hint = suggest(op_type, OPERATION_TYPES) or f"use one of: {', '.join(sorted(OPERATION_TYPES))}"
        return [Finding(f"unknown operation type {op_type!r}", hint)]
    findings: list[Finding] = []
    for key, field_spec in spec.fields.items():
        if key in config:
            findings.extend(_check_field(key, field_spec, config[key]))
        elif field_spec.required:
            findings.append(Finding(f"{op_type} needs {key!r}", _kinds_hint(field_spec)))
    findings.extend(_unknown_keys(spec, config))
    for rule in spec.rules:
        findings.extend(rule(config))
    return findings


def _kinds_hint(field_spec: Field) -> str:
    if field_spec.choices:
        return f"one of {', '.join(field_spec.choices)}"
    return f"a value of type {' or '.join(field_spec.kinds)}"


def _unknown_keys(spec: OpSpec, config: Mapping[str, Any]) -> list[Finding]:
    return [
        Finding(
            f"{spec.name} has unknown key {key!r}; it is ignored",
            suggest(key, tuple(spec.fields)),
            warning=True,
        )
        for key in config
        if key not in spec.fields
    ]


def _check_field(key: str, field_spec: Field, value: Any) -> list[Finding]:
    if not _accepts(field_spec.kinds, value):
        return [
            Finding(
                f"{key!r} must be {' or '.join(field_spec.kinds)}, not {_kind_of(value)}",
                _kinds_hint(field_spec),
            )
        ]
    if isinstance(value, list | tuple) and field_spec.item_kinds:
        findings = _check_items(key, field_spec, value)
    else:
        findings = _check_scalar(key, field_spec, value)
    return findings or _role_findings(key, field_spec, value)


def _check_items(key: str, field_spec: Field, items: list[Any] | tuple[Any, ...]) -> list[Finding]:
    findings: list[Finding] = []
    for index, item in enumerate(items):
        findings.extend(
            _check_scalar(f"{key}[{index}]", Field(field_spec.item_kinds, choices=field_spec.choices), item)
        )
    return findings


def _check_scalar(key: str, field_spec: Field, value: Any) -> list[Finding]:
    if not _accepts(field_spec.kinds, value):
        return [Finding(f"{key!r} must be {' or '.join(field_spec.kinds)}, not {_kind_of(value)}")]
    if field_spec.choices and isinstance(value, str) and value not in field_spec.choices:
        hint = suggest(value, field_spec.choices) or f"one of {', '.join(field_spec.choices)}"
        return [Finding(f"{key!r} has unknown value {value!r}", hint)]
    if field_spec.minimum is not None and isinstance(value, int) and value < field_spec.minimum:
        return [Finding(f"{key!r} must be at least {field_spec.minimum}, not {value}")]
    return []


def _role_findings(key: str, field_spec: Field, value: Any) -> list[Finding]:
    if field_spec.role == "read":
        return _path_findings(key, value)
    if field_spec.role == "reads":
        return [
            finding for index, item in enumerate(value) for finding in _path_findings(f"{key}[{index}]", item)
        ]
    if field_spec.role == "write":
        return _path_findings(key, value) or _reserved_write(key, value)
    if field_spec.role == "ids" and not id_list(value):
        return [Finding(f"{key!r} names no operation")]
    if field_spec.role == "refs":
        return [finding for path in referenced_paths(value) for finding in _path_findings(key, path)]
    return []


def _path_findings(key: str, path: Any) -> list[Finding]:
    try:
        parse_path(path)
    except DataError as error:
        return [Finding(f"{key!r}: {error.message}", "write paths like /workflow/users[0].name")]
    return []


def _reserved_write(key: str, path: str) -> list[Finding]:
    root = parse_path(path)[0]
    if root in RESERVED_WRITE_ROOTS:
        return [Finding(f"{key!r} writes into /{root}, which the engine manages", "write under /workflow/")]
    return []
