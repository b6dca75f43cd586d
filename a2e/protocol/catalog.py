"""The language of operation specs (PROTOCOL §3), and the catalog that holds them.

Each operation module (``a2e/engine/ops/<name>.py``) declares one :class:`OpSpec`:
its config keys (:class:`Field`: JSON kinds, required or not, allowed values, role),
rules spanning several keys, its cache policy and what it does outside the run. The
engine collects them into one :class:`Catalog`; the parser, the validator, the runner,
the cache and the capabilities endpoint ask that catalog and its specs, never an
operation's name. This module is pure: the catalog is passed in, never imported.

A field's *role* says what its value means to the rest of the server: a path the
operation reads (``read``; ``reads`` for a list of paths; ``condition`` for an
object whose ``path`` is read), the path it writes (``write``), operation ids it
runs (``branch``: one of them runs; ``body``: all of them, once per item, with
``/loop`` readable; a list or a single string), values that may hold
``{"path": ...}`` references and ``{/path}`` templates (``refs``; ``url`` for a URL
whose host the agent must be allowed), or a pause in milliseconds (``wait``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from a2e.errors import DataError
from a2e.protocol.paths import parse_path, referenced_paths

Kind = Literal["string", "integer", "number", "boolean", "object", "array", "null", "any"]
Role = Literal["read", "reads", "condition", "write", "branch", "body", "refs", "url", "wait"]
Rule = Callable[[Mapping[str, Any]], list["Finding"]]

OPERATORS = ("==", "!=", ">", "<", ">=", "<=", "in", "contains", "startsWith", "endsWith", "exists", "empty")
NO_VALUE_OPERATORS = frozenset({"exists", "empty"})
RESERVED_WRITE_ROOTS = frozenset({"loop", "store"})
_ID_ROLES = ("branch", "body")


@dataclass(frozen=True)
class Field:
    """One config key: accepted JSON kinds, allowed values, role, bounds."""

    kinds: tuple[Kind, ...]
    required: bool = False
    choices: tuple[str, ...] = ()  # allowed strings (for an array: of each item)
    item_kinds: tuple[Kind, ...] = ()  # for arrays: accepted kinds of each item
    role: Role | None = None
    minimum: int | None = None
    credentials: bool = False  # may hold {"credentialRef": {"id": ...}} the agent must own


@dataclass(frozen=True)
class Finding:
    """A problem in one config: an error, or a warning when ``warning`` is set."""

    message: str
    suggestion: str | None = None
    warning: bool = False


def req(*kinds: Kind, **options: Any) -> Field:
    """A required key of these kinds."""
    return Field(kinds, required=True, **options)


def opt(*kinds: Kind, **options: Any) -> Field:
    """An optional key of these kinds."""
    return Field(kinds, **options)


def in_path(required: bool = True) -> Field:
    """A data path the operation reads."""
    return Field(("string",), required=required, role="read")


def out_path(required: bool = True) -> Field:
    """The data path the operation writes its result to."""
    return Field(("string",), required=required, role="write")


def ids(role: Literal["branch", "body"], required: bool = True) -> Field:
    """Operation ids run by this one: a list of ids or one bare string."""
    return Field(("string", "array"), required=required, item_kinds=("string",), role=role)


COMMON_FIELDS: Mapping[str, Field] = MappingProxyType(
    {"cache": opt("boolean"), "timeout": opt("integer", minimum=0), "idempotencyKey": opt("string")}
)


def _cached_by_default(config: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class OpSpec:
    """An operation type: its config, its run function and its policies.

    ``cacheable``: its results may be cached at all; ``cached_by_default(config)`` decides
    when the config does not say ``"cache"``; ``default_ttl`` seconds (None: the cache's
    ``default_ttl``). ``outside_effect``: it acts outside the run (a request, a stored
    value), so a replay must not repeat it blindly. ``blocking``: it pauses the run.
    ``deterministic``: the same config and inputs give the same result (not so for the
    clock or the network). ``spellings`` pairs keys the reference implementation spells
    differently, so a misspelled key is pointed at both.
    """

    name: str
    doc: str
    fields: Mapping[str, Field]
    run: Callable[[Any, Mapping[str, Any]], Any] = field(compare=False, repr=False)
    rules: tuple[Rule, ...] = ()
    cacheable: bool = True
    cached_by_default: Callable[[Mapping[str, Any]], bool] = field(
        default=_cached_by_default, compare=False, repr=False
    )
    default_ttl: int | None = None
    outside_effect: bool = False
    blocking: bool = False
    deterministic: bool = True
    #: Keys spelled two ways (ours → the reference implementation's), for suggestions.
    spellings: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType({**self.fields, **COMMON_FIELDS}))
        #: keys_with's answers, by the roles asked for (a few, asked on every run).
        object.__setattr__(self, "_keys_with", {})

    # --- what a config means ---------------------------------------------------------

    def caches(self, config: Mapping[str, Any]) -> bool:
        """Whether a step with this config may be answered from, and stored in, the cache."""
        if not self.cacheable:
            return False
        chosen = config.get("cache")
        return chosen if isinstance(chosen, bool) else self.cached_by_default(config)

    def keys_with(self, *roles: Role) -> tuple[str, ...]:
        """The config keys whose role is one of ``roles``."""
        known: dict[tuple[Role, ...], tuple[str, ...]] = self._keys_with  # type: ignore[attr-defined]
        keys = known.get(roles)
        if keys is None:
            keys = known[roles] = tuple(
                key for key, spec in self.fields.items() if spec.role in roles)
        return keys

    def id_lists(self, config: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
        """The ids each branch or body key names (``{"ifTrue": (...), "ifFalse": (...)}``)."""
        return {key: id_list(config.get(key)) for key in self.keys_with(*_ID_ROLES)}

    def referenced_ids(self, config: Mapping[str, Any]) -> tuple[str, ...]:
        """Every id this operation may run, in key order."""
        if not self.keys_with(*_ID_ROLES):
            return ()
        return tuple(op_id for targets in self.id_lists(config).values() for op_id in targets)

    def runs_body(self) -> bool:
        """Whether it runs other operations once per item (``/loop`` readable inside)."""
        return bool(self.keys_with("body"))

    def input_paths(self, config: Mapping[str, Any]) -> list[str]:
        """The data paths named by ``read`` and ``reads`` keys (the data it works on)."""
        paths: list[str] = []
        for key in self.keys_with("read", "reads"):
            value = config.get(key)
            if isinstance(value, str):
                paths.append(value)
            elif isinstance(value, list):
                paths.extend(item for item in value if isinstance(item, str))
        return paths

    def read_paths(self, config: Mapping[str, Any]) -> list[str]:
        """Every data path it reads, from paths, conditions, references and templates."""
        paths: list[str] = []
        for key, field_spec in self.fields.items():
            value = config.get(key)
            if field_spec.role == "read" and isinstance(value, str):
                paths.append(value)
            elif field_spec.role == "reads" and isinstance(value, list):
                paths.extend(item for item in value if isinstance(item, str))
            elif field_spec.role == "condition" and isinstance(value, Mapping):
                paths.extend(condition_paths(value))
            elif field_spec.role in ("refs", "url"):
                paths.extend(referenced_paths(value))
        return paths

    def written_paths(self, config: Mapping[str, Any]) -> list[str]:
        """The data paths it writes (its ``outputPath``, if any)."""
        return [config[key] for key in self.keys_with("write") if isinstance(config.get(key), str)]

    def urls(self, config: Mapping[str, Any]) -> list[Any]:
        """The values of its ``url`` keys (whose host the agent must be allowed)."""
        return [config.get(key) for key in self.keys_with("url") if key in config]

    def credential_values(self, config: Mapping[str, Any]) -> list[Any]:
        """The values that may hold credential references."""
        return [config.get(key) for key, spec in self.fields.items() if spec.credentials]

    def wait_ms(self, config: Mapping[str, Any]) -> int:
        """The milliseconds its ``wait`` keys pause the run (0 when not a positive integer)."""
        values = (config.get(key) for key in self.keys_with("wait"))
        return sum(value for value in values if type(value) is int and value > 0)

    # --- checks ------------------------------------------------------------------

    def check(self, config: Mapping[str, Any]) -> list[Finding]:
        """Check one config against this spec."""
        findings: list[Finding] = []
        for key, field_spec in self.fields.items():
            if key in config:
                findings.extend(_check_field(key, field_spec, config[key]))
            elif field_spec.required:
                findings.append(Finding(f"{self.name} needs {key!r}", _kinds_hint(field_spec)))
        findings.extend(self._unknown_keys(config))
        for rule in self.rules:
            findings.extend(rule(config))
        return findings

    def _unknown_keys(self, config: Mapping[str, Any]) -> list[Finding]:
        return [
            Finding(f"{self.name} has unknown key {key!r}; it is ignored", self._key_hint(key), warning=True)
            for key in config
            if key not in self.fields
        ]

    def _key_hint(self, key: str) -> str | None:
        closest = _closest(key, tuple(self.fields))
        if closest is None:
            return None
        other = self.spellings.get(closest) or next(
            (ours for ours, theirs in self.spellings.items() if theirs == closest), None
        )
        return f"did you mean {closest!r}? (also spelled {other!r})" if other else f"did you mean {closest!r}?"

    def json_schema(self) -> dict[str, Any]:
        """The config as a JSON Schema (2020-12) object; rules across keys are not in it."""
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "description": self.doc,
            "type": "object",
            "properties": {key: _field_schema(spec) for key, spec in self.fields.items()},
            "required": [key for key, spec in self.fields.items() if spec.required],
        }


class Catalog(Mapping[str, OpSpec]):
    """The operation types a server knows, by name (read-only)."""

    def __init__(self, specs: Iterable[OpSpec]) -> None:
        self._specs: dict[str, OpSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"operation type {spec.name} is declared twice")
            self._specs[spec.name] = spec
        self.names: frozenset[str] = frozenset(self._specs)

    def __getitem__(self, name: str) -> OpSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    # The dict's own lookups, not Mapping's (a __getitem__ and a KeyError per miss).
    def get(self, name: str, default: Any = None) -> Any:
        return self._specs.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def replace(self, name: str, **changes: Any) -> Catalog:
        """A copy with one spec changed (``run=...`` in tests, for instance)."""
        return Catalog(dataclasses.replace(spec, **changes) if spec.name == name else spec for spec in self.values())

    def check_config(self, op_type: str, config: Mapping[str, Any]) -> list[Finding]:
        """Check one config against its type's spec; an unknown type gives one finding."""
        spec = self._specs.get(op_type)
        if spec is None:
            hint = suggest(op_type, self.names) or f"use one of: {', '.join(sorted(self.names))}"
            return [Finding(f"unknown operation type {op_type!r}", hint)]
        return spec.check(config)

    def referenced_ids(self, op_type: str, config: Mapping[str, Any]) -> tuple[str, ...]:
        """The ids an operation runs (none for an unknown type)."""
        spec = self._specs.get(op_type)
        return spec.referenced_ids(config) if spec else ()

    def default_ttls(self) -> dict[str, int]:
        """Seconds a cached result of each type stays valid, where its spec says."""
        return {name: spec.default_ttl for name, spec in self._specs.items() if spec.default_ttl is not None}


