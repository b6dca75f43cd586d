"""Walk the chain in ``seq`` order from its first row and name the first row that does not
hold; check an operator's anchor; make one.

Callers seal pending events first (:class:`a2e.audit.seal.Sealer`), so the walk covers
every event written; an event still unsealed afterwards (say, inserted by hand after
the seal) is reported too, since the chain does not vouch for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from a2e.audit import actions
from a2e.audit.chain import GENESIS, chain_hash, timestamp
from a2e.audit.seal import row_of
from a2e.store.queries import audit as queries
from a2e.store.session import Database

PAGE = 1000


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    broken_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "broken_id": self.broken_id,
                "reason": self.reason}


def check_row(key: bytes, event: Any, previous: Any) -> str | None:
    """Why ``event`` breaks the chain after ``previous`` (None: it is the first row), or None."""
    if previous is None:
        if event.action == actions.CHECKPOINT:
            return None  # a prune's checkpoint: it carries the hash of the row it replaced
        if event.prev_hash != GENESIS or event.seq != 1:
            return "the first row does not start the chain: rows before it are missing"
    elif event.action == actions.CHECKPOINT:
        return "a checkpoint row in the middle of the chain"
    elif event.seq != previous.seq + 1:
        return f"rows between seq {previous.seq} and {event.seq} are missing"
    elif event.prev_hash != previous.hash:
        return f"prev_hash does not match the hash of row {previous.id}"
    if chain_hash(key, event.prev_hash, row_of(event)) != event.hash:
        return ("the row's contents do not match its hash (edited, or sealed with "
                "another secret key)")
    return None


def verify(db: Database, key: bytes, *, anchor: Mapping[str, Any] | None = None) -> VerifyReport:
    """Check every sealed row in chain order (stops at the first broken one), then that no
    row is left unsealed and, given an ``anchor`` (:func:`anchor_of`), that its event is
    still there, unchanged, and in the chain."""
    checked = 0
    previous: Any = None
    anchor_seen = False
    with db.connection() as conn:
        while True:
            after = previous.seq if previous is not None else None
            events = queries.read_chain(conn, limit=PAGE, after_seq=after)
            for event in events:
                reason = check_row(key, event, previous)
                if reason is not None:
                    return VerifyReport(checked=checked, broken_id=event.id, reason=reason)
                if anchor is not None and event.id == anchor["id"]:
                    if event.hash != anchor["hash"] or timestamp(event.ts) != anchor["ts"]:
                        return VerifyReport(checked=checked, broken_id=event.id,
                                            reason="the anchored event was changed")
                    anchor_seen = True
                checked += 1
                previous = event
            if len(events) < PAGE:
                break
        unsealed = queries.read_pending(conn, 1)
    if unsealed:
        return VerifyReport(checked=checked, broken_id=unsealed[0].id,
                            reason="an event is not sealed into the chain")
    if anchor is not None and not anchor_seen:
        return VerifyReport(checked=checked, broken_id=int(anchor["id"]),
                            reason="the anchored event is gone (rows were cut from the chain)")
    return VerifyReport(checked=checked)


def anchor_of(db: Database) -> dict[str, Any] | None:
    """The chain head as ``{"id", "hash", "ts"}`` (None for an empty chain)."""
    with db.connection() as conn:
        head = queries.read_head(conn)
    if head is None:
        return None
    return {"id": head.id, "hash": head.hash, "ts": timestamp(head.ts)}
