"""Small helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

from a2e.store.queries.agents import IssuedKey


def auth(key: IssuedKey | str) -> dict[str, str]:
    token = key.api_key if isinstance(key, IssuedKey) else key
    return {"Authorization": f"Bearer {token}"}


def verify_sealed(db, secret: str | None = None, **options):
    """What ``a2e audit verify`` does: seal what is pending, then walk the chain."""
    from a2e.audit import Sealer, chain_key, verify
    from tests.conftest import SECRET

    key = chain_key(secret or SECRET)
    Sealer(db, key).seal_pending(wait=True)
    return verify(db, key, **options)
