"""What the utility operations share: the context they use and small value helpers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from a2e.errors import DataError, OperationTimeout

PREVIEW_CHARS = 80
REGEX_BUDGET_S = 1.0


class Context(Protocol):
    """The part of the engine's operation context these operations use."""

    @property
    def op_id(self) -> str: ...

    @property
    def remaining_s(self) -> float: ...

    def read(self, path: str) -> Any: ...

    def now(self) -> datetime: ...


def data_error(ctx: Context, op: str, message: str, **kwargs: Any) -> DataError:
    """A DataError of operation ``op`` whose message starts with the operation's type."""
    return DataError(f"{op}: {message}", operation_id=ctx.op_id, **kwargs)


def compact_json(value: Any) -> str:
    """``value`` as compact JSON text (non-ASCII kept as is)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def preview(value: Any) -> str:
    """A short JSON rendering of ``value`` for messages, truncated with its full length."""
    text = compact_json(value)
    if len(text) <= PREVIEW_CHARS:
        return text
    return f"{text[:PREVIEW_CHARS]}… ({len(text)} chars)"


def json_type(value: Any) -> str:
    """The JSON name of ``value``'s type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def is_number(value: Any) -> bool:
    """True for JSON numbers (booleans are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_string(ctx: Context, op: str, path: str) -> str:
    """The string at ``path``; DataError when it is something else."""
    value = ctx.read(path)
    if not isinstance(value, str):
        raise data_error(ctx, op, f"expected a string at {path}, got {json_type(value)} {preview(value)}",
                         details={"path": path})
    return value


def lookup(value: Any, dotted: str) -> Any:
    """Follow ``a.b.0`` through objects (keys) and arrays (indexes); LookupError if absent."""
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isascii() and part.isdigit() and len(part) <= 9 \
                and int(part) < len(value):
            value = value[int(part)]
        else:
            raise LookupError(part)
    return value


def regex_timeout(ctx: Context, op: str) -> float:
    """Seconds a regular expression may run: at most 1 s, never past the run's deadline."""
    budget = min(REGEX_BUDGET_S, ctx.remaining_s)
    if budget <= 0:
        raise OperationTimeout(f"{op}: no time left before the run deadline", operation_id=ctx.op_id)
    return budget