# --- helpers shared by specs ---------------------------------------------------------


def id_list(value: Any) -> tuple[str, ...]:
    """Operation ids named by a branch or loop: a list of ids or one bare string."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def condition_paths(condition: Mapping[str, Any]) -> list[str]:
    """The paths a condition ``{path, operator, value?}`` reads."""
    own = [condition["path"]] if isinstance(condition.get("path"), str) else []
    return own + list(referenced_paths(condition.get("value")))


def check_condition(condition: Any, where: str, *, path_key: str) -> list[Finding]:
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


def one_spelling(ours: str, theirs: str, *, required: bool = False) -> Rule:
    """A rule: at most one of two spellings of a key (exactly one when ``required``)."""

    def rule(config: Mapping[str, Any]) -> list[Finding]:
        if ours in config and theirs in config:
            return [Finding(f"{ours!r} and {theirs!r} are two spellings of one key; give one", f"drop {theirs!r}")]
        if required and ours not in config and theirs not in config:
            return [Finding(f"needs {ours!r} (or {theirs!r})", f"add {ours!r}")]
        return []

    return rule


def path_findings(key: str, path: Any) -> list[Finding]:
    """A finding when ``path`` is not a well-formed data path."""
    try:
        parse_path(path)
    except DataError as error:
        return [Finding(f"{key!r}: {error.message}", "write paths like /workflow/users[0].name")]
    return []


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def known_timezones(*keys: str) -> Rule:
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


def _closest(word: str, choices: Iterable[str]) -> str | None:
    """The known name closest to ``word`` (case-insensitive), if any is close."""
    by_lower = {choice.lower(): choice for choice in choices}
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """``"did you mean 'X'?"`` for the closest of ``choices``, or None."""
    closest = _closest(word, choices)
    return f"did you mean {closest!r}?" if closest else None


# --- checking one field --------------------------------------------------------------

_KINDS: tuple[tuple[type | tuple[type, ...], Kind], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (Mapping, "object"),
    ((list, tuple), "array"),
)


#: The kinds of the exact types JSON decodes to (a subclass takes the walk of _KINDS).
_KIND_OF_TYPE: dict[type, Kind] = {bool: "boolean", int: "integer", float: "number", str: "string",
                                   dict: "object", list: "array", type(None): "null"}


def _kind_of(value: Any) -> Kind:
    """The JSON kind of a value (``null`` for None and anything non-JSON)."""
    kind = _KIND_OF_TYPE.get(type(value))
    if kind is not None:
        return kind
    return next((kind for types, kind in _KINDS if isinstance(value, types)), "null")


def _accepts(kinds: tuple[Kind, ...], value: Any) -> bool:
    kind = _kind_of(value)
    return "any" in kinds or kind in kinds or (kind == "integer" and "number" in kinds)


def _kinds_hint(field_spec: Field) -> str:
    if field_spec.choices:
        return f"one of {', '.join(field_spec.choices)}"
    return f"a value of type {' or '.join(field_spec.kinds)}"


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
        findings = _scalar_rules(key, field_spec, value)
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
    return _scalar_rules(key, field_spec, value)


def _scalar_rules(key: str, field_spec: Field, value: Any) -> list[Finding]:
    """The choices and minimum of a value of an accepted kind."""
    if field_spec.choices and isinstance(value, str) and value not in field_spec.choices:
        hint = suggest(value, field_spec.choices) or f"one of {', '.join(field_spec.choices)}"
        return [Finding(f"{key!r} has unknown value {value!r}", hint)]
    if field_spec.minimum is not None and isinstance(value, int) and value < field_spec.minimum:
        return [Finding(f"{key!r} must be at least {field_spec.minimum}, not {value}")]
    return []


def _role_findings(key: str, field_spec: Field, value: Any) -> list[Finding]:
    if field_spec.role == "read":
        return path_findings(key, value)
    if field_spec.role == "reads":
        return [
            finding for index, item in enumerate(value) for finding in path_findings(f"{key}[{index}]", item)
        ]
    if field_spec.role == "write":
        return path_findings(key, value) or _reserved_write(key, value)
    if field_spec.role in _ID_ROLES and not id_list(value):
        return [Finding(f"{key!r} names no operation")]
    if field_spec.role in ("refs", "url"):
        return [finding for path in referenced_paths(value) for finding in path_findings(key, path)]
    return []


def _reserved_write(key: str, path: str) -> list[Finding]:
    root = parse_path(path)[0]
    if root in RESERVED_WRITE_ROOTS:
        return [Finding(f"{key!r} writes into /{root}, which the engine manages", "write under /workflow/")]
    return []


def _field_schema(spec: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if "any" not in spec.kinds:
        kinds = list(spec.kinds)
        schema["type"] = kinds[0] if len(kinds) == 1 else kinds
    if spec.choices and not spec.item_kinds:
        schema["enum"] = list(spec.choices)
    if spec.item_kinds:
        items: dict[str, Any] = {"type": list(spec.item_kinds) if len(spec.item_kinds) > 1 else spec.item_kinds[0]}
        if spec.choices:
            items["enum"] = list(spec.choices)
        schema["items"] = items
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.role is not None:
        schema["x-a2e-role"] = spec.role
    return schema
