"""Request fields that state in the OpenAPI document what the database can hold.

A value the schema allows must be one the server takes, on SQLite and PostgreSQL
alike: text without a NUL character (PostgreSQL refuses one), integers within the
column's range (SQLite overflows past 64 bits, PostgreSQL's INTEGER past 32).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from a2e.store.base import MAX_ID



class FullMatch(validate.Regexp):
    """``validate.Regexp`` matching the whole value, as JSON Schema's ``^...$`` does
    (Python's ``$`` would also match before a final newline)."""

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


#: Text a database column holds: no NUL character.
TEXT_PATTERN = "^[^\\u0000]*$"
NO_NUL = FullMatch(TEXT_PATTERN, error="must not contain a NUL character")
#: The largest value of an INTEGER column (32 bits on PostgreSQL).
MAX_INT32 = 2**31 - 1
MAX_INT64 = MAX_ID


def text(*, max_length: int | None = None, **kwargs: Any) -> fields.String:
    """A string for a text column: no NUL, at most ``max_length`` characters."""
    checks: list[Any] = [NO_NUL]
    if max_length is not None:
        checks.append(validate.Length(max=max_length))
    return fields.String(validate=checks, **kwargs)


def integer(*, minimum: int = 0, maximum: int = MAX_INT64, strict: bool = True,
            **kwargs: Any) -> fields.Integer:
    """An integer within a column's range; ``strict``: a JSON number, not a string
    (query arguments are strings, so they pass ``strict=False``)."""
    return fields.Integer(strict=strict, validate=validate.Range(min=minimum, max=maximum),
                          **kwargs)


def path_parameter(name: str, pattern: str, description: str) -> dict[str, Any]:
    """The OpenAPI description of a path variable the view checks against ``pattern``
    (for ``@blp.route(..., parameters=[...])``)."""
    return {"in": "path", "name": name, "required": True, "description": description,
            "schema": {"type": "string", "pattern": pattern}}


class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only (marshmallow's Boolean also takes 1, "yes", ...)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("not a boolean (true or false)")
        return value
