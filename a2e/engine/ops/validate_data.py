"""ValidateData: check a value against a JSON Schema (Draft 2020-12), or (the reference's
spelling) against a ``validationType``: ``email``, ``url``, ``number``, ``integer``,
``phone``, ``date`` or ``custom`` (a ``pattern`` that must match at the start).

Regular expressions in the schema (``pattern``, ``patternProperties`` and the property
matching of ``additionalProperties``) run on the ``regex`` engine under the same time bound
as ExtractText. ``required`` and ``additionalProperties: false`` report the offending
property itself, so every error names a field. ``format`` is an annotation, as the draft's
default says, not an assertion.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError
from referencing.exceptions import Unresolvable

from a2e.engine.ops._common import Context, data_error, json_type, regex_timeout
from a2e.errors import OperationTimeout
from a2e.protocol.catalog import Finding, OpSpec, in_path, opt, out_path

OP = "ValidateData"
MAX_ERRORS = 100
MESSAGE_CHARS = 200
_deadline: ContextVar[float] = ContextVar("validate_data_regex_deadline")


def run(ctx: Context, config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"valid", "errors": [{"path", "field", "message", "validator"}]}`` (at most 100 errors);
    with ``validationType``: ``{"valid", "value", "error"?}``."""
    if "validationType" in config:
        return _check_type(ctx, config)
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


EMAIL = regex.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
NUMBER = regex.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
INTEGER = regex.compile(r"\s*[+-]?\d+\s*")
PHONE = regex.compile(r"[\d\s()+-]+")
MIN_PHONE_DIGITS = 10
VALIDATION_TYPES = ("email", "url", "number", "integer", "phone", "date", "custom")


def _check_type(ctx: Context, config: Mapping[str, Any]) -> dict[str, Any]:
    """The reference's checks; a number is checked as its text, other non-strings are invalid."""
    value = ctx.read(config["inputPath"])
    kind = config["validationType"]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        error: str | None = f"expected text or a number, got {json_type(value)}"
    else:
        try:
            error = _type_error(ctx, kind, config.get("pattern"), value, regex_timeout(ctx, OP))
        except TimeoutError:
            raise OperationTimeout(f"{OP}: the {kind} check ran out of time", operation_id=ctx.op_id,
                                   suggestions=["Check a shorter value"]) from None
    result: dict[str, Any] = {"valid": error is None, "value": value}
    if error is not None:
        result["error"] = error
    return result


def _type_error(ctx: Context, kind: str, pattern: Any, value: str | int | float, timeout: float) -> str | None:
    """Why ``value`` fails the check ``kind`` (the reference's messages), or None."""
    text = value if isinstance(value, str) else json.dumps(value)
    if kind == "number":
        ok = not isinstance(value, str) or NUMBER.fullmatch(text, timeout=timeout)
        return None if ok else "Not a valid number"
    if kind == "integer":
        ok = isinstance(value, int) or (isinstance(value, str) and INTEGER.fullmatch(text, timeout=timeout))
        return None if ok else "Not a valid integer"
    if kind == "email":
        return None if EMAIL.fullmatch(text, timeout=timeout) else "Invalid email format"
    if kind == "url":
        return None if _is_url(text) else "Invalid URL format"
    if kind == "phone":
        digits = sum(char.isdigit() for char in text)
        ok = digits >= MIN_PHONE_DIGITS and PHONE.fullmatch(text, timeout=timeout)
        return None if ok else "Invalid phone number format"
    if kind == "date":
        return None if _is_date(text) else "Invalid date format"
    return _custom_error(ctx, pattern, text)


def _is_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)


def _is_date(text: str) -> bool:
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(text)
            return True
        except ValueError:
            pass
    return False


def _custom_error(ctx: Context, pattern: Any, text: str) -> str | None:
    if not isinstance(pattern, str):
        raise data_error(ctx, OP, "validationType 'custom' needs a pattern",
                         suggestions=["Add \"pattern\": \"^[A-Z]{2}[0-9]{4}$\""])
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise data_error(ctx, OP, f"invalid pattern {_quoted(pattern)}: {exc}") from None
    budget = regex_timeout(ctx, OP)
    try:
        matched = compiled.match(text, timeout=budget) is not None
    except TimeoutError:
        raise OperationTimeout(f"{OP}: pattern {_quoted(pattern)} ran out of time after {budget:.2f} s",
                               operation_id=ctx.op_id, suggestions=["Avoid nested quantifiers such as (a+)+"]) from None
    return None if matched else f"Value does not match pattern: {pattern[:MESSAGE_CHARS]}"


def _check_keys(config: Mapping[str, Any]) -> list[Finding]:
    """Exactly one of ``schema`` and ``validationType``; ``pattern`` goes with ``custom``."""
    if ("schema" in config) == ("validationType" in config):
        return [Finding(f"{OP} needs exactly one of 'schema' and 'validationType'",
                        "a JSON Schema object, or one of " + ", ".join(VALIDATION_TYPES))]
    kind = config.get("validationType")
    if kind == "custom" and not isinstance(config.get("pattern"), str):
        return [Finding("validationType 'custom' needs 'pattern'", "e.g. \"pattern\": \"^[A-Z]{2}[0-9]{4}$\"")]
    if kind != "custom" and "pattern" in config:
        return [Finding("'pattern' is used only with validationType 'custom'; it is ignored", warning=True)]
    if "failOnInvalid" in config and "validationType" in config:
        return [Finding("'failOnInvalid' is used only with 'schema'; it is ignored", warning=True)]
    return []


SPEC = OpSpec(
    OP,
    doc="Check a value against a JSON Schema (Draft 2020-12) or a named check such as email.",
    fields={
        "inputPath": in_path(),
        "schema": opt("object"),
        "failOnInvalid": opt("boolean"),
        "validationType": opt("string", choices=VALIDATION_TYPES),
        "pattern": opt("string"),
        "outputPath": out_path(),
    },
    run=run,
    rules=(_check_keys,),
)
