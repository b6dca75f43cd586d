"""The hash chain: the canonical form of a row and how a row's hash is made.

``hash = sha256(prev_hash + canonical(row))`` in hex, where ``canonical`` is the
row's fields (``id`` included, so renumbering shows) as compact JSON with sorted
keys, the timestamp as ISO 8601 UTC with microseconds. The first row of a chain
has ``prev_hash`` = :data:`GENESIS`; after a prune the first row is a checkpoint
that carries the hash of the last row it replaced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

GENESIS = "0" * 64
#: The fields the hash covers, in the order they are documented.
HASHED_FIELDS = (
    "id", "ts", "actor", "agent_id", "action", "target",
    "outcome", "request_id", "client_ip", "details",
)


def timestamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: Mapping[str, Any]) -> str:
    """The canonical text of a row: ``row`` holds at least :data:`HASHED_FIELDS`."""
    fields = {name: row[name] for name in HASHED_FIELDS}
    fields["ts"] = timestamp(fields["ts"])
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode("utf-8")).hexdigest()


def normalize_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as plain JSON values, so that what is hashed is what reads back."""
    normalized: dict[str, Any] = json.loads(json.dumps(dict(details), default=str))
    return normalized
