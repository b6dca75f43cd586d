"""Keyset pagination: ``limit`` 1–1000 (default 50) and an opaque ``cursor``.

Out-of-range or malformed values are a 400, never clamped (PROTOCOL §10).
"""

from __future__ import annotations

import base64
import binascii

from flask_smorest import abort
from marshmallow import Schema, fields, validate

from a2e.store.base import parse_id

MAX_LIMIT = 1000


class PageArgsSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id to continue below, or a 400 for a cursor this server did not make."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "id" and (last_id := parse_id(value)) is not None:
            return last_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    abort(400, message="cursor is not valid")
    raise AssertionError("unreachable")


def encode_name_cursor(last_name: str) -> str:
    return base64.urlsafe_b64encode(f"name:{last_name}".encode()).decode().rstrip("=")


def decode_name_cursor(cursor: str | None) -> str | None:
    """The name to continue after, or a 400 for a cursor this server did not make."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "name" and value:
            return value
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    abort(400, message="cursor is not valid")
    raise AssertionError("unreachable")


def page(items: list, limit: int, last_id: int | None) -> dict:
    """``{"items", "next_cursor"}``: a cursor only when the page is full."""
    return {
        "items": items,
        "next_cursor": encode_cursor(last_id) if len(items) == limit and last_id is not None else None,
    }
