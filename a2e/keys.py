"""API keys: random, shown once, stored only as a SHA-256 digest.

A key looks like ``a2e_<prefix>_<secret>``: the 12-hex-digit prefix finds the row,
the 256-bit secret makes the key unguessable, and the digest of the whole key is
compared in constant time. A fast hash is right here: the key has full entropy,
so there is nothing for a slow hash to protect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_SCHEME = "a2e"


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    prefix: str
    digest: str


def digest_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def generate_key() -> NewKey:
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(plaintext=plaintext, prefix=prefix, digest=digest_key(plaintext))


def prefix_of(plaintext: str) -> str | None:
    """The lookup prefix of a presented key, or None if it is not shaped like one."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != 12:
        return None
    return parts[1]


def matches(plaintext: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest_key(plaintext), stored_digest)
