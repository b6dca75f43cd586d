"""Small helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

from a2e.store.queries.agents import IssuedKey


def auth(key: IssuedKey | str) -> dict[str, str]:
    token = key.api_key if isinstance(key, IssuedKey) else key
    return {"Authorization": f"Bearer {token}"}
