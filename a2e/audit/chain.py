"""The keyed chain: the canonical form of a row and how a row's hash is made.

``hash = HMAC-SHA256(key, prev_hash + canonical(row))`` in hex. ``key`` is derived
from the server's secret key (:func:`chain_key`), which the database does not hold,
so rewriting rows and recomputing the hashes needs the secret. ``canonical`` is the
row's fields (``id`` and ``seq`` included, so renumbering shows) as compact JSON with
sorted keys, the timestamp as ISO 8601 UTC with microseconds.

``seq`` is the chain position, given by the sealer (:mod:`a2e.audit.seal`) when it
chains a row; the first row of a chain has ``prev_hash`` = :data:`GENESIS`, and after
a prune the first row is a checkpoint that carries the hash of the last row it replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from a2e.crypto import derive_key

GENESIS = "0" * 64
#: The fields the hash covers.
HASHED_FIELDS = (
    "id", "seq", "ts", "actor", "agent_id", "action", "target",
    "outcome", "request_id", "client_ip", "details",
)


def chain_key(secret_key: str) -> bytes:
    """The HMAC key of the chain, derived from the server secret (HKDF-SHA256)."""
    return derive_key(secret_key, b"audit chain hmac-sha256 v1", 32)


def timestamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: Mapping[str, Any]) -> str:
    """The canonical text of a row: ``row`` holds at least :data:`HASHED_FIELDS`."""
    fields = {name: row[name] for name in HASHED_FIELDS}
    fields["ts"] = timestamp(fields["ts"])
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(key: bytes, prev_hash: str, row: Mapping[str, Any]) -> str:
    message = (prev_hash + canonical(row)).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
