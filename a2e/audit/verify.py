"""Walk the chain from its first row and name the first row that does not hold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from a2e.audit import actions
from a2e.audit.chain import GENESIS, HASHED_FIELDS, chain_hash
from a2e.store.models import AuditEvent
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
        return self.broken_id is None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "broken_id": self.broken_id,
                "reason": self.reason}


def row_of(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def check_row(event: AuditEvent, previous: AuditEvent | None) -> str | None:
    """Why ``event`` breaks the chain after ``previous`` (None: it is the first row), or None."""
    if previous is None:
        if event.action == actions.CHECKPOINT:
            return None  # a prune's checkpoint: it carries the hash of the row it replaced
        if event.prev_hash != GENESIS:
            return "the first row does not start the chain: rows before it are missing"
    elif event.action == actions.CHECKPOINT:
        return "a checkpoint row in the middle of the chain"
    elif event.prev_hash != previous.hash:
        return f"prev_hash does not match the hash of row {previous.id}"
    if chain_hash(event.prev_hash, row_of(event)) != event.hash:
        return "the row's contents do not match its hash (edited)"
    return None


def verify(db: Database) -> VerifyReport:
    """Check every row in id order; stops at the first broken one."""
    checked = 0
    previous: AuditEvent | None = None
    with db.session() as session:
        while True:
            after = previous.id if previous is not None else None
            events = [event for event, _ in queries.read_events(session, limit=PAGE, after_id=after)]
            for event in events:
                reason = check_row(event, previous)
                if reason is not None:
                    return VerifyReport(checked=checked, broken_id=event.id, reason=reason)
                checked += 1
                previous = event
            if len(events) < PAGE:
                return VerifyReport(checked=checked)
