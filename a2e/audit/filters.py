"""Parsing the time bounds operators type: an ISO 8601 date or date-time, UTC unless said."""

from __future__ import annotations

from datetime import datetime, timezone


def parse_instant(text: str) -> datetime:
    """``2026-01-31``, ``2026-01-31T12:00`` or ``2026-01-31T12:00:00+02:00`` → aware UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
