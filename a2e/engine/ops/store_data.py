"""StoreData: persist a value for the agent; later runs read it at ``/store/<key>``.

``storage`` is ``db`` or the reference's ``localStorage`` (the same per-agent store), or
``sessionStorage``: kept for this run only, readable at ``/store/<key>`` within it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.context import OpContext
from a2e.errors import DataError
from a2e.protocol.catalog import Finding, OpSpec, in_path, req
from a2e.protocol.paths import parse_path

PERSISTED, SESSION = "db", "sessionStorage"
STORES = (PERSISTED, "localStorage", SESSION)


def run(ctx: OpContext, config: Mapping[str, Any]) -> dict[str, str]:
    """``{"stored": key}`` once the value at ``inputPath`` is stored under ``key``.

    ``key`` may hold ``{/path}`` templates (``item-{/loop/index}``).
    """
    key = ctx.render(config["key"])
    if not _readable(key):
        raise DataError(
            f"Key {key!r} cannot be read back at /store/<key>",
            details={"key": key},
            suggestions=["Use letters, digits, '-' and '_' in keys"],
        )
    storage = config["storage"]
    persist = storage != SESSION
    ctx.store(PERSISTED if persist else storage, key, ctx.read(config["inputPath"]), persist=persist)
    return {"stored": key}


def _readable(key: str) -> bool:
    try:
        return len(parse_path(f"/store/{key}")) == 2
    except DataError:
        return False



def _key_readable(config: Mapping[str, Any]) -> list[Finding]:
    key = config.get("key")
    if isinstance(key, str) and not _readable(key):
        return [
            Finding(f"key {key!r} cannot be read back at /store/<key>", "use letters, digits, '-' and '_'")
        ]
    return []


SPEC = OpSpec(
    "StoreData",
    doc="Persist a value for the agent; later runs read it at /store/<key>.",
    fields={"inputPath": in_path(), "storage": req("string", choices=STORES), "key": req("string")},
    run=run,
    rules=(_key_readable,),
    cacheable=False,
    outside_effect=True,  # except for sessionStorage
)
