"""Keyset pagination: ``limit`` 1–1000 (default 50) and an opaque ``cursor``.

Out-of-range or malformed values are a 400, never clamped (PROTOCOL §10). A cursor
is the last row id as 8 bytes, base64url without padding: exactly the strings
:data:`CURSOR_PATTERN` matches, which the OpenAPI document states, so every cursor
the pattern allows is one the server accepts.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

MAX_LIMIT = 1000
#: 11 base64url characters of an id below 2**63 (top bit clear, two zero pad bits).
CURSOR_PATTERN = r"^[A-Za-f][A-Za-z0-9_-]{9}[AEIMQUYcgkosw048]$"
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(last_id.to_bytes(8, "big")).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues below; ValueError for one this server did not make."""
    if not _CURSOR.fullmatch(cursor):
        raise ValueError("cursor is not valid")
    try:
        return int.from_bytes(base64.urlsafe_b64decode(cursor + "="), "big")
    except (binascii.Error, ValueError):
        raise ValueError("cursor is not valid") from None


class CursorField(fields.String):
    """``next_cursor`` of the previous page, loaded as the id to continue below."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"description": "next_cursor of the previous page", "pattern": CURSOR_PATTERN}
        super().__init__(load_default=None, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            return decode_cursor(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class PageArgsSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = CursorField()


def page(items: list, limit: int, last_id: int | None) -> dict:
    """``{"items", "next_cursor"}``: a cursor only when the page is full."""
    return {
        "items": items,
        "next_cursor": encode_cursor(last_id) if len(items) == limit and last_id is not None else None,
    }
