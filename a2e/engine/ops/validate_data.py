"""ValidateData: check a value against a JSON Schema (Draft 2020-12).

Regular expressions in the schema (``pattern``, ``patternProperties`` and the property
matching of ``additionalProperties``) run on the ``regex`` engine under the same time bound
as ExtractText. ``required`` and ``additionalProperties: false`` report the offending
property itself, so every error names a field. ``format`` is an annotation, as the draft's
default says, not an assertion.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError
from referencing.exceptions import Unresolvable

from a2e.engine.ops._common import Context, data_error, regex_timeout
from a2e.errors import OperationTimeout
from a2e.protocol.catalog import OpSpec, in_path, opt, out_path, req

OP = "ValidateData"
MAX_ERRORS = 100
MESSAGE_CHARS = 200
_deadline: ContextVar[float] = ContextVar("validate_data_regex_deadline")


def run(ctx: Context, config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"valid", "errors": [{"path", "field", "message", "validator"}]}`` (at most 100 errors)."""
    schema = config["schema"]
    try:
        Validator.check_schema(schema)
    except SchemaError as exc:
        raise data_error(ctx, OP, f"invalid schema: {_shorten(exc.message)}",
                         details={"schemaPath": _pointer(exc.absolute_path)}) from None
    instance = ctx.read(config["inputPath"])
    budget = regex_timeout(ctx, OP)
    token = _deadline.set(time.monotonic() + budget)
    try:
        errors = [_describe(error) for error in
                  itertools.islice(Validator(schema).iter_errors(instance), MAX_ERRORS)]
    except TimeoutError:
        raise OperationTimeout(f"{OP}: the schema's patterns ran out of time after {budget:.2f} s",
                               operation_id=ctx.op_id) from None
    except regex.error as exc:
        raise data_error(ctx, OP, f"invalid pattern in schema: {exc}") from None
    except RecursionError:
        raise data_error(ctx, OP, "the value is nested too deeply to validate") from None
    except Unresolvable as exc:
        raise data_error(ctx, OP, f"unresolvable $ref in schema: {_shorten(str(exc))}",
                         suggestions=["Only references inside the schema ($defs) are resolved"]) from None
    finally:
        _deadline.reset(token)
    if errors and config.get("failOnInvalid", False):
        first = "; ".join(f"{error['path'] or '/'}: {error['message']}" for error in errors[:3])
        raise data_error(ctx, OP, f"{len(errors)} validation error(s): {first}",
                         details={"fields": [error["path"] for error in errors], "errors": errors})
    return {"valid": not errors, "errors": errors}


def _describe(error: ValidationError) -> dict[str, Any]:
    names = [part for part in error.absolute_path if isinstance(part, str)]
    return {"path": _pointer(error.absolute_path), "field": names[-1] if names else None,
            "message": _shorten(error.message), "validator": error.validator}


def _pointer(parts: Any) -> str:
    """A JSON Pointer (RFC 6901) to the failing value; the root is ``""``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _shorten(message: str) -> str:
    return message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS] + "…"


def _quoted(text: str) -> str:
    """``text`` quoted as jsonschema's own messages quote it, cut to 80 characters."""
    return repr(text) if len(text) <= 80 else repr(text[:80]) + "…"


def _search(pattern: str, text: str) -> bool:
    remaining = _deadline.get() - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return regex.search(pattern, text, timeout=remaining) is not None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{_quoted(instance)} does not match {_quoted(pattern)}")


def _pattern_properties(validator: Any, patterns: Mapping[str, Any], instance: Any,
                        schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if _search(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any,
                           schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    declared, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    for name, value in instance.items():
        if name in declared or any(_search(pattern, name) for pattern in patterns):
            continue
        if additional is False:
            yield ValidationError(f"additional property {_quoted(name)} is not allowed", path=(name,))
        elif isinstance(additional, dict):
            yield from validator.descend(value, additional, path=name)


def _required(validator: Any, required: list[str], instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name in required:
            if name not in instance:
                yield ValidationError(f"{_quoted(name)} is a required property", path=(name,))


Validator = validators.extend(Draft202012Validator, {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "required": _required,
})


SPEC = OpSpec(
    OP,
    doc="Check a value against a JSON Schema (Draft 2020-12).",
    fields={
        "inputPath": in_path(),
        "schema": req("object"),
        "failOnInvalid": opt("boolean"),
        "outputPath": out_path(),
    },
    run=run,
)
